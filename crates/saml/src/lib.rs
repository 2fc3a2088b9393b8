//! Reading and verifying the SAML 2.0 `Response` that `AssumeRoleWithSAML` receives, and the IdP
//! metadata registered with IAM `CreateSAMLProvider` that it is checked against. STS
//! (`coffer-sts`) runs the operation; this crate, which knows neither the store nor HTTP, is also
//! what the `saml_response` fuzz target drives.
//!
//! XML-DSig is Bergshamra's (`bergshamra-dsig`): a pure-Rust implementation, no `unsafe`, no C
//! library, tested against the xmlsec1 interoperability suite, whose hardened context is made for
//! SAML (only the keys it is given are trusted, never a key or certificate embedded in the
//! signature's `KeyInfo`; duplicate IDs rejected; references limited to the signature's
//! ancestors). The alternatives were `samael` (needs libxmlsec1 and libxml2 through FFI) and
//! `xml-sec` (needs a newer Rust than the server's minimum). Parsing is Bergshamra's own parser,
//! `uppsala`, so that the element whose signature was checked and the element the claims are read
//! from are the same node of the same document.
//!
//! Against signature wrapping, on top of Bergshamra's checks: the document must hold exactly one
//! `Assertion`, a child of the `Response`; a signature counts only if it is an enveloped child of
//! that `Assertion` or of the `Response` itself, has exactly one `Reference` and that reference
//! resolves to the element the signature sits in; and only the enveloped-signature and
//! canonicalization transforms are accepted (an XPath transform could exclude the claims from
//! the digest).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bergshamra_dsig::{DsigContext, VerifyResult};
use bergshamra_keys::KeysManager;
use coffer_model::sts::StsError;
use coffer_model::types::Timestamp;
use uppsala::{Document, NodeId};

mod encrypted;
pub use encrypted::{
    is_rsa_private_key, Decryption, ENCRYPTION_REQUIRED, NO_PRIVATE_KEY, UNDECRYPTABLE,
};

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// The canonicalizations accepted for `SignedInfo` and as reference transforms: exclusive (what
/// SAML IdPs use) and inclusive C14N 1.0, without comments.
const CANONICALIZATIONS: [&str; 2] = [
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
];
const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// RSA PKCS#1 v1.5 signatures: SHA-256 (and stronger) and, as AWS still accepts it, SHA-1.
const SIGNATURE_METHODS: [&str; 4] = [
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
];
const DIGEST_METHODS: [&str; 4] = [
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    "http://www.w3.org/2000/09/xmldsig#sha1",
];

pub const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
pub const ROLE_SESSION_NAME_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
pub const SOURCE_IDENTITY_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
/// `PrincipalTag:<key>` attributes are session tags; `TransitiveTagKeys` names those that pass on.
pub const PRINCIPAL_TAG_ATTRIBUTE_PREFIX: &str =
    "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";
pub const TRANSITIVE_TAG_KEYS_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys";

/// AWS's message for a response whose signature does not verify, whatever the reason.
pub const SIGNATURE_INVALID: &str = "Response signature invalid";

/// How far in the future `NotBefore` may be, for the IdP's clock.
const CLOCK_SKEW_MILLIS: i64 = 5 * 60 * 1000;
/// AWS refuses a response more than five minutes after it was issued.
const REDEEM_WITHIN_MILLIS: i64 = 5 * 60 * 1000;

pub fn invalid(message: impl Into<String>) -> StsError {
    StsError::invalid_identity_token(message)
}

fn malformed() -> StsError {
    invalid("Invalid SAML response: the SAMLAssertion is not a base64-encoded SAML 2.0 Response")
}

/// Parses XML that must never carry a DTD (no entity expansion, no external entities).
fn parse_xml(xml: &str) -> Option<Document<'_>> {
    uppsala::Parser::new().with_forbid_dtd(true).parse(xml).ok()
}

/// What Coffer uses of a provider's metadata: its entity id and signing certificates (DER).
#[derive(Debug, Default)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub signing_certificates: Vec<Vec<u8>>,
}

/// The `IDPSSODescriptor`'s `KeyDescriptor`s for signing (or for any use, when `use` is absent).
pub fn parse_metadata(xml: &str) -> Option<IdpMetadata> {
    let doc = parse_xml(xml)?;
    let root = doc.document_element()?;
    let entity = doc.element(root)?;
    if !entity.matches_name_ns(METADATA_NS, "EntityDescriptor") {
        return None;
    }
    let mut metadata = IdpMetadata {
        entity_id: entity.get_attribute("entityID").unwrap_or_default().into(),
        signing_certificates: Vec::new(),
    };
    for idp in doc.child_elements_by_name_ns(root, METADATA_NS, "IDPSSODescriptor") {
        for descriptor in doc.child_elements_by_name_ns(idp, METADATA_NS, "KeyDescriptor") {
            if doc
                .get_attribute(descriptor, "use")
                .is_some_and(|u| u != "signing")
            {
                continue;
            }
            let certificates = doc
                .child_elements_by_name_ns(descriptor, DSIG_NS, "KeyInfo")
                .into_iter()
                .flat_map(|info| doc.child_elements_by_name_ns(info, DSIG_NS, "X509Data"))
                .flat_map(|data| doc.child_elements_by_name_ns(data, DSIG_NS, "X509Certificate"));
            for certificate in certificates {
                if let Some(der) = decode_base64(&doc.text_content_deep(certificate)) {
                    metadata.signing_certificates.push(der);
                }
            }
        }
    }
    Some(metadata)
}

/// Base64 as XML carries it: line breaks and spaces anywhere.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

/// The claims of a response whose signature verified, read from the signed assertion.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Assertion {
    pub issuer: String,
    pub subject: String,
    /// The `NameID`'s `Format`, as given.
    pub subject_format: Option<String>,
    /// The `Response`'s `Destination`, when it has one.
    pub destination: Option<String>,
    pub issue_instant_millis: i64,
    pub not_before_millis: Option<i64>,
    pub not_on_or_after_millis: Option<i64>,
    pub audiences: Vec<String>,
    /// Bearer `SubjectConfirmationData`s: (`Recipient`, `NotBefore`, `NotOnOrAfter`).
    pub confirmations: Vec<Confirmation>,
    /// The `AuthnStatement`'s `SessionNotOnOrAfter`, which caps the session.
    pub session_not_on_or_after_millis: Option<i64>,
    /// Each attribute's name and values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Confirmation {
    pub recipient: Option<String>,
    pub not_before_millis: Option<i64>,
    pub not_on_or_after_millis: Option<i64>,
}

impl Assertion {
    pub fn attribute(&self, name: &str) -> Option<&[String]> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, values)| values.as_slice())
    }
}

