//! Envelope encryption of sealed values.
//!
//! Layout of a sealed blob: `format(1) | master key id(8) | wrap nonce(12) | wrapped data key(32+16)
//! | data nonce(12) | ciphertext+tag`. Every seal draws a fresh data key. Both AEAD operations take
//! associated data naming the record (table, key), so a ciphertext copied to another record fails
//! authentication; rotation only re-wraps the data key and leaves the value ciphertext untouched.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::StoreError;
use crate::master_key::MasterKey;
use crate::secret::SecretBytes;

const FORMAT: u8 = 1;
const ID: usize = 8;
const NONCE: usize = 12;
const WRAPPED: usize = 32 + 16;
const HEADER: usize = 1 + ID + NONCE + WRAPPED + NONCE;

fn record_aad(purpose: &[u8], table: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + table.len() + key.len());
    aad.extend_from_slice(b"coffer/v1/");
    aad.extend_from_slice(purpose);
    aad.push(0);
    aad.extend_from_slice(&(table.len() as u32).to_be_bytes());
    aad.extend_from_slice(table.as_bytes());
    aad.extend_from_slice(key.as_bytes());
    aad
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

fn random_nonce() -> [u8; NONCE] {
    let mut n = [0u8; NONCE];
    OsRng.fill_bytes(&mut n);
    n
}

fn decrypt_error(table: &str, key: &str) -> StoreError {
    StoreError::Decrypt {
        table: table.to_string(),
        key: key.to_string(),
    }
}

fn wrap_data_key(
    master: &MasterKey,
    table: &str,
    key: &str,
    dek: &[u8; 32],
    nonce: [u8; NONCE],
) -> Result<([u8; NONCE], Vec<u8>), StoreError> {
    let aad = record_aad(b"data-key", table, key);
    let wrapped = cipher(master.bytes())
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: dek,
                aad: &aad,
            },
        )
        .map_err(|_| StoreError::Backend("data key wrapping failed".to_string()))?;
    Ok((nonce, wrapped))
}

fn unwrap_data_key(
    master: &MasterKey,
    table: &str,
    key: &str,
    blob: &[u8],
) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let nonce = &blob[1 + ID..1 + ID + NONCE];
    let wrapped = &blob[1 + ID + NONCE..1 + ID + NONCE + WRAPPED];
    let aad = record_aad(b"data-key", table, key);
    let dek = Zeroizing::new(
        cipher(master.bytes())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: wrapped,
                    aad: &aad,
                },
            )
            .map_err(|_| decrypt_error(table, key))?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if dek.len() != 32 {
        return Err(decrypt_error(table, key));
    }
    out.copy_from_slice(&dek);
    Ok(out)
}

