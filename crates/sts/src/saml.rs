//! `AssumeRoleWithSAML`: a role session for the user a SAML 2.0 identity provider vouches for.
//! The request is unsigned: the IdP's signed `Response` is the caller's only credential. It is
//! checked against the metadata registered with IAM `CreateSAMLProvider` (`coffer_saml`),
//! must name the role and the provider in its `Role` attribute, and the role's trust policy then
//! decides with the `saml:*` condition keys, as on AWS (asked of the server's authorizer, see
//! [`crate::federated`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use coffer_model::access::FederatedCaller;
use coffer_model::context::RequestContext;
use coffer_model::sts::*;
use sha1::{Digest, Sha1};

use crate::access::parse_role_arn;
use crate::common::*;
use crate::federated::{assume_role_federated, find_role, FederatedAssumeRole};
use crate::StsService;
use coffer_saml::{
    check_conditions, invalid, Assertion, Decryption, PRINCIPAL_TAG_ATTRIBUTE_PREFIX,
    ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE, SOURCE_IDENTITY_ATTRIBUTE,
    TRANSITIVE_TAG_KEYS_ATTRIBUTE,
};

const NAMEID_FORMAT_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";

/// SAML attributes AWS exposes as `saml:` condition keys (IAM User Guide, "Available keys for
/// SAML-based AWS STS federation" and its mapping of attributes to trust policy context keys):
/// eduPerson and eduOrg by their object identifiers, the X.500 / LDAP ones, and Active Directory's
/// primary group. An attribute is matched by its `Name`; every value becomes a value of the key
/// (the keys are multivalued). One attribute can feed two keys: AWS documents `cn` both as the
/// eduOrg `saml:cn` and as `saml:commonName`.
const ATTRIBUTE_KEYS: [(&str, &str); 26] = [
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
        "saml:edupersonaffiliation",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "saml:edupersonnickname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "saml:edupersonorgdn"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.4",
        "saml:edupersonorgunitdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.5",
        "saml:edupersonprimaryaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        "saml:edupersonprincipalname",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.7",
        "saml:edupersonentitlement",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.8",
        "saml:edupersonprimaryorgunitdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.9",
        "saml:edupersonscopedaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.10",
        "saml:edupersontargetedid",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.11",
        "saml:edupersonassurance",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.2", "saml:eduorghomepageuri"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.3",
        "saml:eduorgidentityauthnpolicyuri",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.4", "saml:eduorglegalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.5", "saml:eduorgsuperioruri"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.2.1.6",
        "saml:eduorgwhitepagesuri",
    ),
    ("urn:oid:2.5.4.3", "saml:cn"),
    ("urn:oid:2.5.4.3", "saml:commonName"),
    ("urn:oid:2.5.4.41", "saml:name"),
    ("urn:oid:2.5.4.42", "saml:givenName"),
    ("urn:oid:2.5.4.4", "saml:surname"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "saml:mail"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "saml:uid"),
    (
        "urn:oid:0.9.2342.19200300.100.1.45",
        "saml:organizationStatus",
    ),
    ("urn:oid:2.5.4.45", "saml:x500UniqueIdentifier"),
    (
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/primarygroupsid",
        "saml:primaryGroupSID",
    ),
];

/// The condition keys a verified assertion gives the role's trust decision: who it is about and
/// who vouches for it (`saml:sub`, `saml:iss`, …), where it was presented (`saml:aud`, the
/// confirmation's `Recipient`), and the attributes of [`ATTRIBUTE_KEYS`] it carries.
fn trust_keys(
    assertion: &Assertion,
    recipient: &str,
    subject_type: &str,
    name_qualifier: &str,
    doc: &str,
) -> Vec<(String, Vec<String>)> {
    let mut keys: Vec<(String, Vec<String>)> = [
        ("saml:aud", recipient),
        ("saml:sub", &assertion.subject),
        ("saml:sub_type", subject_type),
        ("saml:iss", &assertion.issuer),
        ("saml:namequalifier", name_qualifier),
        ("saml:doc", doc),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), vec![value.to_string()]))
    .collect();
    for (attribute, key) in ATTRIBUTE_KEYS {
        let Some(values) = assertion.attribute(attribute) else {
            continue;
        };
        keys.push((key.to_string(), values.to_vec()));
    }
    keys
}

