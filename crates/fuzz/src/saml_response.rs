//! Target `saml_response`: the SAML 2.0 `Response` that `AssumeRoleWithSAML` reads unsigned
//! from anyone, verified against a fixed IdP's metadata.
//!
//! Input: the response's XML (the target base64-encodes it, as the request carries it). The
//! seeds are responses that IdP signed (the assertion, the response, or both) and an unsigned one;
//! its key was thrown away once they were made, so no input the fuzzer makes can carry a new
//! valid signature. Two more seeds carry the signed assertion encrypted (AES-GCM, AES-CBC, with
//! RSA-OAEP) for the provider's fixed decryption key, which the target holds: the fuzzer reaches
//! the decryption, and what it decrypts must still carry the IdP's signature.
//!
//! Properties:
//! - verification never panics, is deterministic and refuses only with client errors
//!   (`InvalidIdentityToken`, `IDPRejectedClaim`);
//! - whatever the fuzzer changes, an accepted response carries exactly the claims of a response
//!   the IdP signed (the `Destination`, outside the signed assertion, aside): wrapping,
//!   tampering and canonicalization tricks never change what the role session is granted on;
//! - the conditions of an accepted response are checked without panicking at any time;
//! - the metadata parser never panics on the same bytes.

use std::sync::OnceLock;

use coffer_model::sts::StsError;
use coffer_saml::{check_conditions, parse_metadata, verify, Assertion, Decryption, IdpMetadata};

/// The fixed IdP's self-signed certificate (DER, base64), made with the seeds.
const CERTIFICATE: &str = "MIICwDCCAaigAwIBAgIUFfLSo73ztEHv/005AEr/VA4/kWcwDQYJKoZIhvcNAQELBQAwGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMB4XDTI2MTIwNjAxNDc0N1oXDTI3MTIwNzAxNDc0N1owGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvHJoZwGnBpjbtRqGkLAifDHvNkPheZCWbDSkhmpA3RMt9+ovaqkmPIUPEsnRkJpPLQ+hpMO0kr/3Nn/3u2evZiDGNhGuBQ/RRREnVQMnY3u2fXEXGLDszMx93a/vRBi7V+i7SycjvRnAB/n1rZga65HtZD4McZDjjh8t0qFJe4xN8IHJdV3QVF7cI3wZ8g0BVj9Olq6ts7P/19h2nBGbD9gjtqslJdubbHHoiD2fPcsnDWnbSZaMLvSBozDDJkjp3Zgxi0z6V+ytR/qiWASwJDeQtmPVpxpG9OVU3My++mcBKM4/1b5HlIaeZ0Cy+2oEJ9i0e65QwBfd6jIjaoQL7wIDAQABMA0GCSqGSIb3DQEBCwUAA4IBAQAp9PV2jCu8tR2F9A2OnkofavByOCrzxYrL/A9dEa+1XrBRaRhX84AfswhPFB/kAZyoTTdaqpZsVCTkOeZF3cCU2kNSS62r3k6KzbIKjqx71x1cW97SbQ2/JA5LtEpPJj0DZLTNlsOKd65qjUATCF8+M26yRb8jrTU0zMSd7jmFCLAQ5NoBaIim9ijYJLK5kIFof6DPheeh5IAXepnCkDz4DVU2IJ1OZ/TjbSKx/GApQsSs7YtXs+p0y1z965S89eVWpXfMwr519E+eRZNjVvBlbp68Lj3MKhB4h8dxcHbpPYiHA/X+77FayZc870WzQ4FX9ua3ROqYMkyUrfPApGES";

