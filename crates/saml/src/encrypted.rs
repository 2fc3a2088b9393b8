//! `EncryptedAssertion`s (XML Encryption 1.0/1.1, as SAML 2.0 uses it): the IdP encrypts the
//! assertion with a fresh AES key (AES-GCM or AES-CBC) and that key with the provider's RSA
//! public key (RSA-OAEP key transport). The private keys are those registered with IAM
//! (`CreateSAMLProvider`/`UpdateSAMLProvider` `AddPrivateKey`), at most two during a rotation.
//!
//! The cryptography is Bergshamra's algorithm layer (`bergshamra-crypto`: RSA-OAEP key transport,
//! AES-GCM and AES-CBC content decryption). Its document-level decryption (`bergshamra-enc`) is
//! not used: it follows `CipherReference`s, derives keys (PBKDF2, key agreement), unwraps with
//! AES key wrap and falls back on whatever key its manager holds — more than the unsigned input
//! of an unauthenticated request should be able to steer. Here the structure SAML uses is read
//! with an allowlist: one `EncryptedData` of type `Element`, its `CipherValue` inline, at most two
//! `EncryptedKey`s (in its `KeyInfo` or beside it in the `EncryptedAssertion`), RSA-OAEP only
//! (no PKCS#1 v1.5, whose padding oracles are the classic attack on XML Encryption).
//!
//! Every failure to decrypt — wrong key, tampered ciphertext, an unknown algorithm, a plaintext
//! that is not an assertion — gives the caller one and the same answer, so that the answer says
//! nothing about the plaintext (no padding oracle through the error).

use bergshamra_crypto::keytransport::{self, OaepParams};
use bergshamra_crypto::sign::SigningKey;
use coffer_model::sts::StsError;
use uppsala::{Document, NodeId};

use crate::{decode_base64, invalid, DSIG_NS};

const XMLENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
const XMLENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
const TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";

/// The content encryption algorithms AWS documents for encrypted assertions: AES-GCM and AES-CBC.
const CONTENT_ALGORITHMS: [&str; 6] = [
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2009/xmlenc11#aes192-gcm",
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
];
/// RSA-OAEP key transport, XML Encryption 1.0 (MGF1 with SHA-1) and 1.1.
const KEY_TRANSPORT_ALGORITHMS: [&str; 2] = [
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    "http://www.w3.org/2009/xmlenc11#rsa-oaep",
];
/// At most this many `EncryptedKey`s are tried, each with each private key: an unauthenticated
/// request must not be able to ask for many RSA private-key operations.
const MAX_ENCRYPTED_KEYS: usize = 2;

/// The one message for an encrypted assertion that cannot be decrypted, whatever the reason.
pub const UNDECRYPTABLE: &str =
    "Invalid SAML response: the encrypted assertion could not be decrypted with the SAML provider's private keys";
/// A provider that requires encryption receives a plaintext assertion.
pub const ENCRYPTION_REQUIRED: &str =
    "Invalid SAML response: the SAML provider requires encrypted assertions";
/// An encrypted assertion for a provider that has no private key.
pub const NO_PRIVATE_KEY: &str =
    "Invalid SAML response: the assertion is encrypted and the SAML provider has no private key to decrypt it";

pub(crate) fn undecryptable() -> StsError {
    invalid(UNDECRYPTABLE)
}

/// The provider's assertion decryption settings: its private keys (RSA, PEM as uploaded) and
/// whether it refuses plaintext assertions (`AssertionEncryptionMode` `Required`).
#[derive(Default)]
pub struct Decryption {
    keys: Vec<SigningKey>,
    pub required: bool,
}

impl std::fmt::Debug for Decryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        f.debug_struct("Decryption")
            .field("keys", &self.keys.len())
            .field("required", &self.required)
            .finish()
    }
}

impl Decryption {
    /// No private key, plaintext assertions allowed: a provider without encryption settings.
    pub fn none() -> Self {
        Decryption::default()
    }

