//! Encoded authorization failure messages (`serve --explain-denials`): the sealed form of a
//! denial's explanation that `DecodeAuthorizationMessage` opens.
//!
//! The explanation names policies and the request's context, which the denied caller should not
//! necessarily see, so it travels encrypted and authenticated: AES-256-GCM under a key derived
//! from the master key, with the caller's account as associated data. A message altered in any
//! way, or presented by a principal of another account, does not open; both get AWS's
//! `InvalidAuthorizationMessageException`, so a caller cannot even learn that a message is valid
//! elsewhere.
//!
//! Layout before base64url (no padding): `format(1) | nonce(12) | ciphertext+tag`, the plaintext
//! being the explanation's JSON. It is not compressed: the explanation mixes values the caller
//! chooses (a secret id, tags) with policy text it may not see, and the length of a compressed
//! message would tell the caller how much of its guess matched that text.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use coffer_store::Store;
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

/// What `DecodeAuthorizationMessage` accepts (`EncodedMessage`, 1 to 10240 characters): an
/// encoded message must fit, or it could never be decoded.
pub const MAX_ENCODED_LEN: usize = 10240;

/// HKDF `info` of the key; a new layout takes a new name.
const KEY_INFO: &[u8] = b"coffer authorization failure message key v1";
const FORMAT: u8 = 1;
const NONCE: usize = 12;
const TAG: usize = 16;

/// The key that seals and opens messages, derived from the store's current master key (a master
/// key rotation retires the messages issued before it, which only explain past denials).
pub struct MessageKey(Zeroizing<[u8; 32]>);

impl MessageKey {
    pub fn from_store(store: &Store) -> Self {
        MessageKey(store.derive_subkey(KEY_INFO))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MessageKey(Zeroizing::new(bytes))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_ref()))
    }

    /// Seals `explanation` (JSON) for principals of `account`.
    pub fn seal(&self, account: &str, explanation: &str) -> String {
        let mut nonce = [0u8; NONCE];
        OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(account);
        let ciphertext = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: explanation.as_bytes(),
                    aad: &aad,
                },
            )
            // AES-GCM fails only on inputs beyond 64 GiB.
            .unwrap_or_else(|_| unreachable!("a message of a few KiB always encrypts"));
        let mut blob = Vec::with_capacity(1 + NONCE + ciphertext.len());
        blob.push(FORMAT);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        URL_SAFE_NO_PAD.encode(blob)
    }

    /// The explanation sealed in `encoded` for `account`; `None` for anything else: not a
    /// message, altered, sealed under another key or for another account.
    pub fn open(&self, account: &str, encoded: &str) -> Option<String> {
        let blob = URL_SAFE_NO_PAD.decode(encoded.trim()).ok()?;
        if blob.len() < 1 + NONCE + TAG || blob[0] != FORMAT {
            return None;
        }
        let (nonce, ciphertext) = blob[1..].split_at(NONCE);
        let aad = associated_data(account);
        let plaintext = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()?;
        String::from_utf8(plaintext).ok()
    }
}

fn associated_data(account: &str) -> Vec<u8> {
    let mut aad = b"coffer/authorization-message/v1/account/".to_vec();
    aad.extend_from_slice(account.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPLANATION: &str = r#"{"allowed":false,"explicitDeny":true}"#;

    fn key() -> MessageKey {
        MessageKey::from_bytes([7; 32])
    }

    #[test]
    fn a_sealed_message_opens_for_its_account_only() {
        let sealed = key().seal("111122223333", EXPLANATION);
        assert_eq!(
            key().open("111122223333", &sealed).as_deref(),
            Some(EXPLANATION)
        );
        assert_eq!(key().open("444455556666", &sealed), None);
        assert_eq!(
            MessageKey::from_bytes([8; 32]).open("111122223333", &sealed),
            None
        );
        // Fresh nonces: the same explanation never seals to the same text.
        assert_ne!(sealed, key().seal("111122223333", EXPLANATION));
        // Opaque: nothing of the explanation shows through.
        assert!(!sealed.contains("allowed"));
        assert!(sealed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn any_alteration_is_refused() {
        let sealed = key().seal("111122223333", EXPLANATION);
        let bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let altered = URL_SAFE_NO_PAD.encode(altered);
            assert_eq!(key().open("111122223333", &altered), None, "byte {i}");
        }
        let truncated = URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]);
        assert_eq!(key().open("111122223333", &truncated), None);
        for garbage in ["", "x", "not base64!", "AAAA", &"A".repeat(MAX_ENCODED_LEN)] {
            assert_eq!(key().open("111122223333", garbage), None, "{garbage:?}");
        }
    }
}
