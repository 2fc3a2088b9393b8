//! Just enough X.509 for IAM's certificate operations: PEM certificates (and chains) read with
//! rustls-pki-types' PEM reader (any line length, text around the blocks ignored, as OpenSSL
//! does) and RustCrypto's `x509-cert` (strict DER: nothing may trail a certificate), their expiry
//! and public key; and the DER of a PEM private key. Signatures are not verified (IAM does not
//! either).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_cert::der::Decode;

pub(crate) struct Certificate {
    pub der: Vec<u8>,
    /// `notAfter`, seconds since the epoch.
    pub not_after: i64,
    /// The subjectPublicKey bits: an RSAPublicKey (DER) or an EC point.
    pub public_key: Vec<u8>,
}

impl Certificate {
    fn of(cert: &x509_cert::Certificate, der: Vec<u8>) -> Option<Certificate> {
        let tbs = &cert.tbs_certificate;
        let not_after = i64::try_from(tbs.validity.not_after.to_unix_duration().as_secs()).ok()?;
        // A key whose bit string does not fill whole bytes is no key IAM can match.
        let public_key = tbs.subject_public_key_info.subject_public_key.as_bytes()?;
        Some(Certificate {
            der,
            not_after,
            public_key: public_key.to_vec(),
        })
    }
}

/// One DER certificate, nothing before or after it.
pub(crate) fn from_der(der: Vec<u8>) -> Option<Certificate> {
    let cert = x509_cert::Certificate::from_der(&der).ok()?;
    Certificate::of(&cert, der)
}

/// The certificates of a PEM text; `None` if it holds none or any block is not valid PEM.
fn certificates(pem: &str) -> Option<Vec<Certificate>> {
    let ders = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    if ders.is_empty() {
        return None;
    }
    ders.into_iter().map(|der| from_der(der.to_vec())).collect()
}

/// Exactly one PEM certificate.
pub(crate) fn parse(pem: &str) -> Option<Certificate> {
    let mut certs = certificates(pem)?;
    (certs.len() == 1).then(|| certs.remove(0))
}

/// One or more PEM certificates.
pub(crate) fn parse_chain(pem: &str) -> Option<Vec<Certificate>> {
    certificates(pem)
}

/// The DER of exactly one PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub(crate) fn private_key(pem: &str) -> Option<PrivateKeyDer<'static>> {
    let mut keys = PrivateKeyDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    (keys.len() == 1).then(|| keys.remove(0))
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

    /// `der` as PEM, base64 lines of `width` characters.
    fn pem_of(der: &[u8], label: &str, width: usize) -> String {
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = text
            .as_bytes()
            .chunks(width)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    fn der() -> Vec<u8> {
        parse(CERT).unwrap().der
    }

    #[test]
    fn pem_is_read_as_openssl_writes_and_reads_it() {
        let der = der();
        for width in [64, 76, 10_000] {
            assert_eq!(parse(&pem_of(&der, "CERTIFICATE", width)).unwrap().der, der);
        }
        assert!(parse(&CERT.replace('\n', "\r\n")).is_some());
        assert!(parse(&format!("subject=CN = test\n{CERT}\n\n")).is_some());
        let chain = parse_chain(&format!("{CERT}\n{CERT}")).unwrap();
        assert_eq!(chain.len(), 2);
    }

    #[test]
    fn damaged_certificates_are_refused() {
        assert!(parse("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_none());
        assert!(parse("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----").is_none());
        assert!(parse("not a certificate").is_none());
        assert!(parse("").is_none());
        assert!(parse("-----BEGIN CERTIFICATE-----").is_none());
        assert!(parse(&CERT.replace("-----END CERTIFICATE-----\n", "")).is_none());
        let der = der();
        let mut longer = der.clone();
        longer.push(0);
        assert!(from_der(longer.clone()).is_none());
        // Bytes after a certificate's DER are refused in a chain as in a single certificate.
        let trailing = pem_of(&longer, "CERTIFICATE", 64);
        assert!(parse(&trailing).is_none());
        assert!(parse_chain(&format!("{CERT}{trailing}")).is_none());
        // Every truncation, and every single-bit change of the first bytes, is refused or read:
        // never a panic.
        for len in 0..der.len() {
            assert!(
                from_der(der[..len].to_vec()).is_none(),
                "truncated to {len}"
            );
        }
        for i in 0..64 {
            for bit in 0..8 {
                let mut flipped = der.clone();
                flipped[i] ^= 1 << bit;
                let _ = from_der(flipped);
            }
        }
        // A length field claiming far more than there is.
        let mut huge = vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff];
        huge.extend_from_slice(&der[4..]);
        assert!(from_der(huge).is_none());
        let two = format!("{CERT}{CERT}");
        assert!(parse(&two).is_none());
        for bad_chain in ["", "\n", "   ", "garbage"] {
            assert!(parse_chain(bad_chain).is_none(), "{bad_chain:?}");
        }
        // Another label is not a certificate.
        assert!(parse(&CERT.replace("CERTIFICATE", "PUBLIC KEY")).is_none());
    }

    #[test]
    fn exactly_one_private_key_is_read() {
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = key.serialize_pem();
        assert_eq!(
            private_key(&pem).unwrap().secret_der(),
            key.serialize_der().as_slice()
        );
        assert!(private_key(&format!("{pem}{pem}")).is_none());
        assert!(private_key(CERT).is_none());
        assert!(
            private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_some_and(|k| k.secret_der() == [0, 0, 0])
        );
        assert!(private_key("garbage").is_none());
    }

    #[test]
    fn both_asn1_time_forms_are_read() {
        // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
        for (year, expected) in [(2049, 2_524_607_999), (2050, 2_556_143_999)] {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(vec!["example.com".into()]).unwrap();
            params.not_after =
                rcgen::date_time_ymd(year, 12, 31) + std::time::Duration::from_secs(86_399);
            let cert = params.self_signed(&key).unwrap();
            let read = parse(&cert.pem()).unwrap();
            assert_eq!(read.not_after, expected, "{year}");
            assert_eq!(read.public_key, key.public_key_raw());
        }
    }
}
