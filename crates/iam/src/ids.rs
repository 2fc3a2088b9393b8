//! Identifiers and credentials in AWS's formats, drawn from the operating system's generator.

use rand::rngs::OsRng;
use rand::Rng;

/// Unique ids (`AIDA…`) and access key ids (`AKIA…`) use upper-case letters and digits.
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
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

fn random_string(prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut rng = OsRng;
    let mut s = String::with_capacity(len);
    s.push_str(prefix);
    while s.len() < len {
        s.push(char::from(alphabet[rng.gen_range(0..alphabet.len())]));
    }
    s
}

/// `AIDA` + 17 characters: the stable id of a user, group (`AGPA`), policy (`ANPA`) or role (`AROA`).
pub fn unique_id(prefix: &str) -> String {
    random_string(prefix, UNIQUE_ID_LEN, UPPER_ALNUM)
}

/// `APKA` + 16 characters, as IAM names SSH public keys.
pub fn ssh_public_key_id() -> String {
    random_string("APKA", ACCESS_KEY_ID_LEN, UPPER_ALNUM)
}

pub fn access_key_id() -> String {
    random_string(ACCESS_KEY_PREFIX, ACCESS_KEY_ID_LEN, UPPER_ALNUM)
}

pub fn secret_access_key() -> String {
    random_string("", SECRET_LEN, SECRET_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_aws() {
        let id = unique_id(USER_PREFIX);
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
        assert!(id.bytes().all(|b| UPPER_ALNUM.contains(&b)));
        let key = access_key_id();
        assert_eq!(key.len(), 20);
        assert!(key.starts_with("AKIA"));
        let secret = secret_access_key();
        assert_eq!(secret.len(), 40);
        assert!(secret.bytes().all(|b| SECRET_CHARS.contains(&b)));
        assert_ne!(secret, secret_access_key());
    }
}
