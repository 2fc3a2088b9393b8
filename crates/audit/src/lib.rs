//! Coffer's audit trail: one record per request in AWS CloudTrail's event format, written as JSON
//! lines, hash-chained and signed with a key derived from the master key, durable before the
//! request is answered (group commit; or written before, synced behind: [`Flush`]), rotated by
//! size; and the readers behind
//! `coffer admin verify-audit` and `coffer admin audit`.
//!
//! The server builds the [`Event`] (it alone knows HTTP); this crate knows nothing of HTTP.

pub mod elements;
mod error;
pub mod event;
pub mod files;
pub mod integrity;
pub mod lookup;
mod trail;
pub mod verify;

pub use elements::cloudtrail_elements;
pub use error::AuditError;
pub use event::{
    Event, EventCategory, EventType, IdentityType, SessionAttributes, SessionContext,
    SessionIssuer, TlsDetails, UserIdentity,
};
pub use integrity::{SigningKey, AUDIT_KEY_INFO};
pub use trail::{Destination, Flush, Trail, TrailConfig, DEFAULT_SYNC_INTERVAL};
