//! Identifiers and credentials in AWS's formats, drawn from a cryptographically secure generator.

use rand::Rng;

/// After their 4-letter prefix, AWS's unique ids (`AIDA…`) and access key ids (`AKIA…`) are
/// RFC 4648 base32: upper-case letters and the digits 2-7, never 0, 1, 8 or 9 (which some
/// client-side validators check, e.g. `^AKIA[A-Z2-7]{16}$`).
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Secret access keys are 40 characters of the Base64 alphabet.
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub const USER_PREFIX: &str = "AIDA";
pub const GROUP_PREFIX: &str = "AGPA";
pub const POLICY_PREFIX: &str = "ANPA";
pub const ROLE_PREFIX: &str = "AROA";
pub const INSTANCE_PROFILE_PREFIX: &str = "AIPA";
pub const ACCESS_KEY_PREFIX: &str = "AKIA";

const UNIQUE_ID_LEN: usize = 21;
const ACCESS_KEY_ID_LEN: usize = 20;
const SECRET_LEN: usize = 40;

/// `prefix` followed by characters of `alphabet` up to `len` characters: the one source of random
/// identifiers, secrets and tokens of the services. `ThreadRng` is a CSPRNG (ChaCha) seeded and
/// periodically reseeded from the operating system, so a 356-character session token costs no
/// system call per character (drawing each from `OsRng` spent a third of `AssumeRole` in
/// `getrandom`).
///
/// Characters come from random bytes drawn in blocks, each byte mapped to `alphabet[b % n]` and
/// rejected when `b` falls in the incomplete last round of the alphabet (so every character is
/// uniform); for the 32- and 64-character alphabets nothing is rejected.
pub fn random_string(prefix: &str, len: usize, alphabet: &[u8]) -> String {
    assert!(
        !alphabet.is_empty() && alphabet.len() <= 256,
        "random_string: alphabet of 1..=256 characters"
    );
    let n = alphabet.len();
    // Bytes below `limit` map uniformly onto the alphabet.
    let limit = 256 - 256 % n;
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(len.max(prefix.len()));
    s.push_str(prefix);
    let mut block = [0u8; 64];
    while s.len() < len {
        rng.fill(&mut block[..]);
        for &b in &block {
            if s.len() == len {
                break;
            }
            if usize::from(b) < limit {
                s.push(char::from(alphabet[usize::from(b) % n]));
            }
        }
    }
    s
}

/// `AIDA` + 17 characters: the stable id of a user, group (`AGPA`), policy (`ANPA`) or role (`AROA`).
pub fn unique_id(prefix: &str) -> String {
    random_string(prefix, UNIQUE_ID_LEN, BASE32)
}

/// `APKA` + 16 characters, as IAM names SSH public keys.
pub fn ssh_public_key_id() -> String {
    random_string("APKA", ACCESS_KEY_ID_LEN, BASE32)
}

pub fn access_key_id() -> String {
    random_string(ACCESS_KEY_PREFIX, ACCESS_KEY_ID_LEN, BASE32)
}

pub fn secret_access_key() -> String {
    random_string("", SECRET_LEN, SECRET_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_is_uniform_over_the_alphabet() {
        // 3 characters: 256 % 3 = 1, so byte 255 must be rejected rather than favour 'a'.
        let drawn = random_string("", 60_000, b"abc");
        for c in ['a', 'b', 'c'] {
            let count = drawn.chars().filter(|&x| x == c).count();
            // Expected 20,000, standard deviation ~115: 12 of them either side.
            assert!((18_600..=21_400).contains(&count), "{c}: {count}");
        }
        let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let drawn = random_string("P-", 20_000, alnum);
        assert_eq!(drawn.len(), 20_000);
        assert!(drawn.starts_with("P-"));
        assert!(alnum.iter().all(|&b| drawn[2..].contains(char::from(b))));
        assert_eq!(random_string("ABCD", 2, alnum), "ABCD");
    }

    #[test]
    fn formats_match_aws() {
        let base32 = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        };
        for prefix in [
            USER_PREFIX,
            GROUP_PREFIX,
            POLICY_PREFIX,
            ROLE_PREFIX,
            INSTANCE_PROFILE_PREFIX,
        ] {
            for _ in 0..200 {
                let id = unique_id(prefix);
                assert_eq!(id.len(), 21);
                assert!(id.starts_with(prefix) && base32(&id[4..]), "{id}");
            }
        }
        for _ in 0..200 {
            let key = access_key_id();
            assert_eq!(key.len(), 20);
            assert!(key.starts_with("AKIA") && base32(&key[4..]), "{key}");
            let ssh = ssh_public_key_id();
            assert!(ssh.starts_with("APKA") && base32(&ssh[4..]), "{ssh}");
        }
        let secret = secret_access_key();
        assert_eq!(secret.len(), 40);
        assert!(secret.bytes().all(|b| SECRET_CHARS.contains(&b)));
        assert_ne!(secret, secret_access_key());
    }
}
