//! `AssumeRoleWithSAML`: a role session for the user a SAML 2.0 identity provider vouches for.
//! The request is unsigned: the IdP's signed `Response` is the caller's only credential. It is
//! checked against the metadata registered with IAM `CreateSAMLProvider` (`coffer_saml`),
//! must name the role and the provider in its `Role` attribute, and the role's trust policy then
//! decides with the `saml:*` condition keys, as on AWS.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use coffer_model::context::RequestContext;
use coffer_model::sts::*;
use coffer_policy::{
    evaluate, AttachedPolicy, ContextValue, Policy, PolicyKind, PolicySet, PolicySource,
    PrincipalType, Request,
};
use sha1::{Digest, Sha1};

use crate::access::parse_role_arn;
use crate::assume_role::DEFAULT_DURATION;
use crate::common::*;
use crate::sessions::{SessionDoc, SessionKind, SessionRole};
use crate::StsService;
use coffer_saml::{
    check_conditions, invalid, Assertion, Decryption, PRINCIPAL_TAG_ATTRIBUTE_PREFIX,
    ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE, SOURCE_IDENTITY_ATTRIBUTE,
    TRANSITIVE_TAG_KEYS_ATTRIBUTE,
};

const NAMEID_FORMAT_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";

/// SAML attributes AWS exposes as `saml:` condition keys under a friendly name (IAM User Guide,
/// "Available keys for SAML-based federation"): eduPerson and the common X.500 / LDAP ones.
const ATTRIBUTE_KEYS: [(&str, &str); 8] = [
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
        "saml:edupersonaffiliation",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        "saml:edupersonprincipalname",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.7",
        "saml:edupersonentitlement",
    ),
    ("urn:oid:2.5.4.3", "saml:cn"),
    ("urn:oid:2.5.4.42", "saml:givenName"),
    ("urn:oid:2.5.4.4", "saml:sn"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "saml:mail"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "saml:uid"),
];

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
                coffer_iam::roles::find(txn, &account, &role_name)?,
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
        .filter(|r| r.path == role_arn.path)
        .ok_or_else(not_authorized)?;

    // The trust policy decides, with the provider as the (federated) principal.
    let subject_type = subject_type(assertion.subject_format.as_deref());
    let name_qualifier = name_qualifier(&assertion.issuer, &role_arn.account, &provider.name);
    let trust = Policy::parse(&role.assume_role_policy, PolicyKind::Trust)
        .map_err(|_| StsError::Other(coffer_model::AwsError::internal()))?;
    let trust = AttachedPolicy::new("TrustPolicy", PolicySource::Resource, trust);
    let request_for = |action: &str| {
        let mut principal = coffer_policy::Principal::new(
            PrincipalType::Federated,
            provider_arn.clone(),
            &role_arn.account,
            &assertion.subject,
        );
        principal.provider = Some(provider_arn.clone());
        let mut request = Request::new(principal, action, Some(&input.role_arn))
            .with_time_millis(ctx.now_millis)
            .with_secure_transport(ctx.secure_transport)
            .with_value("saml:aud", ContextValue::string(&recipient))
            .with_value("saml:sub", ContextValue::string(&assertion.subject))
            .with_value("saml:sub_type", ContextValue::string(&subject_type))
            .with_value("saml:iss", ContextValue::string(&assertion.issuer))
            .with_value("saml:namequalifier", ContextValue::string(&name_qualifier))
            .with_value(
                "saml:doc",
                ContextValue::string(format!("{}/{}", role_arn.account, provider.name)),
            )
            .with_value("aws:FederatedProvider", ContextValue::string(&provider_arn));
        for (attribute, key) in ATTRIBUTE_KEYS {
            if let Some(values) = assertion.attribute(attribute) {
                request =
                    request.with_values(key, values.iter().map(ContextValue::string).collect());
            }
        }
        if let Some(source) = &source_identity {
            request = request.with_value("sts:SourceIdentity", ContextValue::string(source));
        }
        for tag in &tags {
            request = request.with_value(
                &format!("aws:RequestTag/{}", tag.key),
                ContextValue::string(&tag.value),
            );
        }
        if !tags.is_empty() {
            request = request.with_values(
                "aws:TagKeys",
                tags.iter().map(|t| ContextValue::string(&t.key)).collect(),
            );
        }
        if !transitive_tag_keys.is_empty() {
            request = request.with_values(
                "sts:TransitiveTagKeys",
                transitive_tag_keys
                    .iter()
                    .map(ContextValue::string)
                    .collect(),
            );
        }
        if let Some(ip) = ctx.source_ip {
            request = request.with_source_ip(ip);
        }
        request
    };
    let set = PolicySet {
        trust: Some(&trust),
        resource_account: Some(&role_arn.account),
        ..PolicySet::default()
    };
    if !evaluate(&request_for("sts:AssumeRoleWithSAML"), &set).is_allowed() {
        return Err(not_authorized());
    }
    // A source identity is set only if the trust policy also allows `sts:SetSourceIdentity`.
    if source_identity.is_some()
        && !evaluate(&request_for("sts:SetSourceIdentity"), &set).is_allowed()
    {
        return Err(access_denied(
            "Not authorized to perform sts:SetSourceIdentity",
        ));
    }
    // Session tags need `sts:TagSession` too.
    if !tags.is_empty() && !evaluate(&request_for("sts:TagSession"), &set).is_allowed() {
        return Err(access_denied("Not authorized to perform sts:TagSession"));
    }

    let mut duration = i64::from(input.duration_seconds.unwrap_or(DEFAULT_DURATION));
    if duration > i64::from(role.max_session_duration) {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    // AWS: the session lasts DurationSeconds "or until the time specified in the SAML
    // authentication response's SessionNotOnOrAfter value, whichever is shorter".
    if let Some(end) = assertion.session_not_on_or_after_millis {
        duration = duration.min((end - ctx.now_millis).div_euclid(1000)).max(1);
    }
    let policies = session_policies(input.policy.as_deref(), input.policy_arns.as_deref())?;
    let tag_pairs: Vec<(String, String)> = tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    let packed = packed_size(&policies, &tag_pairs)?;
    let arn = format!(
        "arn:aws:sts::{}:assumed-role/{}/{}",
        role_arn.account, role.name, session_name
    );
    let id = format!("{}:{}", role.role_id, session_name);
    let (issued, expires) = expiry(ctx, duration);
    let passed_any =
        !policies.inline.is_empty() || !policies.arns.is_empty() || !tag_pairs.is_empty();
    let doc = SessionDoc {
        kind: SessionKind::AssumedRole,
        account_id: role_arn.account.clone(),
        arn: arn.clone(),
        user_id: id.clone(),
        issued_at_millis: issued,
        expires_at_millis: expires,
        role: Some(SessionRole {
            name: role.name.clone(),
            path: role.path.clone(),
            role_id: role.role_id.clone(),
        }),
        user_name: None,
        source_user_id: None,
        source_arn: Some(provider_arn),
        session_policies: policies.inline,
        policy_arns: policies.arns,
        tags: tag_pairs,
        transitive_tag_keys,
        source_identity: source_identity.clone(),
        mfa_authenticated_at_millis: None,
        chained: false,
    };
    let credentials = issue(svc, doc).await?;
    Ok(AssumeRoleWithSAMLResponse {
        credentials: Some(credentials),
        assumed_role_user: Some(AssumedRoleUser {
            assumed_role_id: id,
            arn,
        }),
        packed_policy_size: passed_any.then_some(packed),
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