fn not_authorized() -> StsError {
    access_denied("Not authorized to perform sts:AssumeRoleWithSAML")
}

/// `RoleSessionName` and `SourceIdentity`: `[a-zA-Z_0-9+=,.@-]{2,64}`.
fn is_session_name(value: &str) -> bool {
    (2..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// `saml:namequalifier`: base64(SHA1(issuer + account id + "/" + provider name)), as AWS
/// documents it, so a trust policy can tell apart users of different IdPs with the same `sub`.
pub(crate) fn name_qualifier(issuer: &str, account: &str, provider_name: &str) -> String {
    let digest = Sha1::digest(format!("{issuer}{account}/{provider_name}").as_bytes());
    STANDARD.encode(digest)
}

/// A `NameID` without `Format` has this one (SAML 2.0 core, 8.3.1).
const UNSPECIFIED_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// `SubjectType` and `saml:sub_type`: the `NameID` format without SAML 2.0's prefix
/// (`persistent`, `transient`), any other format as given.
fn subject_type(format: Option<&str>) -> String {
    let format = format.unwrap_or(UNSPECIFIED_FORMAT);
    format
        .strip_prefix(NAMEID_FORMAT_PREFIX)
        .unwrap_or(format)
        .to_string()
}

/// The `Role` attribute holds `role-arn,provider-arn` pairs (either order); one must be this one.
fn names_role(assertion: &Assertion, role_arn: &str, provider_arn: &str) -> Result<(), StsError> {
    let values = assertion.attribute(ROLE_ATTRIBUTE).ok_or_else(|| {
        invalid("Invalid SAML response: it has no https://aws.amazon.com/SAML/Attributes/Role attribute")
    })?;
    let pairs = values.iter().filter_map(|v| {
        let (a, b) = v.split_once(',')?;
        Some((a.trim(), b.trim()))
    });
    for (a, b) in pairs {
        if (a == role_arn && b == provider_arn) || (a == provider_arn && b == role_arn) {
            return Ok(());
        }
    }
    Err(not_authorized())
}

fn single_attribute<'a>(assertion: &'a Assertion, name: &str) -> Result<Option<&'a str>, StsError> {
    match assertion.attribute(name) {
        None => Ok(None),
        Some([one]) => Ok(Some(one.as_str())),
        Some(_) => Err(invalid(format!(
            "Invalid SAML response: the {name} attribute must have exactly one value"
        ))),
    }
}

/// Session tags from `PrincipalTag:<key>` attributes (one value each) and the keys of
/// `TransitiveTagKeys`, with AWS's checks on session tags.
fn session_tags(assertion: &Assertion) -> Result<(Vec<Tag>, Vec<String>), StsError> {
    let mut tags = Vec::new();
    for (name, values) in &assertion.attributes {
        let Some(key) = name.strip_prefix(PRINCIPAL_TAG_ATTRIBUTE_PREFIX) else {
            continue;
        };
        match values.as_slice() {
            [value] if !key.is_empty() => tags.push(Tag {
                key: key.to_string(),
                value: value.clone(),
            }),
            _ => {
                return Err(invalid(format!(
                    "Invalid SAML response: the {name} attribute must have exactly one value"
                )))
            }
        }
    }
    let transitive = assertion
        .attribute(TRANSITIVE_TAG_KEYS_ATTRIBUTE)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    validate_tags(&tags, &transitive)?;
    Ok((tags, transitive))
}

