//! Just enough X.509 for IAM's certificate operations: PEM to DER, the certificate's outline,
//! its expiry and its public key. Signatures are not verified (IAM does not either).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use coffer_model::types::Timestamp;

pub(crate) struct Certificate {
    pub der: Vec<u8>,
    /// `notAfter`, seconds since the epoch.
    pub not_after: i64,
    /// The subjectPublicKey bits: an RSAPublicKey (DER) or an EC point.
    pub public_key: Vec<u8>,
}

/// One DER element at the start of `input`: (tag, content, rest).
pub(crate) fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in input.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let content = input.get(header..header.checked_add(len)?)?;
    Some((tag, content, &input[header + len..]))
}

/// The DER inside every `-----BEGIN <label>-----` block of `pem`, in order.
pub(crate) fn pem_blocks(pem: &str, label: &str) -> Option<Vec<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut rest = pem.trim();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let after = rest.strip_prefix(&begin)?;
        let stop = after.find(&end)?;
        let b64: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push(STANDARD.decode(b64).ok()?);
        rest = after[stop + end.len()..].trim_start();
    }
    (!out.is_empty()).then_some(out)
}

/// `YYMMDDHHMMSSZ` (UTCTime) or `YYYYMMDDHHMMSSZ` (GeneralizedTime).
fn time(tag: u8, value: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    let full = match (tag, s.len()) {
        (0x17, 12) => {
            let yy: u32 = s[..2].parse().ok()?;
            format!("{}{s}", if yy < 50 { "20" } else { "19" })
        }
        (0x18, 14) => s.to_string(),
        _ => return None,
    };
    if !full.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &full[..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    );
    Some(Timestamp::parse_iso8601(&iso)?.as_secs_f64() as i64)
}

/// Reads one DER certificate: SEQUENCE { tbsCertificate, signatureAlgorithm, signature }.
pub(crate) fn from_der(der: Vec<u8>) -> Option<Certificate> {
    let (tag, cert, rest) = element(&der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (tbs_tag, tbs, after_tbs) = element(cert)?;
    let (alg_tag, _, after_alg) = element(after_tbs)?;
    let (sig_tag, _, end) = element(after_alg)?;
    if tbs_tag != 0x30 || alg_tag != 0x30 || sig_tag != 0x03 || !end.is_empty() {
        return None;
    }
    // [0] version (optional), serialNumber, signature, issuer, validity, subject, key.
    let (mut tag, _, mut rest) = element(tbs)?;
    if tag == 0xa0 {
        (tag, _, rest) = element(rest)?;
    }
    if tag != 0x02 {
        return None;
    }
    let mut parts = Vec::with_capacity(5);
    for _ in 0..5 {
        let (t, content, r) = element(rest)?;
        if t != 0x30 {
            return None;
        }
        parts.push(content);
        rest = r;
    }
    // parts: signature algorithm, issuer, validity, subject, subjectPublicKeyInfo.
    let (_, _, after_not_before) = element(parts[2])?;
    let (na_tag, na, _) = element(after_not_before)?;
    let not_after = time(na_tag, na)?;
    let (_, _, after_alg) = element(parts[4])?;
    let (bits_tag, bits, _) = element(after_alg)?;
    if bits_tag != 0x03 || bits.first() != Some(&0) {
        return None;
    }
    let public_key = bits[1..].to_vec();
    Some(Certificate {
        der,
        not_after,
        public_key,
    })
}

/// One PEM certificate.
pub(crate) fn parse(pem: &str) -> Option<Certificate> {
    let mut blocks = pem_blocks(pem, "CERTIFICATE")?;
    if blocks.len() != 1 {
        return None;
    }
    from_der(blocks.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIDHzCCAgegAwIBAgIUQqUipw5HHy73vwK3TA044vbVZRMwDQYJKoZIhvcNAQEL\nBQAwHjEcMBoGA1UEAwwTY29mZmVyLXNpZ25pbmctdGVzdDAgFw0yNjExMjMxNDU1\nNTVaGA8yMTI2MTAzMDE0NTU1NVowHjEcMBoGA1UEAwwTY29mZmVyLXNpZ25pbmct\ndGVzdDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAI1pI+lOyspDQa0G\nIjxhJ1J2J2JooIrUdzhIcNezo1z30yA7adSjk5AnVTH+54grY1dm5x93ZZ/jB20o\npfxVTNAv9bFbF6j804MgnYUC+sDOGdGomfHUI/gaIqluclUGX8qdTbCZTAVExrPI\nnRclMhVAkY8kN2jbgjnYrScYd9zBPzO/JoOZQZ42NBU7xriUG4GjQh0Q0FoLQkkf\nvucNdIm/qs3lZ4iMGkcx0XcANeWVwkFu6BQa072dQ+qbHuu2ypb5D2siS554+vBe\n0B/EnWnKgD0SkbWvQZJGttY8d2q0A9rIdAeaa2e4HS3Bvjyw8nOgWjCGBOQhtnND\nBK+DGZsCAwEAAaNTMFEwHQYDVR0OBBYEFE0iS/y2JvgTlOIPB4rV9mVubDqIMB8G\nA1UdIwQYMBaAFE0iS/y2JvgTlOIPB4rV9mVubDqIMA8GA1UdEwEB/wQFMAMBAf8w\nDQYJKoZIhvcNAQELBQADggEBAF65zq8/h/eUVr8P24szUGf34ubQVphw+kUQBNz0\notQ0h/lhgCTXjb2UGNCwHYHeiEC+HdBrzmws4GpRyP0o9Ha3yB+RvV32uUI2CnYo\nPCw3hlclUHAfEcdttz7r/mthwDbOQJ28hGvA+QCXyBurLvAvuxNTtp93PqxpzCIP\nMWGzQ/5OllTShOFHisxAxILMsCNDT0JOJoX/DEB7oUPLVX1AGa2E4yxlxwYz85PP\npsEbro93/iTt1TbBiLR50zcOvk0PYq7iGrAupWLJQLcZX6DhA+gwcOkZumqHv1OU\nHfg14cD6oiWnfKnXYpAUQ0Bj9oDhx89mlB5ABPIgXpKkryc=\n-----END CERTIFICATE-----\n";

    #[test]
    fn a_real_certificate_is_read() {
        let c = parse(CERT).unwrap();
        // openssl req -x509 -days 36500: valid for a century.
        assert!(c.not_after > 4_000_000_000);
        // An RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e }.
        assert_eq!(c.public_key[0], 0x30);
        assert!(c.public_key.ends_with(&[0x02, 0x03, 0x01, 0x00, 0x01]));
    }

    #[test]
    fn damaged_certificates_are_refused() {
        assert!(parse("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_none());
        assert!(parse("not a certificate").is_none());
        let mut der = pem_blocks(CERT, "CERTIFICATE").unwrap().remove(0);
        der.push(0);
        assert!(from_der(der.clone()).is_none());
        der.pop();
        der.truncate(der.len() - 1);
        assert!(from_der(der).is_none());
        let two = format!("{CERT}{CERT}");
        assert!(parse(&two).is_none());
        assert_eq!(pem_blocks(&two, "CERTIFICATE").unwrap().len(), 2);
    }

    #[test]
    fn both_asn1_time_forms_are_read() {
        assert_eq!(time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(time(0x18, b"20500101000000Z"), Some(2_524_608_000));
        assert_eq!(time(0x17, b"7001010000Z"), None);
    }
}