/// The provider's private key (PKCS#8 DER, base64) that decrypts the encrypted seeds, made with
/// them by `fuzz/make_saml_encrypted_seeds.py`. A test key: it protects nothing.
const DECRYPTION_KEY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCkqLgSNcN9bTr6ObMSh2KxE8eLyEv/mpauWcPU8sM7H3nSkQnf5cRqhkqam/Y7xLrx8XGsLL8Mep5V3V6kQOpSqetlEXzpYBQRncKOBAJorI8sxY27VgsIMU7lMPLgiH97yBE9ZlHGOCRNpFzprGfLYgIVrVquydUapxKzMHH8VjJO+3BFpqrvLG/3lPW8g/MJqPYpkpOavoETQsp06pI6U0xI61bXS7SN9QdvVd0OuEW/9pim+4SM7rWI6449Olyt6oA0XQfwvE4vS4nRbxTuUNxaejRvY7ziWlB+0bLj1SvwBR+rmDp0g6rjtDA5Cxzcg5s4QS9r/824TrePw8N3AgMBAAECggEAFmucIhaiAhp1H7dAPoiivpEpPaD4qtrbeO1jcJkxo4ObVzmaikXDTeyajJzUlWTUk7cYOaUfdSKJHBCiyg4bb0Vly62VlZgYg3bjaT+l2FI5bejkbfAUW87i+urZrLXJWLXFldewe3i6MLxC+Spu46RPu7COxXgEBWIJy3kQPEHZdl9Wy98fQKmcpZBQ2HgjFE+NGL1s5m5CzsqKnF9mQQfZ0mA6qIbCmfSucfSh+ludESPLrzzFda6FvJvLqDsYavcv6ypbWAAUsRhP91XM0NYTC0mhRPMBwShvvig5sLLztbscGpe2UeaewOeteN95mEo++Bd0zvfvbE95IGO5sQKBgQDlddf/3okTJoz8d5XaZ3tcWawasAquzMrC56GMOs8XhHgiiZObBXvnn8H8vS7STAq1QJQf+Gp/xnp3aTon7y6evmStzQwXiWN/Ji3TD+W3kqVK6BLB7LOLhC7AhCUMuBUD04TexdvOZotGYiBLb5k085tP1PNafiVbgAjQFv7oKQKBgQC3tCfyoS6VAdSDwFgfaXgju3kyj/p2wLjx+qF2BvJ8VU8pVtxFJ6cR3aD9jsmvNWIkRntNCY0Mn2am2+rORzJT1kUMWjA64F5OdirteUJ7goHK6s5wg7GnpIuaMbLNXr+jXPBZ03eaSBpb+IiSAcUk9Fu+52E8sx4g5H0Ysb9CnwKBgE3tTJMAD4tqbz0am9DVjgaaCaHyoV4l/MJeifWmz0gMXARWtsNSBHdwQSBFW45d9tEBgoys//YvAM5m9TI0v593x5di6LVhmmHHJI7mejxy2CHtWNl1OrCqDnqhJjgAmFp5Tkmd5n1dQ/V+Q7t6xgw+o0NkbdUQvD0r6VJKTP2pAoGBAITg9qhleJll6n+mqNeH5dQK7n7pcGVnwB+giBwkqE/RMWKYptoK9alRo/rkxvRKbAQLS3MM/o7r2kfF+ZFeJIRKEEYAErTzyKN+jEycEr/eRd4ufEccq2u09RoC6u/sojgbqOuAsBnUH+T44GikiSLS8m4jVc2fTqLCQ86R++PHAoGAf55HIUgS25YMLmPN/9VGyWEoqeIAyns4az4jp44lhtKA54XWXae4WK4lgl6CLqkQAav4Ihnk9HFqKXad5NsMsdK9Q4KpNqqlYbKgRFBT9C2N3LLn61CgGcaaiV2VOKxEIS10u5LLn5BeHyNxqIX0PFdYFZLm2Qb/s05oB8Wsqtw=";

/// Signed seeds, whose claims are the only ones an accepted input may carry.
const SIGNED_SEEDS: [&str; 5] = [
    include_str!("../../../fuzz/corpus/saml_response/hand-signed-assertion"),
    include_str!("../../../fuzz/corpus/saml_response/hand-signed-response"),
    include_str!("../../../fuzz/corpus/saml_response/hand-signed-both"),
    include_str!("../../../fuzz/corpus/saml_response/hand-encrypted-gcm"),
    include_str!("../../../fuzz/corpus/saml_response/hand-encrypted-cbc"),
];

/// 2026-12-07T01:00:00Z, when the seeds were issued.
const ISSUED_MILLIS: i64 = 1_796_605_200_000;

fn metadata() -> &'static IdpMetadata {
    static METADATA: OnceLock<IdpMetadata> = OnceLock::new();
    METADATA.get_or_init(|| {
        parse_metadata(&format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{CERTIFICATE}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
        ))
        .expect("the fixed metadata parses")
    })
}

/// The provider's decryption settings: its one key, plaintext assertions allowed.
fn decryption() -> &'static Decryption {
    static DECRYPTION: OnceLock<Decryption> = OnceLock::new();
    DECRYPTION.get_or_init(|| {
        // PEM wraps base64 at 64 characters.
        let lines: Vec<&str> = DECRYPTION_KEY
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        let decryption = Decryption::new([pem.as_str()], false);
        assert_eq!(decryption.key_count(), 1, "the fixed decryption key loads");
        decryption
    })
}

fn comparable(mut claims: Assertion) -> Assertion {
    claims.destination = None;
    claims
}

fn signed_claims() -> &'static [Assertion] {
    static CLAIMS: OnceLock<Vec<Assertion>> = OnceLock::new();
    CLAIMS.get_or_init(|| {
        SIGNED_SEEDS
            .iter()
            .map(|xml| {
                comparable(
                    verify(&encode(xml.as_bytes()), metadata(), decryption())
                        .expect("a signed seed verifies"),
                )
            })
            .collect()
    })
}

fn encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_metadata(text);
    }
    let request = encode(data);
    let first = verify(&request, metadata(), decryption());
    let again = verify(&request, metadata(), decryption());
    assert_eq!(first, again, "verification is not deterministic");
    match first {
        Ok(claims) => {
            assert!(
                signed_claims().contains(&comparable(claims.clone())),
                "accepted claims the IdP never signed: {claims:?}"
            );
            for now in [
                i64::MIN,
                0,
                ISSUED_MILLIS,
                ISSUED_MILLIS + 300_001,
                i64::MAX,
            ] {
                let _ = check_conditions(&claims, now);
            }
        }
        Err(StsError::InvalidIdentityToken(_) | StsError::IDPRejectedClaim(_)) => {}
        Err(other) => panic!("not a client error: {other:?}"),
    }
}
