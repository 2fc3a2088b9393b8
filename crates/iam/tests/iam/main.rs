//! The IAM service called directly over an in-memory store.

mod access_keys;
mod access_reports;
mod account;
mod groups;
mod mfa;
mod oidc;
mod policies;
mod roles;
mod saml;
mod support;
mod users;
