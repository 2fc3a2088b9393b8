//! The secret half of an access key: zeroized on drop, never printed, compared in constant time.

use std::sync::Mutex;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::request::CredentialScope;
use crate::signing_key::{derive, SigningKey};

pub struct SecretAccessKey {
    secret: Zeroizing<String>,
    /// The last SigV4 signing key derived from this secret, with its scope: a client signs with the
    /// same date, region and service all day, and derivation costs four HMACs per request.
    last_derived: Mutex<Option<(CredentialScope, SigningKey)>>,
}

impl SecretAccessKey {
    pub fn new(s: impl Into<String>) -> Self {
        SecretAccessKey {
            secret: Zeroizing::new(s.into()),
            last_derived: Mutex::new(None),
        }
    }

    /// The key material; only for deriving signing keys or storing it encrypted.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// The SigV4 signing key for `scope` (a pure function of secret and scope, so memoizing it
    /// changes no outcome).
    pub(crate) fn signing_key(&self, scope: &CredentialScope) -> SigningKey {
        let mut last = self.last_derived.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((memo_scope, key)) = last.as_ref() {
            if memo_scope == scope {
                return key.clone();
            }
        }
        let key = derive(self, scope);
        *last = Some((scope.clone(), key.clone()));
        key
    }
}

impl Clone for SecretAccessKey {
    fn clone(&self) -> Self {
        SecretAccessKey::new(self.expose())
    }
}

impl std::fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretAccessKey(<redacted>)")
    }
}

impl PartialEq for SecretAccessKey {
    fn eq(&self, other: &Self) -> bool {
        self.secret.as_bytes().ct_eq(other.secret.as_bytes()).into()
    }
}

impl Eq for SecretAccessKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretAccessKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let shown = format!("{s:?}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert_eq!(s.expose(), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    }

    #[test]
    fn memoized_signing_key_follows_the_scope() {
        let s = SecretAccessKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let scope = |date: &str, service: &str| CredentialScope {
            date: date.into(),
            region: "us-east-1".into(),
            service: service.into(),
            terminator: "aws4_request".into(),
        };
        for (date, service) in [
            ("20240115", "iam"),
            ("20240115", "sts"),
            ("20240116", "iam"),
        ] {
            let want = derive(&s, &scope(date, service));
            assert_eq!(*s.signing_key(&scope(date, service)), *want);
            assert_eq!(*s.signing_key(&scope(date, service)), *want);
        }
    }

    #[test]
    fn equality() {
        assert_eq!(SecretAccessKey::new("a"), SecretAccessKey::new("a"));
        assert_ne!(SecretAccessKey::new("a"), SecretAccessKey::new("b"));
        assert_ne!(SecretAccessKey::new("a"), SecretAccessKey::new("ab"));
    }
}
