//! AWS's Service Authorization Reference (`data/aws/service-authorization.json.gz`): for every
//! action, its access level, the resource types it is authorized against (with their ARN formats)
//! and the condition keys it supplies. Each generated operation carries its entry, so an operation
//! the reference does not know fails generation instead of being authorized against a guess.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::model::Result;

/// One row of an action's resource types.
#[derive(Debug, Clone)]
pub struct ResourceRef {
    pub name: String,
    pub required: bool,
    pub arn: String,
    /// The keys the action supplies for this resource type, then the resource type's own.
    pub condition_keys: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ActionRef {
    /// `service:Action`.
    pub action: String,
    /// `Read`, `Write`, `List`, `Tagging`, `Permissions management`.
    pub access_level: String,
    pub resources: Vec<ResourceRef>,
    /// The keys of the reference's row without a resource type: supplied whatever the resource.
    pub condition_keys: Vec<String>,
    pub dependent_actions: Vec<String>,
}

pub struct Reference {
    services: BTreeMap<String, Value>,
}

/// Operations of the models the reference snapshot does not list yet, each with its reason. Only
/// the resource type and access level are given here; ARN formats and keys still come from the
/// reference.
const MISSING: &[(&str, &str, &str, &str)] = &[(
    // Added to the IAM API after the reference snapshot; the reference's other delegation-request
    // actions (Accept/Reject/Get…DelegationRequest) are all authorized against that type.
    "iam",
    "UpdateDelegationRequest",
    "Write",
    "delegation-request",
)];

impl Reference {
    pub fn load(path: &Path) -> Result<Reference> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let root: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let services = root
            .as_object()
            .ok_or_else(|| format!("{}: not an object", path.display()))?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Reference { services })
    }

    /// The entry for operation `operation` of the service with action prefix `prefix`.
    pub fn action(&self, prefix: &str, operation: &str) -> Result<ActionRef> {
        let service = self
            .services
            .get(prefix)
            .ok_or_else(|| format!("the authorization reference has no service {prefix}"))?;
        let resources = service.get("resources").and_then(Value::as_object);
        let resource_arn = |name: &str| -> Result<(String, Vec<String>)> {
            let r = resources
                .and_then(|m| m.get(name))
                .ok_or_else(|| format!("{prefix}: unknown resource type {name}"))?;
            Ok((str_of(r, "arn")?, strings(r.get("condition_keys"))))
        };
        let Some(entry) = service.get("actions").and_then(|a| a.get(operation)) else {
            let (_, _, level, resource) = MISSING
                .iter()
                .find(|(s, op, _, _)| *s == prefix && *op == operation)
                .ok_or_else(|| {
                    format!(
                        "operation {prefix}:{operation} has no entry in the authorization reference \
                         (data/aws/service-authorization.json.gz) and none in MISSING"
                    )
                })?;
            let (arn, keys) = resource_arn(resource)?;
            return Ok(ActionRef {
                action: format!("{prefix}:{operation}"),
                access_level: (*level).to_string(),
                resources: vec![ResourceRef {
                    name: (*resource).to_string(),
                    required: true,
                    arn,
                    condition_keys: keys,
                }],
                condition_keys: Vec::new(),
                dependent_actions: Vec::new(),
            });
        };
        let mut out = ActionRef {
            action: format!("{prefix}:{operation}"),
            access_level: str_of(entry, "access_level")?,
            resources: Vec::new(),
            condition_keys: Vec::new(),
            dependent_actions: Vec::new(),
        };
        let rows = entry
            .get("resource_types")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{prefix}:{operation}: no resource_types"))?;
        for row in rows {
            let name = str_of(row, "resource_type")?;
            let keys = strings(row.get("condition_keys"));
            for d in strings(row.get("dependent_actions")) {
                if !out.dependent_actions.contains(&d) {
                    out.dependent_actions.push(d);
                }
            }
            if name.is_empty() {
                out.condition_keys.extend(keys);
                continue;
            }
            let (arn, own_keys) = resource_arn(&name)?;
            let mut condition_keys = keys;
            for k in own_keys {
                if !condition_keys.contains(&k) {
                    condition_keys.push(k);
                }
            }
            out.resources.push(ResourceRef {
                name,
                required: row.get("required").and_then(Value::as_bool) == Some(true),
                arn,
                condition_keys,
            });
        }
        Ok(out)
    }
}

fn str_of(v: &Value, key: &str) -> Result<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("authorization reference: missing {key}"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