pub(crate) async fn assume_role_with_saml(
    svc: &StsService,
    ctx: &RequestContext,
    input: AssumeRoleWithSAMLRequest,
) -> Result<AssumeRoleWithSAMLResponse, StsError> {
    let role_arn = parse_role_arn(&input.role_arn)
        .map_err(StsError::Other)?
        .ok_or_else(not_authorized)?;
    let (account, role_name, provider_arn) = (
        role_arn.account.clone(),
        role_arn.name.clone(),
        input.principal_arn.clone(),
    );
    let (role, provider) = svc
        .store
        .read(move |txn| {
            Ok::<_, coffer_store::StoreError>((
                find_role(txn, &account, &role_name)?,
                coffer_iam::saml_providers::find(txn, &account, &provider_arn)?,
            ))
        })
        .await
        .map_err(store_failed)?;
    let provider = provider.ok_or_else(|| invalid("Specified provider doesn't exist"))?;
    let decryption = Decryption::new(
        provider
            .private_keys
            .iter()
            .map(|pem| pem.expose().as_str()),
        provider.doc.encryption_required,
    );
    let provider = provider.doc;
    let provider_arn = provider.arn(&role_arn.account);
    let metadata = coffer_saml::parse_metadata(&provider.metadata)
        .ok_or_else(|| invalid("Could not parse metadata"))?;

    let assertion = coffer_saml::verify(input.saml_assertion.expose(), &metadata, &decryption)?;
    if assertion.issuer != metadata.entity_id {
        return Err(invalid("Issuer not present in specified provider"));
    }
    let recipient = check_conditions(&assertion, ctx.now_millis)?;
    names_role(&assertion, &input.role_arn, &provider_arn)?;
    let session_name = single_attribute(&assertion, ROLE_SESSION_NAME_ATTRIBUTE)?
        .ok_or_else(|| invalid("RoleSessionName is required in AuthnResponse"))?
        .to_string();
    if !is_session_name(&session_name) {
        return Err(invalid(
            "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
        ));
    }
    let source_identity =
        single_attribute(&assertion, SOURCE_IDENTITY_ATTRIBUTE)?.map(str::to_string);
    if source_identity
        .as_deref()
        .is_some_and(|s| !is_session_name(s))
    {
        return Err(invalid(
            "SourceIdentity in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
        ));
    }
    let (tags, transitive_tag_keys) = session_tags(&assertion)?;
    let role = role
        .filter(|r| r.role.path == role_arn.path)
        .ok_or_else(not_authorized)?;

    // The trust policy decides, with the provider as the (federated) principal.
    let subject_type = subject_type(assertion.subject_format.as_deref());
    let name_qualifier = name_qualifier(&assertion.issuer, &role_arn.account, &provider.name);
    let doc = format!("{}/{}", role_arn.account, provider.name);
    let provider_keys = trust_keys(&assertion, &recipient, &subject_type, &name_qualifier, &doc);
    let issued = assume_role_federated(
        svc,
        ctx,
        FederatedAssumeRole {
            action: "sts:AssumeRoleWithSAML",
            role_arn: &input.role_arn,
            role,
            caller: FederatedCaller {
                provider_arn,
                account_id: role_arn.account.clone(),
                subject: assertion.subject.clone(),
            },
            provider_keys,
            session_name,
            duration_seconds: input.duration_seconds,
            not_on_or_after_millis: assertion.session_not_on_or_after_millis,
            policy: input.policy.as_deref(),
            policy_arns: input.policy_arns.as_deref(),
            tags: tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
            transitive_tag_keys,
            source_identity: source_identity.clone(),
        },
    )
    .await?;
    Ok(AssumeRoleWithSAMLResponse {
        credentials: Some(issued.credentials),
        assumed_role_user: Some(issued.assumed_role_user),
        packed_policy_size: issued.packed_policy_size,
        subject: Some(assertion.subject.clone()),
        subject_type: Some(subject_type),
        issuer: Some(assertion.issuer.clone()),
        audience: Some(recipient),
        name_qualifier: Some(name_qualifier),
        source_identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/Admin";
    const PROVIDER: &str = "arn:aws:iam::123456789012:saml-provider/MyIdP";

    fn with_roles(values: &[&str]) -> Assertion {
        Assertion {
            attributes: vec![(
                ROLE_ATTRIBUTE.into(),
                values.iter().map(|v| v.to_string()).collect(),
            )],
            ..Assertion::default()
        }
    }

    #[test]
    fn name_qualifier_is_awss_hash() {
        // base64(SHA1("https://idp.example.com/saml" + "123456789012" + "/MyIdP")), computed
        // independently (Python hashlib).
        assert_eq!(
            name_qualifier("https://idp.example.com/saml", "123456789012", "MyIdP"),
            "DDa+0CnEUxG1H2BB9DcVbYqqBms="
        );
    }

    #[test]
    fn subject_type_drops_only_the_saml2_prefix() {
        assert_eq!(
            subject_type(Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")),
            "persistent"
        );
        assert_eq!(subject_type(None), UNSPECIFIED_FORMAT);
        assert_eq!(
            subject_type(Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient")),
            "transient"
        );
        assert_eq!(
            subject_type(Some(
                "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
            )),
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        );
    }

    #[test]
    fn the_role_attribute_must_pair_this_role_with_this_provider() {
        assert!(names_role(
            &with_roles(&[&format!("{ROLE},{PROVIDER}")]),
            ROLE,
            PROVIDER
        )
        .is_ok());
        assert!(names_role(
            &with_roles(&[&format!("{PROVIDER}, {ROLE}")]),
            ROLE,
            PROVIDER
        )
        .is_ok());
        assert!(names_role(
            &with_roles(&["x,y", &format!("{PROVIDER},{ROLE}")]),
            ROLE,
            PROVIDER
        )
        .is_ok());
        for values in [
            vec![ROLE.to_string()],
            vec![format!("{ROLE},{ROLE}")],
            vec![format!(
                "{ROLE},arn:aws:iam::123456789012:saml-provider/Other"
            )],
            vec![format!("{ROLE}x,{PROVIDER}")],
            vec![],
        ] {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            assert!(
                matches!(names_role(&with_roles(&values), ROLE, PROVIDER), Err(StsError::Other(e)) if e.code == "AccessDenied"),
                "{values:?}"
            );
        }
        assert!(matches!(
            names_role(&Assertion::default(), ROLE, PROVIDER),
            Err(StsError::InvalidIdentityToken(_))
        ));
    }

    #[test]
    fn principal_tag_attributes_are_session_tags() {
        let tag = |k: &str| format!("{PRINCIPAL_TAG_ATTRIBUTE_PREFIX}{k}");
        let with = |attributes: Vec<(String, Vec<&str>)>| Assertion {
            attributes: attributes
                .into_iter()
                .map(|(n, vs)| (n, vs.into_iter().map(str::to_string).collect()))
                .collect(),
            ..Assertion::default()
        };
        let (tags, transitive) = session_tags(&with(vec![
            (tag("Team"), vec!["eng"]),
            (tag("Project"), vec!["x"]),
            (TRANSITIVE_TAG_KEYS_ATTRIBUTE.into(), vec!["team"]),
        ]))
        .unwrap();
        assert_eq!(
            tags.iter()
                .map(|t| (t.key.as_str(), t.value.as_str()))
                .collect::<Vec<_>>(),
            [("Team", "eng"), ("Project", "x")]
        );
        assert_eq!(transitive, ["team"]);
        assert_eq!(
            session_tags(&Assertion::default()).unwrap(),
            (vec![], vec![])
        );
        // Two values, an empty key, a key repeated ignoring case, a transitive key with no tag.
        for bad in [
            vec![(tag("Team"), vec!["a", "b"])],
            vec![(tag(""), vec!["a"])],
            vec![(tag("Team"), vec!["a"]), (tag("team"), vec!["b"])],
            vec![
                (tag("Team"), vec!["a"]),
                (TRANSITIVE_TAG_KEYS_ATTRIBUTE.into(), vec!["Other"]),
            ],
        ] {
            assert!(session_tags(&with(bad)).is_err());
        }
    }

    /// The keys of `assertion` presented at `recipient` to provider `MyIdP` of 123456789012, as
    /// `assume_role_with_saml` computes them.
    fn keys_of(assertion: &Assertion, recipient: &str) -> Vec<(String, Vec<String>)> {
        trust_keys(
            assertion,
            recipient,
            &subject_type(assertion.subject_format.as_deref()),
            &name_qualifier(&assertion.issuer, "123456789012", "MyIdP"),
            "123456789012/MyIdP",
        )
    }

    /// Every `saml:` key AWS's Service Authorization Reference lists for `AssumeRoleWithSAML`
    /// reaches the trust decision of an assertion that carries every mapped attribute, with the
    /// attribute's values (the operation's access request cannot carry them: they exist only once
    /// the assertion is verified).
    #[test]
    fn every_saml_key_of_the_reference_is_supplied() {
        let assertion = Assertion {
            issuer: "https://idp.example.com/saml".into(),
            subject: "alice".into(),
            subject_format: Some(format!("{NAMEID_FORMAT_PREFIX}persistent")),
            attributes: ATTRIBUTE_KEYS
                .iter()
                .map(|(name, _)| (name.to_string(), vec![format!("value of {name}")]))
                .collect(),
            ..Assertion::default()
        };
        let keys = keys_of(&assertion, "https://signin.aws.amazon.com/saml");
        let listed: Vec<&str> = reference_condition_keys("AssumeRoleWithSAML")
            .iter()
            .copied()
            .filter(|k| k.starts_with("saml:"))
            .collect();
        assert!(listed.len() >= 30, "{listed:?}");
        for key in &listed {
            let values = key_values(&keys, key).unwrap_or_else(|| panic!("{key} is not supplied"));
            assert!(
                !values.is_empty() && values.iter().all(|v| !v.is_empty()),
                "{key}"
            );
        }
        // Nothing beyond the reference: a key AWS does not know would never match a policy.
        for (key, _) in &keys {
            assert!(listed.contains(&key.as_str()), "{key} is not AWS's");
        }
        let value = |key: &str| key_values(&keys, key).unwrap().to_vec();
        assert_eq!(value("saml:sub_type"), ["persistent"]);
        assert_eq!(value("saml:doc"), ["123456789012/MyIdP"]);
        assert_eq!(value("saml:aud"), ["https://signin.aws.amazon.com/saml"]);
        assert_eq!(value("saml:surname"), ["value of urn:oid:2.5.4.4"]);
        assert_eq!(value("saml:cn"), value("saml:commonName"));
    }

    #[test]
    fn an_attribute_the_assertion_lacks_supplies_no_key() {
        let assertion = Assertion {
            attributes: vec![(
                "urn:oid:1.3.6.1.4.1.5923.1.1.1.1".into(),
                vec!["faculty".into(), "staff".into()],
            )],
            ..Assertion::default()
        };
        let keys = keys_of(&assertion, "r");
        assert_eq!(key_values(&keys, "saml:mail"), None);
        assert_eq!(
            key_values(&keys, "saml:edupersonaffiliation"),
            Some(&["faculty".to_string(), "staff".to_string()][..])
        );
    }

    #[test]
    fn session_names_follow_aws_pattern() {
        for ok in [
            "ab",
            "alice@example.com",
            "a_b+c=d,e.f@g-h",
            &"x".repeat(64),
        ] {
            assert!(is_session_name(ok), "{ok}");
        }
        for bad in ["", "a", "a b", "é1", "a/b", &"x".repeat(65)] {
            assert!(!is_session_name(bad), "{bad}");
        }
    }
}