/// Decodes `saml_response` (base64, as the IdP posts it), decrypts its assertion when it is an
/// `EncryptedAssertion`, checks the signature against the provider's signing certificates and
/// returns the claims of the signed assertion. Times, audience and recipient are
/// [`check_conditions`]'s.
pub fn verify(
    saml_response: &str,
    metadata: &IdpMetadata,
    decryption: &Decryption,
) -> Result<Assertion, StsError> {
    let bytes = decode_base64(saml_response).ok_or_else(malformed)?;
    let xml = String::from_utf8(bytes).map_err(|_| malformed())?;
    let doc = parse_xml(&xml).ok_or_else(malformed)?;
    let response = doc.document_element().ok_or_else(malformed)?;
    if !doc
        .element(response)
        .is_some_and(|e| e.matches_name_ns(PROTOCOL_NS, "Response"))
    {
        return Err(malformed());
    }
    let destination = doc
        .get_attribute(response, "Destination")
        .map(str::to_string);
    // Exactly one assertion, plain or encrypted, directly in the Response: a second one (signed
    // or not) anywhere in the document is how signature wrapping smuggles claims in.
    let plain = doc.get_elements_by_tag_name_ns(ASSERTION_NS, "Assertion");
    let sealed = doc.get_elements_by_tag_name_ns(ASSERTION_NS, "EncryptedAssertion");
    match (plain.as_slice(), sealed.as_slice()) {
        ([assertion], []) if doc.parent(*assertion) == Some(response) => {
            if decryption.required {
                return Err(invalid(ENCRYPTION_REQUIRED));
            }
            check_status(&doc, response)?;
            let keys = signing_keys(metadata)?;
            if !signature_covers(&doc, &xml, &[response, *assertion], keys)? {
                return Err(invalid(SIGNATURE_INVALID));
            }
            read_assertion(&doc, destination, *assertion)
        }
        ([], [encrypted_assertion]) if doc.parent(*encrypted_assertion) == Some(response) => {
            check_status(&doc, response)?;
            // A signature of the response covers the ciphertext: it is checked before anything
            // is decrypted, so that a signed response cannot be tampered with to probe the
            // decryption.
            let response_signed =
                signature_covers(&doc, &xml, &[response], signing_keys(metadata)?)?;
            if !response_signed && has_signature(&doc) {
                return Err(invalid(SIGNATURE_INVALID));
            }
            let plaintext = encrypted::decrypt(&doc, *encrypted_assertion, decryption)?;
            // Without a signed Response the ciphertext is unauthenticated (AES-CBC has no tag):
            // every failure up to the assertion's signature gives the decryption's one answer,
            // so that what a forged ciphertext decrypted to (XML or not, one assertion or not,
            // signed or not) is not told apart by the message.
            let opaque = |e: StsError| {
                if response_signed {
                    e
                } else {
                    encrypted::undecryptable()
                }
            };
            let (inner, assertion) =
                signed_decrypted_assertion(&plaintext, metadata, response_signed)
                    .map_err(opaque)?;
            read_assertion(&inner, destination, assertion)
        }
        _ => Err(invalid(
            "Invalid SAML response: it must contain exactly one Assertion",
        )),
    }
}

/// The one assertion a decrypted `EncryptedAssertion` holds, held to the rules of a plain one: no
/// second assertion (plain or encrypted) inside it, and, unless the response is signed, its own
/// signature enveloped in it and covering it.
fn signed_decrypted_assertion<'x>(
    plaintext: &'x str,
    metadata: &IdpMetadata,
    response_signed: bool,
) -> Result<(Document<'x>, NodeId), StsError> {
    let inner = parse_xml(plaintext).ok_or_else(encrypted::undecryptable)?;
    let assertion = inner
        .document_element()
        .filter(|root| {
            inner
                .element(*root)
                .is_some_and(|e| e.matches_name_ns(ASSERTION_NS, "Assertion"))
        })
        .ok_or_else(encrypted::undecryptable)?;
    // The decrypted assertion is held to the rules of a plain one: no second assertion
    // (plain or encrypted) inside it, and its signature, if the response is not signed,
    // enveloped in it and covering it.
    if inner
        .get_elements_by_tag_name_ns(ASSERTION_NS, "Assertion")
        .len()
        != 1
        || !inner
            .get_elements_by_tag_name_ns(ASSERTION_NS, "EncryptedAssertion")
            .is_empty()
    {
        return Err(invalid(
            "Invalid SAML response: it must contain exactly one Assertion",
        ));
    }
    let assertion_signed = if has_signature(&inner) || !response_signed {
        signature_covers(&inner, plaintext, &[assertion], signing_keys(metadata)?)?
    } else {
        false
    };
    if !(response_signed || assertion_signed) {
        return Err(invalid(SIGNATURE_INVALID));
    }
    Ok((inner, assertion))
}

/// A `StatusCode` other than `Success` is the IdP saying no.
fn check_status(doc: &Document<'_>, response: NodeId) -> Result<(), StsError> {
    let code = doc
        .first_child_element_by_name_ns(response, PROTOCOL_NS, "Status")
        .and_then(|status| doc.first_child_element_by_name_ns(status, PROTOCOL_NS, "StatusCode"))
        .and_then(|code| doc.get_attribute(code, "Value"));
    match code {
        Some(STATUS_SUCCESS) => Ok(()),
        Some(other) => Err(StsError::idp_rejected_claim(format!(
            "The identity provider did not authenticate the user: status {other}"
        ))),
        None => Err(malformed()),
    }
}

/// The provider's signing certificates as Bergshamra keys; none usable refuses the response.
fn signing_keys(metadata: &IdpMetadata) -> Result<KeysManager, StsError> {
    let mut keys = KeysManager::new();
    for der in &metadata.signing_certificates {
        match bergshamra_keys::loader::load_x509_cert_der(der) {
            Ok(key) => keys.add_key(key),
            Err(e) => tracing::debug!(error = %e, "unusable certificate in SAML metadata"),
        }
    }
    if keys.is_empty() {
        return Err(invalid(SIGNATURE_INVALID));
    }
    Ok(keys)
}

fn has_signature(doc: &Document<'_>) -> bool {
    !doc.get_elements_by_tag_name_ns(DSIG_NS, "Signature")
        .is_empty()
}

/// Whether a signature of `doc`, made with one of `keys`, covers one of `places`: it is
/// enveloped in that element and references exactly it. Any signature elsewhere, more than one
/// in a place, or one of a shape not accepted refuses the response; a document without any
/// signature is simply not covered.
fn signature_covers(
    doc: &Document<'_>,
    xml: &str,
    places: &[NodeId],
    keys: KeysManager,
) -> Result<bool, StsError> {
    // Before any cryptography, and since the request is unsigned: at most one signature in each
    // place and none elsewhere, each of the accepted shape, so that a response full of
    // signatures (or of XPath transforms) costs no more to refuse than a valid one costs to check.
    let signatures = doc.get_elements_by_tag_name_ns(DSIG_NS, "Signature");
    if signatures.is_empty() {
        return Ok(false);
    }
    let in_place = |place: &NodeId| {
        signatures
            .iter()
            .filter(|s| doc.parent(**s) == Some(*place))
            .count()
    };
    let placed: Vec<usize> = places.iter().map(in_place).collect();
    if placed.iter().any(|n| *n > 1)
        || placed.iter().sum::<usize>() != signatures.len()
        || !signatures.iter().all(|s| has_accepted_shape(doc, *s))
    {
        return Err(invalid(SIGNATURE_INVALID));
    }
    // `new` is Bergshamra's hardened context: trusted keys only, references confined to the
    // signature's ancestors and siblings, every reference digest computed here.
    let ctx = DsigContext::new(keys);
    let results = bergshamra_dsig::verify::verify_all_document_with_source(&ctx, doc, Some(xml))
        .map_err(|e| {
            tracing::debug!(error = %e, "SAML response signature not verifiable");
            invalid(SIGNATURE_INVALID)
        })?;
    Ok(results.iter().any(|result| match result {
        VerifyResult::Valid {
            signature_node,
            references,
            ..
        } => match references.as_slice() {
            [reference] => {
                let signed = reference.resolved_node;
                reference.digest_verified
                    && signed.is_some_and(|s| places.contains(&s))
                    && doc.parent(*signature_node) == signed
            }
            _ => false,
        },
        VerifyResult::Invalid { reason } => {
            tracing::debug!(reason = %reason, "SAML response signature invalid");
            false
        }
    }))
}

