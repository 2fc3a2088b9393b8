//! SigV4 header signing for the load generator.
//!
//! Hand-written on hmac + sha2 rather than the `aws-sigv4` crate: the client's own cost per request
//! caps the throughput it can measure, so it does only what a request needs — a fresh date and
//! signature every time, with the signing key derived once per day as the SDKs do.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub struct Signer {
    access_key_id: String,
    secret_access_key: String,
    region: String,
    /// (yyyymmdd, service, key): a new day or another service derives a new key.
    cached: Option<(String, String, [u8; 32])>,
}

// The secret key never appears in Debug output.
impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .finish()
    }
}

/// What a request to sign consists of. `headers` are lower-case names with their values and must
/// include `host`; `x-amz-date` is added by the signer.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub canonical_query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

pub struct Signature {
    pub amz_date: String,
    pub authorization: String,
}

impl Signer {
    pub fn new(access_key_id: &str, secret_access_key: &str, region: &str) -> Signer {
        Signer {
            access_key_id: access_key_id.to_string(),
            secret_access_key: secret_access_key.to_string(),
            region: region.to_string(),
            cached: None,
        }
    }

    pub fn sign_now(&mut self, service: &str, req: &Request<'_>) -> Signature {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.sign_at(service, req, &amz_date(secs))
    }

    pub fn sign_at(&mut self, service: &str, req: &Request<'_>, amz_date: &str) -> Signature {
        let date = &amz_date[..8];
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(req.headers.len() + 1);
        headers.extend_from_slice(req.headers);
        headers.push(("x-amz-date", amz_date));
        headers.sort_unstable_by(|a, b| a.0.cmp(b.0));

        let mut signed_headers = String::with_capacity(64);
        let mut creq = String::with_capacity(512);
        creq.push_str(req.method);
        creq.push('\n');
        creq.push_str(req.path);
        creq.push('\n');
        creq.push_str(req.canonical_query);
        creq.push('\n');
        for (i, (name, value)) in headers.iter().enumerate() {
            creq.push_str(name);
            creq.push(':');
            creq.push_str(value.trim());
            creq.push('\n');
            if i > 0 {
                signed_headers.push(';');
            }
            signed_headers.push_str(name);
        }
        creq.push('\n');
        creq.push_str(&signed_headers);
        creq.push('\n');
        creq.push_str(&hex::encode(Sha256::digest(req.body)));

        let scope = format!("{date}/{}/{service}/aws4_request", self.region);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(creq.as_bytes()))
        );
        let key = self.signing_key(date, service);
        let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
        Signature {
            amz_date: amz_date.to_string(),
            authorization: format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                self.access_key_id
            ),
        }
    }

    fn signing_key(&mut self, date: &str, service: &str) -> [u8; 32] {
        if let Some((d, s, key)) = &self.cached {
            if d == date && s == service {
                return *key;
            }
        }
        let k_date = hmac(
            format!("AWS4{}", self.secret_access_key).as_bytes(),
            date.as_bytes(),
        );
        let k_region = hmac(&k_date, self.region.as_bytes());
        let k_service = hmac(&k_region, service.as_bytes());
        let key = hmac(&k_service, b"aws4_request");
        self.cached = Some((date.to_string(), service.to_string(), key));
        key
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch (proleptic Gregorian, UTC).
pub fn amz_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

// Howard Hinnant's days-to-civil algorithm: exact for every day since 1970 without a date library.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_formats_known_instants() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_868_799), "20000229T235959Z");
        assert_eq!(amz_date(1_735_603_201), "20241231T000001Z");
    }

    // aws-sig-v4-test-suite/post-x-www-form-urlencoded (testdata/sigv4-test-suite).
    #[test]
    fn matches_the_aws_post_form_vector() {
        let mut signer = Signer::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-1",
        );
        let req = Request {
            method: "POST",
            path: "/",
            canonical_query: "",
            headers: &[
                ("host", "example.amazonaws.com"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body: b"Param1=value1",
        };
        let sig = signer.sign_at("service", &req, "20150830T123600Z");
        assert_eq!(
            sig.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn a_new_second_gives_a_new_signature_and_debug_hides_the_secret() {
        let mut signer = Signer::new("AKIDEXAMPLE", "topsecretvalue", "us-east-1");
        let req = Request {
            method: "POST",
            path: "/",
            canonical_query: "",
            headers: &[("host", "h")],
            body: b"",
        };
        let a = signer.sign_at("sts", &req, "20150830T123600Z");
        let b = signer.sign_at("sts", &req, "20150830T123601Z");
        assert_ne!(a.authorization, b.authorization);
        let c = signer.sign_at("secretsmanager", &req, "20150830T123601Z");
        assert_ne!(b.authorization, c.authorization);
        assert!(!format!("{signer:?}").contains("topsecretvalue"));
    }
}