    /// The keys of `pems` that are RSA private keys (PKCS#8 or PKCS#1 PEM); others are skipped
    /// (IAM accepts only RSA private keys, so none should be).
    pub fn new<'a>(pems: impl IntoIterator<Item = &'a str>, required: bool) -> Self {
        let keys = pems
            .into_iter()
            .filter_map(|pem| rsa_private_key(pem.as_bytes()))
            .collect();
        Decryption { keys, required }
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

fn rsa_private_key(pem: &[u8]) -> Option<SigningKey> {
    let key = bergshamra_keys::loader::load_rsa_private_pem(pem).ok()?;
    key.software_key()
        .ok()
        .flatten()
        .filter(SigningKey::has_private_key)
}

/// Whether `pem` is an RSA private key Coffer can decrypt assertions with: what IAM's
/// `AddPrivateKey` accepts.
pub fn is_rsa_private_key(pem: &str) -> bool {
    rsa_private_key(pem.as_bytes()).is_some()
}

fn child(doc: &Document<'_>, parent: NodeId, ns: &str, name: &str) -> Option<NodeId> {
    doc.first_child_element_by_name_ns(parent, ns, name)
}

fn algorithm<'d>(doc: &'d Document<'_>, parent: NodeId) -> Option<&'d str> {
    child(doc, parent, XMLENC_NS, "EncryptionMethod")
        .and_then(|m| doc.get_attribute(m, "Algorithm"))
}

/// The bytes of an element's `CipherData`, which must hold exactly one `CipherValue` and nothing
/// else (never a `CipherReference`, which would have the ciphertext fetched).
fn cipher_value(doc: &Document<'_>, parent: NodeId) -> Option<Vec<u8>> {
    let data = child(doc, parent, XMLENC_NS, "CipherData")?;
    let children: Vec<NodeId> = doc
        .children(data)
        .into_iter()
        .filter(|node| doc.element(*node).is_some())
        .collect();
    match children.as_slice() {
        [value]
            if doc
                .element(*value)
                .is_some_and(|e| e.matches_name_ns(XMLENC_NS, "CipherValue")) =>
        {
            decode_base64(&doc.text_content_deep(*value))
        }
        _ => None,
    }
}

/// RSA-OAEP's `DigestMethod`, `MGF` and `OAEPparams` of an `EncryptionMethod`.
fn oaep_params(doc: &Document<'_>, method: NodeId) -> Option<OaepParams> {
    let mut params = OaepParams::default();
    for node in doc.children(method) {
        let Some(element) = doc.element(node) else {
            continue;
        };
        if element.matches_name_ns(DSIG_NS, "DigestMethod") {
            params.digest_uri = Some(element.get_attribute("Algorithm")?.to_string());
        } else if element.matches_name_ns(XMLENC11_NS, "MGF") {
            params.mgf_uri = Some(element.get_attribute("Algorithm")?.to_string());
        } else if element.matches_name_ns(XMLENC_NS, "OAEPparams") {
            params.oaep_params = Some(decode_base64(&doc.text_content_deep(node))?);
        }
    }
    Some(params)
}

/// The `EncryptedKey`s that may hold the content key: in the `EncryptedData`'s `KeyInfo` or,
/// as SAML also allows, beside it in the `EncryptedAssertion`.
fn encrypted_keys(doc: &Document<'_>, encrypted_assertion: NodeId, data: NodeId) -> Vec<NodeId> {
    let mut keys: Vec<NodeId> = child(doc, data, DSIG_NS, "KeyInfo")
        .map(|info| doc.child_elements_by_name_ns(info, XMLENC_NS, "EncryptedKey"))
        .unwrap_or_default();
    keys.extend(doc.child_elements_by_name_ns(encrypted_assertion, XMLENC_NS, "EncryptedKey"));
    keys
}

/// Decrypts the `EncryptedAssertion` at `encrypted_assertion` with one of the provider's keys;
/// returns the plaintext (the serialized `Assertion` element, not yet parsed or verified).
pub(crate) fn decrypt(
    doc: &Document<'_>,
    encrypted_assertion: NodeId,
    decryption: &Decryption,
) -> Result<String, StsError> {
    if decryption.keys.is_empty() {
        return Err(invalid(NO_PRIVATE_KEY));
    }
    let data = match doc
        .child_elements_by_name_ns(encrypted_assertion, XMLENC_NS, "EncryptedData")
        .as_slice()
    {
        [only] => *only,
        _ => return Err(undecryptable()),
    };
    if doc
        .get_attribute(data, "Type")
        .is_some_and(|t| t != TYPE_ELEMENT)
    {
        return Err(undecryptable());
    }
    let content_algorithm = algorithm(doc, data)
        .filter(|a| CONTENT_ALGORITHMS.contains(a))
        .ok_or_else(undecryptable)?;
    let cipher = bergshamra_crypto::cipher::from_uri(content_algorithm).map_err(|e| {
        tracing::debug!(error = %e, "SAML content algorithm unavailable");
        undecryptable()
    })?;
    let ciphertext = cipher_value(doc, data).ok_or_else(undecryptable)?;
    let keys = encrypted_keys(doc, encrypted_assertion, data);
    if keys.is_empty() || keys.len() > MAX_ENCRYPTED_KEYS {
        return Err(undecryptable());
    }
    for encrypted_key in keys {
        let Some(method) = child(doc, encrypted_key, XMLENC_NS, "EncryptionMethod") else {
            continue;
        };
        let Some(transport_algorithm) = doc
            .get_attribute(method, "Algorithm")
            .filter(|a| KEY_TRANSPORT_ALGORITHMS.contains(a))
        else {
            continue;
        };
        let (Some(params), Some(wrapped)) =
            (oaep_params(doc, method), cipher_value(doc, encrypted_key))
        else {
            continue;
        };
        let Ok(transport) = keytransport::from_uri_with_params(transport_algorithm, params) else {
            continue;
        };
        for private_key in &decryption.keys {
            let Ok(content_key) = transport.decrypt(private_key, &wrapped) else {
                continue;
            };
            // Exactly the content algorithm's key size: a longer key is not silently truncated.
            if content_key.len() != cipher.key_size() {
                continue;
            }
            if let Ok(plaintext) = cipher.decrypt(&content_key, &ciphertext) {
                return String::from_utf8(plaintext).map_err(|_| undecryptable());
            }
        }
    }
    Err(undecryptable())
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// The public half of an RSA private key, as the IdP encrypts to it.
    pub fn public_key(pem: &str) -> SigningKey {
        let private = bergshamra_keys::loader::load_rsa_private_pem(pem.as_bytes()).unwrap();
        let spki = private.to_spki_der().unwrap();
        bergshamra_keys::loader::load_spki_der(&spki)
            .unwrap()
            .software_key()
            .unwrap()
            .unwrap()
    }
}
