//! Tamper evidence. Every record ends with Coffer's `cofferIntegrity` member:
//!
//! ```text
//! {…CloudTrail event…,"cofferIntegrity":{"sequence":7,"keyId":"<16 hex>","previousHash":"<64 hex>","signature":"<64 hex>"}}
//! ```
//!
//! - `sequence` counts records from 1 for the life of the trail, across rotated files;
//! - `previousHash` is the hash of the record before (64 zeros before the first);
//! - a record's hash is SHA-256 of its line without the `,"signature":"…"` member (and without the
//!   newline), so it covers the event, the sequence, the key id and the link to the record before;
//! - `signature` is HMAC-SHA256 of that hash under the trail's signing key, a key derived from the
//!   master key (HKDF, its own label) that only the server and `coffer admin verify-audit` hold.
//!
//! So whoever can write the file but does not hold the master key cannot change a record (its
//! signature fails), remove one (the next one's link and sequence break) or reorder them, and
//! every record is itself a signed chain head. Removing records from the end of the trail leaves
//! no trace in the trail itself (SECURITY.md).
//!
//! The layout is fixed byte for byte, so a record is checked on the exact bytes written, never on
//! a re-serialization.

use std::fmt;
use std::io::Write;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// HKDF `info` of the audit signing key, derived from the master key.
pub const AUDIT_KEY_INFO: &[u8] = b"coffer audit trail signing key v1";

pub type Hash = [u8; 32];

/// The `previousHash` of a trail's first record.
pub const GENESIS: Hash = [0u8; 32];

const INTEGRITY_PREFIX: &[u8] = br#","cofferIntegrity":{"sequence":"#;
const SIGNATURE_PREFIX: &[u8] = br#","signature":""#;
/// `,"signature":"` + 64 hex digits + `"}}`.
const SIGNATURE_SUFFIX_LEN: usize = SIGNATURE_PREFIX.len() + 64 + 3;

/// The key records are signed with. Debug is redacted; the bytes are zeroized on drop.
#[derive(Clone)]
pub struct SigningKey {
    key: Zeroizing<[u8; 32]>,
    id: [u8; 8],
}

impl SigningKey {
    /// From the 32 bytes derived from the master key with [`AUDIT_KEY_INFO`].
    pub fn from_derived(key: Zeroizing<[u8; 32]>) -> Self {
        let mut mac = mac(&key);
        mac.update(b"coffer audit key id");
        let digest = mac.finalize().into_bytes();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        SigningKey { key, id }
    }

    /// Identifies the key in each record (a MAC of a constant: it reveals nothing of the key), so
    /// a verifier can tell "signed with another key" from "altered".
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    fn sign(&self, hash: &Hash) -> [u8; 32] {
        let mut mac = mac(&self.key);
        mac.update(hash);
        mac.finalize().into_bytes().into()
    }

    /// Whether `signature` is this key's signature of `hash`, in constant time.
    pub fn verifies(&self, hash: &Hash, signature: &[u8; 32]) -> bool {
        self.sign(hash).ct_eq(signature).into()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(id {}, <redacted>)", self.id_hex())
    }
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    // Any key length is valid for HMAC; 32 bytes cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// The end of the chain: the last record's sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub sequence: u64,
    pub hash: Hash,
}

impl ChainHead {
    pub const START: ChainHead = ChainHead {
        sequence: 0,
        hash: GENESIS,
    };
}

/// Appends `event` (one serialized JSON object) to `out` as the record after `head`, with its
/// newline, and returns the new head.
pub fn append_record(
    out: &mut Vec<u8>,
    event: &[u8],
    head: &ChainHead,
    key: &SigningKey,
) -> ChainHead {
    // An event always has members (`{"eventVersion":…}`), so ours follows a comma.
    debug_assert!(event.len() > 2 && event.starts_with(b"{") && event.ends_with(b"}"));
    let start = out.len();
    let sequence = head.sequence + 1;
    out.extend_from_slice(&event[..event.len() - 1]);
    out.extend_from_slice(INTEGRITY_PREFIX);
    let _ = write!(
        out,
        r#"{sequence},"keyId":"{}","previousHash":"{}""#,
        key.id_hex(),
        hex::encode(head.hash)
    );
    let mut hasher = Sha256::new();
    hasher.update(&out[start..]);
    hasher.update(b"}}");
    let hash: Hash = hasher.finalize().into();
    out.extend_from_slice(SIGNATURE_PREFIX);
    out.extend_from_slice(hex::encode(key.sign(&hash)).as_bytes());
    out.extend_from_slice(b"\"}}\n");
    ChainHead { sequence, hash }
}

/// A record's integrity member, read from its line, with the hash of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    pub sequence: u64,
    pub key_id: String,
    pub previous_hash: Hash,
    pub signature: [u8; 32],
    pub hash: Hash,
    /// Bytes of the line that hold the CloudTrail event (without the integrity member).
    pub event_len: usize,
}

