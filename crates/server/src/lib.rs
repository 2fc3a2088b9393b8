//! Coffer's HTTP front end: TLS listener, protocol classification, authentication, dispatch to the
//! services, and AWS-format responses. The only crate that touches HTTP.

pub mod app;
pub mod audit;
mod authenticate;
pub mod authorize;
mod body_budget;
pub mod classify;
mod connections;
pub mod directory;
pub mod listener;
pub mod rate_limit;
pub mod tls;

pub use app::{App, AppConfig, Clock, ServiceHandler, SystemClock};
pub use audit::{AuditSettings, TlsParameters};
pub use authorize::{AccessRequest, Authorizer, Denial, RoleTrust};
pub use directory::{Directory, KeyEntry, MemoryDirectory, SessionBinding};
pub use listener::{serve, shutdown_signal, ListenerLimits};
pub use rate_limit::RateLimits;
