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
pub mod metrics;
pub mod ops;
mod plain_http;
pub mod rate_limit;
pub mod served;
pub mod tls;

pub use app::{App, AppConfig, Clock, PreparedCall, PreparedOutput, ServiceHandler, SystemClock};
pub use audit::{AuditSettings, TlsParameters};
pub use authorize::{AccessRequest, Authorizer, Denial, DenialReason, PolicyClass, RoleTrust};
pub use directory::{Directory, KeyEntry, MemoryDirectory, SessionBinding};
pub use listener::{reload_signal, serve, shutdown_signal, ListenerLimits};
pub use metrics::Metrics;
pub use ops::{Ops, Readiness, Storage};
pub use rate_limit::RateLimits;