/// The signature has exactly one reference and uses only the algorithms SAML needs: no XPath or
/// XSLT transform, no HMAC.
fn has_accepted_shape(doc: &Document<'_>, signature: NodeId) -> bool {
    let algorithm = |parent: NodeId, name: &str| {
        doc.first_child_element_by_name_ns(parent, DSIG_NS, name)
            .and_then(|e| doc.get_attribute(e, "Algorithm"))
    };
    let Some(signed_info) = doc.first_child_element_by_name_ns(signature, DSIG_NS, "SignedInfo")
    else {
        return false;
    };
    let canonicalization_ok = algorithm(signed_info, "CanonicalizationMethod")
        .is_some_and(|a| CANONICALIZATIONS.contains(&a));
    let method_ok =
        algorithm(signed_info, "SignatureMethod").is_some_and(|a| SIGNATURE_METHODS.contains(&a));
    let references = doc.child_elements_by_name_ns(signed_info, DSIG_NS, "Reference");
    let references_ok = references.len() == 1
        && references.into_iter().all(|reference| {
            let digest_ok =
                algorithm(reference, "DigestMethod").is_some_and(|a| DIGEST_METHODS.contains(&a));
            let transforms_ok = doc
                .first_child_element_by_name_ns(reference, DSIG_NS, "Transforms")
                .map(|t| doc.child_elements_by_name_ns(t, DSIG_NS, "Transform"))
                .unwrap_or_default()
                .into_iter()
                .all(|t| {
                    doc.get_attribute(t, "Algorithm")
                        .is_some_and(|a| a == ENVELOPED_SIGNATURE || CANONICALIZATIONS.contains(&a))
                });
            digest_ok && transforms_ok
        });
    canonicalization_ok && method_ok && references_ok
}

fn time(doc: &Document<'_>, node: NodeId, name: &str) -> Result<Option<i64>, StsError> {
    match doc.get_attribute(node, name) {
        None => Ok(None),
        Some(value) => Timestamp::parse_iso8601(value.trim())
            .map(|t| Some(t.as_millis()))
            .ok_or_else(|| invalid(format!("Invalid SAML response: {name} is not a dateTime"))),
    }
}

fn text(doc: &Document<'_>, node: NodeId) -> String {
    doc.text_content_deep(node).trim().to_string()
}

/// Reads the claims: only from the signed assertion (and the response's `Destination`, checked
/// only when present), never from elsewhere in the document.
fn read_assertion(
    doc: &Document<'_>,
    destination: Option<String>,
    assertion: NodeId,
) -> Result<Assertion, StsError> {
    let child =
        |parent: NodeId, name: &str| doc.first_child_element_by_name_ns(parent, ASSERTION_NS, name);
    let children =
        |parent: NodeId, name: &str| doc.child_elements_by_name_ns(parent, ASSERTION_NS, name);

    let issuer = child(assertion, "Issuer")
        .map(|i| text(doc, i))
        .filter(|i| !i.is_empty())
        .ok_or_else(|| invalid("Invalid SAML response: the Assertion has no Issuer"))?;
    let issue_instant_millis = time(doc, assertion, "IssueInstant")?
        .ok_or_else(|| invalid("Invalid SAML response: the Assertion has no IssueInstant"))?;
    let subject = child(assertion, "Subject")
        .ok_or_else(|| invalid("Invalid SAML response: the Assertion has no Subject"))?;
    let name_id = child(subject, "NameID");
    let mut out = Assertion {
        issuer,
        subject: name_id.map(|n| text(doc, n)).unwrap_or_default(),
        subject_format: name_id
            .and_then(|n| doc.get_attribute(n, "Format"))
            .map(str::to_string),
        destination,
        issue_instant_millis,
        ..Assertion::default()
    };
    for confirmation in children(subject, "SubjectConfirmation") {
        if doc.get_attribute(confirmation, "Method") != Some(BEARER) {
            continue;
        }
        let mut parsed = Confirmation::default();
        if let Some(data) = child(confirmation, "SubjectConfirmationData") {
            parsed.recipient = doc.get_attribute(data, "Recipient").map(str::to_string);
            parsed.not_before_millis = time(doc, data, "NotBefore")?;
            parsed.not_on_or_after_millis = time(doc, data, "NotOnOrAfter")?;
        }
        out.confirmations.push(parsed);
    }
    if let Some(conditions) = child(assertion, "Conditions") {
        out.not_before_millis = time(doc, conditions, "NotBefore")?;
        out.not_on_or_after_millis = time(doc, conditions, "NotOnOrAfter")?;
        for restriction in children(conditions, "AudienceRestriction") {
            for audience in children(restriction, "Audience") {
                out.audiences.push(text(doc, audience));
            }
        }
    }
    for statement in children(assertion, "AuthnStatement") {
        if let Some(end) = time(doc, statement, "SessionNotOnOrAfter")? {
            out.session_not_on_or_after_millis = Some(
                out.session_not_on_or_after_millis
                    .map_or(end, |earlier| earlier.min(end)),
            );
        }
    }
    for statement in children(assertion, "AttributeStatement") {
        for attribute in children(statement, "Attribute") {
            let Some(name) = doc.get_attribute(attribute, "Name") else {
                continue;
            };
            let values = children(attribute, "AttributeValue")
                .into_iter()
                .map(|v| text(doc, v))
                .collect();
            out.attributes.push((name.to_string(), values));
        }
    }
    Ok(out)
}