/// Seals `plaintext` for record (table, key) under `master`.
pub(crate) fn seal(
    master: &MasterKey,
    table: &str,
    key: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, StoreError> {
    // The data key and both nonces from one draw: one system call per seal instead of three.
    let mut fresh = Zeroizing::new([0u8; 32 + 2 * NONCE]);
    OsRng.fill_bytes(fresh.as_mut());
    let mut dek = Zeroizing::new([0u8; 32]);
    dek.copy_from_slice(&fresh[..32]);
    let mut wrap_nonce = [0u8; NONCE];
    wrap_nonce.copy_from_slice(&fresh[32..32 + NONCE]);
    let mut data_nonce = [0u8; NONCE];
    data_nonce.copy_from_slice(&fresh[32 + NONCE..]);
    let (wrap_nonce, wrapped) = wrap_data_key(master, table, key, &dek, wrap_nonce)?;
    let aad = record_aad(b"value", table, key);
    let ct = cipher(&dek)
        .encrypt(
            Nonce::from_slice(&data_nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| StoreError::Backend("sealing failed".to_string()))?;
    let mut out = Vec::with_capacity(HEADER + ct.len());
    out.push(FORMAT);
    out.extend_from_slice(&master.id());
    out.extend_from_slice(&wrap_nonce);
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&data_nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The id of the master key that wrapped this blob's data key.
pub(crate) fn key_id(blob: &[u8]) -> Option<[u8; ID]> {
    if blob.len() < HEADER + 16 || blob[0] != FORMAT {
        return None;
    }
    let mut id = [0u8; ID];
    id.copy_from_slice(&blob[1..1 + ID]);
    Some(id)
}

/// Opens a blob sealed for record (table, key); `master` must be the key named by `key_id(blob)`.
pub(crate) fn open(
    master: &MasterKey,
    table: &str,
    key: &str,
    blob: &[u8],
) -> Result<SecretBytes, StoreError> {
    if key_id(blob).is_none() {
        return Err(decrypt_error(table, key));
    }
    let dek = unwrap_data_key(master, table, key, blob)?;
    let data_nonce = &blob[HEADER - NONCE..HEADER];
    let aad = record_aad(b"value", table, key);
    let plain = cipher(&dek)
        .decrypt(
            Nonce::from_slice(data_nonce),
            Payload {
                msg: &blob[HEADER..],
                aad: &aad,
            },
        )
        .map_err(|_| decrypt_error(table, key))?;
    Ok(SecretBytes::new(plain))
}

/// Re-wraps the data key of a blob from `old` to `new` without touching the value ciphertext.
pub(crate) fn rewrap(
    old: &MasterKey,
    new: &MasterKey,
    table: &str,
    key: &str,
    blob: &[u8],
) -> Result<Vec<u8>, StoreError> {
    if key_id(blob).is_none() {
        return Err(decrypt_error(table, key));
    }
    let dek = unwrap_data_key(old, table, key, blob)?;
    let (wrap_nonce, wrapped) = wrap_data_key(new, table, key, &dek, random_nonce())?;
    let mut out = Vec::with_capacity(blob.len());
    out.push(FORMAT);
    out.extend_from_slice(&new.id());
    out.extend_from_slice(&wrap_nonce);
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&blob[HEADER - NONCE..]);
    Ok(out)
}

/// Wraps one master key under another (used while a rotation is in progress).
pub(crate) fn wrap_master(
    wrapping: &MasterKey,
    wrapped: &MasterKey,
) -> Result<Vec<u8>, StoreError> {
    let nonce = random_nonce();
    let ct = cipher(wrapping.bytes())
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: wrapped.bytes(),
                aad: b"coffer/v1/master-key",
            },
        )
        .map_err(|_| StoreError::Backend("master key wrapping failed".to_string()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

pub(crate) fn unwrap_master(wrapping: &MasterKey, blob: &[u8]) -> Option<MasterKey> {
    if blob.len() != NONCE + WRAPPED {
        return None;
    }
    let plain = Zeroizing::new(
        cipher(wrapping.bytes())
            .decrypt(
                Nonce::from_slice(&blob[..NONCE]),
                Payload {
                    msg: &blob[NONCE..],
                    aad: b"coffer/v1/master-key",
                },
            )
            .ok()?,
    );
    let bytes: [u8; 32] = plain.as_slice().try_into().ok()?;
    Some(MasterKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let mk = MasterKey::generate();
        let blob = seal(&mk, "t", "a", b"hunter2").unwrap();
        assert_eq!(open(&mk, "t", "a", &blob).unwrap().expose(), b"hunter2");
        assert!(open(&mk, "t", "b", &blob).is_err());
        assert!(open(&mk, "u", "a", &blob).is_err());
        assert!(open(&MasterKey::generate(), "t", "a", &blob).is_err());
        let mut flipped = blob.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(open(&mk, "t", "a", &flipped).is_err());
    }

    #[test]
    fn rewrap_changes_key_not_value() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let blob = seal(&old, "t", "a", b"v").unwrap();
        let re = rewrap(&old, &new, "t", "a", &blob).unwrap();
        assert_eq!(key_id(&re), Some(new.id()));
        assert_eq!(open(&new, "t", "a", &re).unwrap().expose(), b"v");
        assert!(open(&old, "t", "a", &re).is_err());
        assert_eq!(re[HEADER..], blob[HEADER..]);
    }

    #[test]
    fn master_wrap() {
        let a = MasterKey::generate();
        let b = MasterKey::generate();
        let w = wrap_master(&a, &b).unwrap();
        assert_eq!(unwrap_master(&a, &w).unwrap().bytes(), b.bytes());
        assert!(unwrap_master(&b, &w).is_none());
    }
}
