//! Coffer's HTTP front end: TLS listener, protocol classification, authentication, dispatch to the
//! services, and AWS-format responses. The only crate that touches HTTP.

pub mod app;
mod authenticate;
pub mod authorize;
pub mod classify;
pub mod directory;
pub mod listener;
pub mod tls;

pub use app::{App, AppConfig, Clock, ServiceHandler, SystemClock};
pub use authorize::{AccessRequest, Authorizer, Denial, RoleTrust};
pub use directory::{Directory, KeyEntry, MemoryDirectory, SessionBinding};
pub use listener::{serve, shutdown_signal, ListenerLimits};