/// True for AWS's sign-in endpoint, global or regional (`https://<region>.signin.aws.amazon.com/saml`).
pub fn is_aws_endpoint(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let Some(host) = rest.strip_suffix("/saml") else {
        return false;
    };
    host == "signin.aws.amazon.com"
        || host
            .strip_suffix(".signin.aws.amazon.com")
            .is_some_and(|region| {
                !region.is_empty()
                    && region
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
}

fn is_aws_audience(audience: &str) -> bool {
    audience == "urn:amazon:webservices" || is_aws_endpoint(audience)
}

/// The assertion is addressed to AWS and valid at `now_millis`; returns the confirmation's
/// `Recipient` (`saml:aud`, the response's `Audience`).
pub fn check_conditions(assertion: &Assertion, now_millis: i64) -> Result<String, StsError> {
    if assertion
        .destination
        .as_deref()
        .is_some_and(|d| !is_aws_endpoint(d))
    {
        return Err(invalid(
            "Invalid SAML response: the Response's Destination is not the AWS sign-in endpoint",
        ));
    }
    if !assertion.audiences.iter().any(|a| is_aws_audience(a)) {
        return Err(invalid(
            "Invalid SAML response: the Assertion's Audience is not https://signin.aws.amazon.com/saml or urn:amazon:webservices",
        ));
    }
    // AWS: "exactly one SubjectConfirmation element with a SubjectConfirmationData element that
    // includes both the NotOnOrAfter attribute and a Recipient attribute".
    let confirmation = match assertion.confirmations.as_slice() {
        [only] => only,
        _ => return Err(invalid(
            "Invalid SAML response: the Subject must have exactly one bearer SubjectConfirmation",
        )),
    };
    let recipient = confirmation
        .recipient
        .as_deref()
        .filter(|r| is_aws_endpoint(r))
        .ok_or_else(|| {
            invalid("Invalid SAML response: the SubjectConfirmationData's Recipient is not the AWS sign-in endpoint")
        })?;
    let confirmation_end = confirmation.not_on_or_after_millis.ok_or_else(|| {
        invalid("Invalid SAML response: the SubjectConfirmationData has no NotOnOrAfter")
    })?;

    let not_yet = |start: Option<i64>| {
        start.is_some_and(|s| s > now_millis.saturating_add(CLOCK_SKEW_MILLIS))
    };
    if not_yet(assertion.not_before_millis)
        || not_yet(confirmation.not_before_millis)
        || assertion.issue_instant_millis > now_millis.saturating_add(CLOCK_SKEW_MILLIS)
    {
        return Err(invalid(
            "Invalid SAML response: the Assertion is not yet valid",
        ));
    }
    let ended = |end: Option<i64>| end.is_some_and(|e| now_millis >= e);
    if ended(assertion.not_on_or_after_millis) || ended(Some(confirmation_end)) {
        return Err(StsError::expired_token("Response has expired"));
    }
    if now_millis
        > assertion
            .issue_instant_millis
            .saturating_add(REDEEM_WITHIN_MILLIS)
    {
        return Err(StsError::expired_token(
            "Token must be redeemed within 5 minutes of issuance",
        ));
    }
    if ended(assertion.session_not_on_or_after_millis) {
        return Err(StsError::expired_token("Response has expired"));
    }
    Ok(recipient.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const ENTITY_ID: &str = "https://idp.example.com/saml";
    /// 2026-12-07T01:00:00Z.
    pub const NOW: i64 = 1_796_605_200_000;
    const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

    /// A test IdP: an RSA key and its self-signed certificate, made for each test.
    pub struct Idp {
        pub key_pem: String,
        pub cert_der: Vec<u8>,
    }

    impl Idp {
        pub fn new() -> Self {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["idp.example.com".into()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            Idp {
                key_pem: key.serialize_pem(),
                cert_der: cert.der().to_vec(),
            }
        }

        pub fn metadata(&self) -> IdpMetadata {
            IdpMetadata {
                entity_id: ENTITY_ID.into(),
                signing_certificates: vec![self.cert_der.clone()],
            }
        }

        /// Fills in the digest and signature value of every signature template in `xml`.
        pub fn sign(&self, xml: &str) -> String {
            let mut keys = KeysManager::new();
            keys.add_key(
                bergshamra_keys::loader::load_rsa_private_pem(self.key_pem.as_bytes()).unwrap(),
            );
            bergshamra_dsig::sign::sign(&DsigContext::new_permissive(keys), xml).unwrap()
        }
    }

    fn iso(millis: i64) -> String {
        Timestamp::from_millis(millis).to_iso8601().unwrap()
    }

    /// An enveloped signature template over the element with ID `id`; `key_info` is embedded.
    pub fn signature(id: &str, method: &str, key_info: Option<&[u8]>) -> String {
        let key_info = key_info.map_or(String::new(), |der| {
            format!(
                "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                STANDARD.encode(der)
            )
        });
        format!(
            r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>{key_info}</ds:Signature>"##
        )
    }

    /// Where the signature template goes.
    #[derive(Clone, Copy, PartialEq)]
    pub enum Signed {
        Assertion,
        Response,
        Nothing,
    }

    /// The assertion element, with `signature` after its issuer.
    pub fn assertion(id: &str, subject: &str, signature: &str, now: i64) -> String {
        let (issued, until) = (iso(now), iso(now + 300_000));
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{ENTITY_ID}</saml:Issuer>{signature}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{subject}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{issued}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>https://signin.aws.amazon.com/saml</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}" SessionNotOnOrAfter="{until}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:saml-provider/MyIdP</saml:AttributeValue></saml:Attribute><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>{subject}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#
        )
    }

    pub fn response_template(signed: Signed, now: i64) -> String {
        let sig = |id: &str, wanted: Signed| {
            if signed == wanted {
                signature(id, RSA_SHA256, None)
            } else {
                String::new()
            }
        };
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_response1" Version="2.0" IssueInstant="{}" Destination="https://signin.aws.amazon.com/saml"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{ENTITY_ID}</saml:Issuer>{}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{}</samlp:Response>"#,
            iso(now),
            sig("_response1", Signed::Response),
            assertion(
                "_assertion1",
                "alice",
                &sig("_assertion1", Signed::Assertion),
                now
            )
        )
    }

    /// Verification for a provider without encryption settings.
    fn check(raw: &str, metadata: &IdpMetadata) -> Result<Assertion, StsError> {
        verify(raw, metadata, &Decryption::none())
    }

    fn b64(xml: &str) -> String {
        STANDARD.encode(xml)
    }

    fn message(result: Result<Assertion, StsError>) -> String {
        match result {
            Err(StsError::InvalidIdentityToken(m)) => m,
            other => panic!("not InvalidIdentityToken: {other:?}"),
        }
    }

    #[test]
    fn a_signed_assertion_or_a_signed_response_verifies() {
        let idp = Idp::new();
        for signed in [Signed::Assertion, Signed::Response] {
            let xml = idp.sign(&response_template(signed, NOW));
            let assertion = check(&b64(&xml), &idp.metadata()).unwrap();
            assert_eq!(assertion.issuer, ENTITY_ID);
            assert_eq!(assertion.subject, "alice");
            assert_eq!(
                assertion.subject_format.as_deref(),
                Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
            );
            assert_eq!(
                assertion.attribute(ROLE_SESSION_NAME_ATTRIBUTE),
                Some(&["alice".to_string()][..])
            );
            assert_eq!(assertion.audiences, ["https://signin.aws.amazon.com/saml"]);
            assert_eq!(
                check_conditions(&assertion, NOW).unwrap(),
                "https://signin.aws.amazon.com/saml"
            );
            // Base64 with line breaks, as IdPs post it, is the same response.
            let wrapped: String = b64(&xml)
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap().to_string() + "\r\n")
                .collect();
            assert_eq!(check(&wrapped, &idp.metadata()).unwrap(), assertion);
        }
    }

    #[test]
    fn tampering_after_signing_breaks_the_signature() {
        let idp = Idp::new();
        for signed in [Signed::Assertion, Signed::Response] {
            let xml = idp.sign(&response_template(signed, NOW));
            for (from, to) in [
                ("role/Admin,", "role/Root,"),
                (">alice</saml:NameID>", ">mallory</saml:NameID>"),
                ("Audience>https://signin", "Audience>https://evil"),
            ] {
                let tampered = xml.replacen(from, to, 1);
                assert_ne!(tampered, xml);
                assert_eq!(
                    message(check(&b64(&tampered), &idp.metadata())),
                    SIGNATURE_INVALID
                );
            }
        }
    }

    #[test]
    fn unsigned_or_signed_by_another_key_is_refused() {
        let idp = Idp::new();
        let unsigned = response_template(Signed::Nothing, NOW);
        assert_eq!(
            message(check(&b64(&unsigned), &idp.metadata())),
            SIGNATURE_INVALID
        );

        // Another key, whose certificate the signature even carries in KeyInfo: only the
        // provider's certificates are trusted.
        let other = Idp::new();
        let template = response_template(Signed::Nothing, NOW).replace(
            "</saml:Issuer><saml:Subject>",
            &format!(
                "</saml:Issuer>{}<saml:Subject>",
                signature("_assertion1", RSA_SHA256, Some(&other.cert_der))
            ),
        );
        let xml = other.sign(&template);
        assert!(check(&b64(&xml), &other.metadata()).is_ok());
        assert_eq!(
            message(check(&b64(&xml), &idp.metadata())),
            SIGNATURE_INVALID
        );
        // No usable certificate in the metadata at all.
        let empty = IdpMetadata {
            entity_id: ENTITY_ID.into(),
            signing_certificates: vec![b"not a certificate".to_vec()],
        };
        assert_eq!(message(check(&b64(&xml), &empty)), SIGNATURE_INVALID);
    }

    #[test]
    fn signature_wrapping_is_refused() {
        let idp = Idp::new();
        let signed = idp.sign(&response_template(Signed::Assertion, NOW));
        let evil = assertion("_evil", "mallory", "", NOW);
        // A second, unsigned assertion before or after the signed one.
        for wrapped in [
            signed.replacen("<saml:Assertion ", &format!("{evil}<saml:Assertion "), 1),
            signed.replacen("</samlp:Response>", &format!("{evil}</samlp:Response>"), 1),
        ] {
            assert!(
                message(check(&b64(&wrapped), &idp.metadata())).contains("exactly one Assertion")
            );
        }
        // The signed assertion moved out of the way (into Extensions), an unsigned one in its place.
        let start = signed.find("<saml:Assertion ").unwrap();
        let original = &signed[start..signed.find("</samlp:Response>").unwrap()];
        let moved = signed.replacen(
            original,
            &format!("<samlp:Extensions>{original}</samlp:Extensions>{evil}"),
            1,
        );
        assert!(check(&b64(&moved), &idp.metadata()).is_err());
        // The signed response's assertion replaced by an unsigned one with the signed one's ID:
        // the response digest no longer matches.
        let signed_response = idp.sign(&response_template(Signed::Response, NOW));
        let start = signed_response.find("<saml:Assertion ").unwrap();
        let original = &signed_response[start..signed_response.find("</samlp:Response>").unwrap()];
        let swapped =
            signed_response.replacen(original, &assertion("_assertion1", "mallory", "", NOW), 1);
        assert_eq!(
            message(check(&b64(&swapped), &idp.metadata())),
            SIGNATURE_INVALID
        );
    }

    #[test]
    fn signatures_count_only_in_their_places() {
        let idp = Idp::new();
        // Both the assertion and the response signed, as some IdPs do: the assertion first, the
        // response's signature then covers it.
        let assertion_signed = idp.sign(&response_template(Signed::Assertion, NOW));
        let both = idp.sign(&assertion_signed.replacen(
            "</saml:Issuer><samlp:Status>",
            &format!(
                "</saml:Issuer>{}<samlp:Status>",
                signature("_response1", RSA_SHA256, None)
            ),
            1,
        ));
        assert!(check(&b64(&both), &idp.metadata()).is_ok());
        // A valid signature repeated, or one where no signature belongs (in the Subject).
        let start = assertion_signed.find("<ds:Signature").unwrap();
        let end = assertion_signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let sig = &assertion_signed[start..end];
        let repeated = assertion_signed.replacen(sig, &format!("{sig}{sig}"), 1);
        assert_eq!(
            message(check(&b64(&repeated), &idp.metadata())),
            SIGNATURE_INVALID
        );
        let misplaced = assertion_signed.replacen(sig, "", 1).replacen(
            "<saml:NameID",
            &format!("{sig}<saml:NameID"),
            1,
        );
        assert_eq!(
            message(check(&b64(&misplaced), &idp.metadata())),
            SIGNATURE_INVALID
        );
        // Many signatures are refused as one is: without checking each of them.
        let many = assertion_signed.replacen(sig, &sig.repeat(500), 1);
        assert_eq!(
            message(check(&b64(&many), &idp.metadata())),
            SIGNATURE_INVALID
        );
    }

    /// One IdP and one response of each kind for every property case: key generation is slow.
    fn signed_responses() -> &'static (IdpMetadata, [String; 2]) {
        static SIGNED: std::sync::OnceLock<(IdpMetadata, [String; 2])> = std::sync::OnceLock::new();
        SIGNED.get_or_init(|| {
            let idp = Idp::new();
            let responses = [Signed::Assertion, Signed::Response]
                .map(|signed| idp.sign(&response_template(signed, NOW)));
            (idp.metadata(), responses)
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever byte of a signed response is changed, verification never panics, fails only
        /// with a client error, and when it succeeds the claims are exactly the signed ones (a
        /// change outside the signed element, or one canonicalization erases). The response's
        /// `Destination` is outside the signed assertion when only that is signed: it may change,
        /// and `check_conditions` still requires it to be AWS's endpoint.
        #[test]
        fn a_changed_byte_never_changes_the_claims(
            which in 0usize..2,
            position in proptest::prelude::any::<proptest::sample::Index>(),
            byte in proptest::prelude::any::<u8>(),
        ) {
            let (metadata, responses) = signed_responses();
            let original = check(&b64(&responses[which]), metadata).unwrap();
            let mut bytes = responses[which].clone().into_bytes();
            let at = position.index(bytes.len());
            bytes[at] = byte;
            match check(&STANDARD.encode(&bytes), metadata) {
                Ok(claims) => proptest::prop_assert_eq!(
                    Assertion { destination: None, ..claims },
                    Assertion { destination: None, ..original }
                ),
                Err(StsError::InvalidIdentityToken(_) | StsError::IDPRejectedClaim(_)) => {}
                Err(other) => proptest::prop_assert!(false, "unexpected error {:?}", other),
            }
        }
    }

    #[test]
    fn only_accepted_algorithms_and_transforms_count() {
        let idp = Idp::new();
        let xpath = response_template(Signed::Assertion, NOW).replace(
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::saml:AttributeStatement)</ds:XPath></ds:Transform></ds:Transforms>"#,
        );
        let xml = idp.sign(&xpath);
        // Bergshamra alone accepts it: the transform allowlist is what refuses it.
        let doc = parse_xml(&xml).unwrap();
        let ctx = DsigContext::new({
            let mut keys = KeysManager::new();
            keys.add_key(bergshamra_keys::loader::load_x509_cert_der(&idp.cert_der).unwrap());
            keys
        });
        let results =
            bergshamra_dsig::verify::verify_all_document_with_source(&ctx, &doc, Some(&xml))
                .unwrap();
        assert!(results.iter().all(VerifyResult::is_valid));
        assert_eq!(
            message(check(&b64(&xml), &idp.metadata())),
            SIGNATURE_INVALID
        );
        // RSA-SHA1, which IdPs still send, is accepted.
        let sha1 = response_template(Signed::Assertion, NOW)
            .replace(RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
        assert!(check(&b64(&idp.sign(&sha1)), &idp.metadata()).is_ok());
    }

    #[test]
    fn malformed_responses_are_invalid_identity_tokens() {
        let idp = Idp::new();
        let doctype = format!(
            "<!DOCTYPE r [<!ENTITY x \"alice\">]>{}",
            idp.sign(&response_template(Signed::Assertion, NOW))
        );
        for raw in [
            String::new(),
            "%%%".into(),
            b64("not xml"),
            b64("<a/>"),
            b64(r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>"#),
            STANDARD.encode([0xff, 0xfe, 0x00]),
            b64(&doctype),
        ] {
            assert!(
                matches!(
                    check(&raw, &idp.metadata()),
                    Err(StsError::InvalidIdentityToken(_))
                ),
                "{raw}"
            );
        }
        let failed = idp.sign(
            &response_template(Signed::Response, NOW).replace("status:Success", "status:Responder"),
        );
        assert!(matches!(
            check(&b64(&failed), &idp.metadata()),
            Err(StsError::IDPRejectedClaim(_))
        ));
        let encrypted = response_template(Signed::Nothing, NOW).replace(
            "</samlp:Response>",
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/></samlp:Response>"#,
        );
        // A plain assertion beside an encrypted one is two assertions.
        assert!(message(check(&b64(&encrypted), &idp.metadata())).contains("exactly one"));
    }

    const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
    const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
    const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
    const RSA_OAEP_11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";

    /// The key pair IAM holds for a provider (`AddPrivateKey`), whose public half the IdP
    /// encrypts to.
    pub struct SpKey {
        pub pem: String,
    }

    impl SpKey {
        pub fn new() -> Self {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
            SpKey {
                pem: key.serialize_pem(),
            }
        }

        pub fn decryption(&self, required: bool) -> Decryption {
            Decryption::new([self.pem.as_str()], required)
        }

        /// `assertion` (an element serialized on its own) as an `EncryptedAssertion`: a fresh
        /// content key with `content`, transported with `transport` (SHA-256 digest for OAEP 1.1).
        pub fn encrypt(&self, assertion: &str, content: &str, transport: &str) -> String {
            use bergshamra_crypto::keytransport::{from_uri_with_params, OaepParams};
            let cipher = bergshamra_crypto::cipher::from_uri(content).unwrap();
            let content_key: Vec<u8> = (0..cipher.key_size()).map(|i| (i * 7 + 3) as u8).collect();
            let ciphertext = cipher.encrypt(&content_key, assertion.as_bytes()).unwrap();
            let (params, digest) = if transport == RSA_OAEP_11 {
                (
                    OaepParams {
                        digest_uri: Some(SHA256.into()),
                        ..OaepParams::default()
                    },
                    format!(
                        r#"<ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="{SHA256}"/>"#
                    ),
                )
            } else {
                (OaepParams::default(), String::new())
            };
            let public = encrypted::tests_support::public_key(&self.pem);
            let wrapped = from_uri_with_params(transport, params)
                .unwrap()
                .encrypt(&public, &content_key)
                .unwrap();
            format!(
                r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="{content}"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="{transport}">{digest}</xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#,
                STANDARD.encode(wrapped),
                STANDARD.encode(ciphertext)
            )
        }
    }

    /// The assertion element of a response, as serialized in it.
    fn assertion_in(response: &str) -> &str {
        let start = response.find("<saml:Assertion ").unwrap();
        let end = response.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        &response[start..end]
    }

    /// A response whose (signed) assertion is encrypted for `sp`.
    fn encrypted_response(idp: &Idp, sp: &SpKey, content: &str, transport: &str) -> String {
        let signed = idp.sign(&response_template(Signed::Assertion, NOW));
        let assertion = assertion_in(&signed).to_string();
        signed.replacen(&assertion, &sp.encrypt(&assertion, content, transport), 1)
    }

    #[test]
    fn an_encrypted_signed_assertion_decrypts_and_verifies() {
        let (idp, sp) = (Idp::new(), SpKey::new());
        let plain = check(
            &b64(&idp.sign(&response_template(Signed::Assertion, NOW))),
            &idp.metadata(),
        )
        .unwrap();
        for content in [AES256_GCM, AES128_CBC] {
            for transport in [RSA_OAEP_MGF1P, RSA_OAEP_11] {
                let xml = encrypted_response(&idp, &sp, content, transport);
                for required in [false, true] {
                    let claims = verify(&b64(&xml), &idp.metadata(), &sp.decryption(required))
                        .unwrap_or_else(|e| panic!("{content} {transport}: {e:?}"));
                    assert_eq!(claims, plain);
                }
            }
        }
        // The response signed instead, its assertion unsigned inside the encryption: the
        // response's signature covers the ciphertext.
        let template = response_template(Signed::Response, NOW);
        let assertion = assertion_in(&template).to_string();
        let xml = idp.sign(&template.replacen(
            &assertion,
            &sp.encrypt(&assertion, AES256_GCM, RSA_OAEP_MGF1P),
            1,
        ));
        assert_eq!(
            verify(&b64(&xml), &idp.metadata(), &sp.decryption(false)).unwrap(),
            plain
        );
    }

    #[test]
    fn the_providers_keys_decide_and_required_refuses_plaintext() {
        let (idp, sp, other) = (Idp::new(), SpKey::new(), SpKey::new());
        let xml = b64(&encrypted_response(&idp, &sp, AES256_GCM, RSA_OAEP_MGF1P));
        // During a rotation the provider holds two keys: either decrypts.
        for pems in [[&sp.pem, &other.pem], [&other.pem, &sp.pem]] {
            let decryption = Decryption::new(pems.map(String::as_str), false);
            assert_eq!(decryption.key_count(), 2);
            assert!(verify(&xml, &idp.metadata(), &decryption).is_ok());
        }
        // The wrong key (the right one removed), or none at all.
        assert_eq!(
            message(verify(&xml, &idp.metadata(), &other.decryption(false))),
            UNDECRYPTABLE
        );
        assert_eq!(
            message(verify(&xml, &idp.metadata(), &Decryption::none())),
            NO_PRIVATE_KEY
        );
        // Required: a plaintext assertion, even correctly signed, is refused.
        let plain = b64(&idp.sign(&response_template(Signed::Assertion, NOW)));
        assert!(verify(&plain, &idp.metadata(), &sp.decryption(false)).is_ok());
        assert_eq!(
            message(verify(&plain, &idp.metadata(), &sp.decryption(true))),
            ENCRYPTION_REQUIRED
        );
        // Keys that are not RSA private keys are not keys.
        let broken = idp.key_pem.replace('A', "B");
        assert_eq!(
            Decryption::new(["not a key", broken.as_str()], false).key_count(),
            0
        );
        assert!(is_rsa_private_key(&sp.pem) && !is_rsa_private_key("-----BEGIN PRIVATE KEY-----"));
        // The Debug form never shows key material.
        assert!(!format!("{:?}", sp.decryption(true)).contains("BEGIN"));
    }

    #[test]
    fn tampered_or_unsupported_encryption_is_refused() {
        let (idp, sp) = (Idp::new(), SpKey::new());
        let decryption = sp.decryption(false);
        for content in [AES256_GCM, AES128_CBC] {
            let xml = encrypted_response(&idp, &sp, content, RSA_OAEP_MGF1P);
            // One byte of the content's ciphertext changed (its last value, before the padding
            // or the tag), and one of the transported key.
            let values: Vec<usize> = xml
                .match_indices("</xenc:CipherValue>")
                .map(|(i, _)| i)
                .collect();
            for at in [values[1] - 5, values[0] - 5] {
                let mut bytes = xml.clone().into_bytes();
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                let tampered = String::from_utf8(bytes).unwrap();
                let refused = message(verify(&b64(&tampered), &idp.metadata(), &decryption));
                assert!(
                    refused == UNDECRYPTABLE || refused == SIGNATURE_INVALID,
                    "{content}: {refused}"
                );
            }
        }
        let xml = encrypted_response(&idp, &sp, AES256_GCM, RSA_OAEP_MGF1P);
        for (from, to) in [
            // RSA PKCS#1 v1.5 key transport, the padding oracle of XML Encryption.
            (RSA_OAEP_MGF1P, "http://www.w3.org/2001/04/xmlenc#rsa-1_5"),
            // Triple DES content.
            (AES256_GCM, "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"),
            // Content encrypted as element content rather than an element.
            ("#Element\"", "#Content\""),
            // The ciphertext by reference: nothing is fetched.
            (
                "<xenc:CipherData><xenc:CipherValue>",
                "<xenc:CipherData><xenc:CipherReference URI=\"https://evil.example.com/c\"/><xenc:CipherValue>",
            ),
        ] {
            let changed = xml.replacen(from, to, 1);
            assert_ne!(changed, xml);
            assert_eq!(
                message(verify(&b64(&changed), &idp.metadata(), &decryption)),
                UNDECRYPTABLE,
                "{to}"
            );
        }
        // Too many encrypted keys to try.
        let start = xml.find("<xenc:EncryptedKey>").unwrap();
        let end = xml.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
        let key = &xml[start..end];
        let many = xml.replacen(key, &key.repeat(3), 1);
        assert_eq!(
            message(verify(&b64(&many), &idp.metadata(), &decryption)),
            UNDECRYPTABLE
        );
        // The encrypted key beside the EncryptedData, as SAML also allows.
        let beside = xml.replacen(key, "", 1).replacen(
            "</xenc:EncryptedData>",
            &format!(
                "</xenc:EncryptedData>{}",
                key.replacen(
                    "<xenc:EncryptedKey>",
                    "<xenc:EncryptedKey xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\">",
                    1
                )
            ),
            1,
        );
        assert!(verify(&b64(&beside), &idp.metadata(), &decryption).is_ok());
    }

    #[test]
    fn the_decrypted_assertion_must_be_signed_and_alone() {
        let (idp, sp) = (Idp::new(), SpKey::new());
        let decryption = sp.decryption(false);
        let encrypt_into = |response: &str, assertion_xml: &str| {
            let original = assertion_in(response).to_string();
            response.replacen(
                &original,
                &sp.encrypt(assertion_xml, AES256_GCM, RSA_OAEP_MGF1P),
                1,
            )
        };
        // The response is not signed, so the ciphertext is unauthenticated: whatever the
        // decrypted content is wrong with, the answer is the decryption's one message (no
        // oracle on what a forged ciphertext decrypted to). Unsigned inside:
        let unsigned = response_template(Signed::Nothing, NOW);
        let xml = encrypt_into(&unsigned, assertion_in(&unsigned));
        assert_eq!(
            message(verify(&b64(&xml), &idp.metadata(), &decryption)),
            UNDECRYPTABLE
        );
        // Signed by a key that is not the provider's.
        let other = Idp::new();
        let foreign = other.sign(&response_template(Signed::Assertion, NOW));
        let xml = encrypt_into(&foreign, assertion_in(&foreign));
        assert_eq!(
            message(verify(&b64(&xml), &idp.metadata(), &decryption)),
            UNDECRYPTABLE
        );
        // The signed assertion wrapping a second, unsigned one (or an encrypted one) inside it.
        let signed = idp.sign(&response_template(Signed::Assertion, NOW));
        let original = assertion_in(&signed).to_string();
        let evil = assertion("_evil", "mallory", "", NOW);
        for smuggled in [evil.clone(), sp.encrypt(&evil, AES256_GCM, RSA_OAEP_MGF1P)] {
            let wrapping = original.replacen(
                "<saml:Subject>",
                &format!("<saml:Advice>{smuggled}</saml:Advice><saml:Subject>"),
                1,
            );
            let xml = encrypt_into(&signed, &wrapping);
            assert_eq!(
                message(verify(&b64(&xml), &idp.metadata(), &decryption)),
                UNDECRYPTABLE
            );
        }
        // A second assertion after the signed one: not one element, so not an assertion.
        let xml = encrypt_into(&signed, &format!("{original}{evil}"));
        assert_eq!(
            message(verify(&b64(&xml), &idp.metadata(), &decryption)),
            UNDECRYPTABLE
        );
        // Something other than an assertion encrypted.
        let xml = encrypt_into(
            &signed,
            "<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">x</saml:Issuer>",
        );
        assert_eq!(
            message(verify(&b64(&xml), &idp.metadata(), &decryption)),
            UNDECRYPTABLE
        );
        // Two encrypted assertions, or one outside the Response's children.
        let one = encrypted_response(&idp, &sp, AES256_GCM, RSA_OAEP_MGF1P);
        let start = one.find("<saml:EncryptedAssertion").unwrap();
        let end =
            one.find("</saml:EncryptedAssertion>").unwrap() + "</saml:EncryptedAssertion>".len();
        let block = &one[start..end];
        for wrapped in [
            one.replacen(block, &block.repeat(2), 1),
            one.replacen(
                block,
                &format!("<samlp:Extensions>{block}</samlp:Extensions>"),
                1,
            ),
        ] {
            assert!(
                message(verify(&b64(&wrapped), &idp.metadata(), &decryption))
                    .contains("exactly one Assertion")
            );
        }
    }

    #[test]
    fn a_signed_response_is_checked_before_decrypting() {
        let (idp, sp) = (Idp::new(), SpKey::new());
        let template = response_template(Signed::Response, NOW);
        let assertion = assertion_in(&template).to_string();
        let xml = idp.sign(&template.replacen(
            &assertion,
            &sp.encrypt(&assertion, AES128_CBC, RSA_OAEP_MGF1P),
            1,
        ));
        // The ciphertext changed under the response's signature: refused as a bad signature,
        // whatever the decryption would have said, and even without any key to decrypt with.
        let at = xml.rfind("</xenc:CipherValue>").unwrap() - 30;
        let mut bytes = xml.into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = b64(&String::from_utf8(bytes).unwrap());
        for decryption in [sp.decryption(false), Decryption::none()] {
            assert_eq!(
                message(verify(&tampered, &idp.metadata(), &decryption)),
                SIGNATURE_INVALID
            );
        }
    }

    fn valid() -> Assertion {
        Assertion {
            issuer: ENTITY_ID.into(),
            subject: "alice".into(),
            destination: Some("https://signin.aws.amazon.com/saml".into()),
            issue_instant_millis: NOW,
            not_before_millis: Some(NOW),
            not_on_or_after_millis: Some(NOW + 300_000),
            audiences: vec!["urn:amazon:webservices".into()],
            confirmations: vec![Confirmation {
                recipient: Some("https://us-east-1.signin.aws.amazon.com/saml".into()),
                not_before_millis: None,
                not_on_or_after_millis: Some(NOW + 300_000),
            }],
            ..Assertion::default()
        }
    }

    fn refused(a: &Assertion, now: i64) -> StsError {
        check_conditions(a, now).unwrap_err()
    }

    #[test]
    fn conditions_are_checked_against_the_request_clock() {
        assert_eq!(
            check_conditions(&valid(), NOW).unwrap(),
            "https://us-east-1.signin.aws.amazon.com/saml"
        );
        // Expired: Conditions or SubjectConfirmationData.
        assert!(
            matches!(refused(&valid(), NOW + 300_000), StsError::ExpiredToken(m) if m == "Response has expired")
        );
        let mut a = valid();
        a.confirmations[0].not_on_or_after_millis = Some(NOW + 1);
        assert!(check_conditions(&a, NOW).is_ok());
        assert!(matches!(refused(&a, NOW + 1), StsError::ExpiredToken(_)));
        // Issued more than five minutes ago, though still within NotOnOrAfter.
        let mut a = valid();
        a.not_on_or_after_millis = Some(NOW + 3_600_000);
        a.confirmations[0].not_on_or_after_millis = Some(NOW + 3_600_000);
        assert!(check_conditions(&a, NOW + 300_000).is_ok());
        assert!(
            matches!(refused(&a, NOW + 300_001), StsError::ExpiredToken(m) if m == "Token must be redeemed within 5 minutes of issuance")
        );
        // Not yet valid, beyond the clock skew allowed.
        let mut a = valid();
        a.not_before_millis = Some(NOW + CLOCK_SKEW_MILLIS + 1);
        assert!(matches!(
            refused(&a, NOW),
            StsError::InvalidIdentityToken(_)
        ));
        a.not_before_millis = Some(NOW + CLOCK_SKEW_MILLIS);
        assert!(check_conditions(&a, NOW).is_ok());
        // SessionNotOnOrAfter already past.
        let mut a = valid();
        a.session_not_on_or_after_millis = Some(NOW);
        assert!(matches!(refused(&a, NOW), StsError::ExpiredToken(_)));
    }

    #[test]
    fn the_response_must_be_addressed_to_aws() {
        for audience in [
            "https://signin.aws.amazon.com/saml",
            "urn:amazon:webservices",
            "https://eu-west-1.signin.aws.amazon.com/saml",
        ] {
            let mut a = valid();
            a.audiences = vec!["https://other.example.com".into(), audience.into()];
            assert!(check_conditions(&a, NOW).is_ok(), "{audience}");
        }
        for audience in [
            "https://signin.aws.amazon.com/saml/",
            "https://evil.com/signin.aws.amazon.com/saml",
            "http://signin.aws.amazon.com/saml",
            "https://.signin.aws.amazon.com/saml",
        ] {
            let mut a = valid();
            a.audiences = vec![audience.into()];
            assert!(
                matches!(refused(&a, NOW), StsError::InvalidIdentityToken(m) if m.contains("Audience")),
                "{audience}"
            );
        }
        let mut a = valid();
        a.audiences.clear();
        assert!(matches!(
            refused(&a, NOW),
            StsError::InvalidIdentityToken(_)
        ));
        let mut a = valid();
        a.confirmations[0].recipient = Some("https://sp.example.com/acs".into());
        assert!(
            matches!(refused(&a, NOW), StsError::InvalidIdentityToken(m) if m.contains("Recipient"))
        );
        let mut a = valid();
        a.confirmations[0].recipient = None;
        assert!(matches!(
            refused(&a, NOW),
            StsError::InvalidIdentityToken(_)
        ));
        let mut a = valid();
        a.confirmations[0].not_on_or_after_millis = None;
        assert!(
            matches!(refused(&a, NOW), StsError::InvalidIdentityToken(m) if m.contains("NotOnOrAfter"))
        );
        let mut a = valid();
        a.confirmations.push(a.confirmations[0].clone());
        assert!(
            matches!(refused(&a, NOW), StsError::InvalidIdentityToken(m) if m.contains("exactly one"))
        );
        let mut a = valid();
        a.destination = Some("https://sp.example.com/acs".into());
        assert!(
            matches!(refused(&a, NOW), StsError::InvalidIdentityToken(m) if m.contains("Destination"))
        );
    }

    #[test]
    fn metadata_gives_the_signing_certificates() {
        let idp = Idp::new();
        let cert = STANDARD.encode(&idp.cert_der);
        // Line-wrapped, as metadata usually has it.
        let wrapped: String = cert
            .as_bytes()
            .chunks(64)
            .map(|c| format!("\n        {}", std::str::from_utf8(c).unwrap()))
            .collect();
        let xml = format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{ENTITY_ID}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{wrapped}
      </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
        );
        let metadata = parse_metadata(&xml).unwrap();
        assert_eq!(metadata.entity_id, ENTITY_ID);
        assert_eq!(
            metadata.signing_certificates,
            vec![idp.cert_der.clone(), idp.cert_der.clone()]
        );
        assert!(parse_metadata("<not-metadata/>").is_none());
        assert!(parse_metadata(
            "<!DOCTYPE x><md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>"
        )
        .is_none());
    }
}