impl SealedRecord {
    /// Reads the integrity member at the end of `line` (without its newline). The layout must be
    /// exactly the one [`append_record`] writes.
    pub fn parse(line: &[u8]) -> Result<SealedRecord, &'static str> {
        const NOT_SEALED: &str = "the line does not end with a cofferIntegrity member";
        if line.len() < SIGNATURE_SUFFIX_LEN + INTEGRITY_PREFIX.len() || !line.starts_with(b"{") {
            return Err(NOT_SEALED);
        }
        let (unsigned, suffix) = line.split_at(line.len() - SIGNATURE_SUFFIX_LEN);
        let signature = suffix
            .strip_prefix(SIGNATURE_PREFIX)
            .and_then(|rest| rest.strip_suffix(b"\"}}"))
            .and_then(hex32)
            .ok_or(NOT_SEALED)?;
        // The integrity member is the last one; the event cannot contain its opening bytes
        // unescaped except as its own member names, and the last occurrence is ours.
        let at = rfind(unsigned, INTEGRITY_PREFIX).ok_or(NOT_SEALED)?;
        let fields = &unsigned[at + INTEGRITY_PREFIX.len()..];
        let digits = fields.iter().take_while(|b| b.is_ascii_digit()).count();
        let sequence: u64 = std::str::from_utf8(&fields[..digits])
            .ok()
            .filter(|d| !d.is_empty() && (d.len() == 1 || !d.starts_with('0')))
            .and_then(|d| d.parse().ok())
            .ok_or("the record's sequence is not a number")?;
        let rest = fields[digits..]
            .strip_prefix(br#","keyId":""#)
            .ok_or(NOT_SEALED)?;
        let key_len = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let key_id = String::from_utf8_lossy(&rest[..key_len]).into_owned();
        let previous_hash = rest[key_len..]
            .strip_prefix(br#"","previousHash":""#)
            .and_then(|r| r.strip_suffix(b"\""))
            .and_then(hex32)
            .ok_or(NOT_SEALED)?;
        if key_len != 16 {
            return Err(NOT_SEALED);
        }
        let mut hasher = Sha256::new();
        hasher.update(unsigned);
        hasher.update(b"}}");
        Ok(SealedRecord {
            sequence,
            key_id,
            previous_hash,
            signature,
            hash: hasher.finalize().into(),
            event_len: at,
        })
    }

    /// The CloudTrail event alone, as a JSON object (the line up to the integrity member).
    pub fn event_json(&self, line: &[u8]) -> Vec<u8> {
        let mut event = line[..self.event_len].to_vec();
        event.push(b'}');
        event
    }
}

fn hex32(text: &[u8]) -> Option<[u8; 32]> {
    // Lowercase only, as written: another spelling of the same bytes is not the same line.
    if text.len() != 64 || !text.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn key(byte: u8) -> SigningKey {
        SigningKey::from_derived(Zeroizing::new([byte; 32]))
    }

    fn line(out: &[u8]) -> &[u8] {
        out.strip_suffix(b"\n").expect("newline")
    }

    #[test]
    fn a_record_reads_back_with_its_chain_fields() {
        let key = key(7);
        let mut out = Vec::new();
        let head = append_record(
            &mut out,
            br#"{"eventName":"GetSecretValue"}"#,
            &ChainHead::START,
            &key,
        );
        assert_eq!(head.sequence, 1);
        let text = String::from_utf8(out.clone()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["eventName"], "GetSecretValue");
        assert_eq!(value["cofferIntegrity"]["sequence"], 1);
        assert_eq!(value["cofferIntegrity"]["keyId"], key.id_hex());
        assert_eq!(value["cofferIntegrity"]["previousHash"], "0".repeat(64));

        let sealed = SealedRecord::parse(line(&out)).unwrap();
        assert_eq!(sealed.sequence, 1);
        assert_eq!(sealed.hash, head.hash);
        assert_eq!(sealed.previous_hash, GENESIS);
        assert!(key.verifies(&sealed.hash, &sealed.signature));
        assert!(!self::key(8).verifies(&sealed.hash, &sealed.signature));
        assert_eq!(
            sealed.event_json(line(&out)),
            br#"{"eventName":"GetSecretValue"}"#.to_vec()
        );

        let mut next = Vec::new();
        let second = append_record(&mut next, br#"{"a":1}"#, &head, &key);
        let sealed = SealedRecord::parse(line(&next)).unwrap();
        assert_eq!((sealed.sequence, sealed.previous_hash), (2, head.hash));
        assert_eq!(second.hash, sealed.hash);
    }

    #[test]
    fn any_changed_byte_changes_the_hash_or_breaks_the_layout() {
        let key = key(1);
        let mut out = Vec::new();
        append_record(
            &mut out,
            br#"{"eventName":"X","userAgent":"ua"}"#,
            &ChainHead::START,
            &key,
        );
        assert!(SealedRecord::parse(line(&out)).is_ok());
        let body = line(&out).to_vec();
        for i in 0..body.len() {
            let mut edited = body.clone();
            edited[i] ^= 0x01;
            if let Ok(sealed) = SealedRecord::parse(&edited) {
                assert!(
                    !key.verifies(&sealed.hash, &sealed.signature),
                    "byte {i} edited without breaking the signature"
                );
            }
        }
    }

    #[test]
    fn lines_that_are_not_records_are_refused() {
        for line in [
            &b""[..],
            b"{}",
            b"not json",
            br#"{"eventName":"X"}"#,
            br#"{"cofferIntegrity":{"sequence":01,"keyId":"0000000000000000","previousHash":"0000000000000000000000000000000000000000000000000000000000000000","signature":"0000000000000000000000000000000000000000000000000000000000000000"}}"#,
        ] {
            assert!(SealedRecord::parse(line).is_err(), "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let shown = format!("{:?}", key(0xab));
        assert!(!shown.contains("abab") && shown.contains("redacted"));
    }
}
