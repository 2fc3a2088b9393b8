//! What the checks know of AWS: the action names of every service, and, for the services the
//! Service Authorization Reference given covers, each action's resource types and condition keys
//! and each resource type's ARN format. The caller builds it from its copy of AWS's data; the
//! policy engine reads no files.

use std::collections::{HashMap, HashSet};

use super::pattern::{self, Token};
use crate::matching::glob::{Case, Pattern, Wildcards};

/// One service of the Service Authorization Reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDefinition {
    /// The action prefix, `secretsmanager`.
    pub prefix: String,
    /// The service's page of the reference, linked from findings about it.
    pub authorization_url: String,
    pub actions: Vec<ActionDefinition>,
    pub resource_types: Vec<ResourceTypeDefinition>,
    /// Every condition key the service defines (`secretsmanager:SecretId`,
    /// `aws:ResourceTag/${TagKey}`, …).
    pub condition_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDefinition {
    /// As AWS spells it: `GetSecretValue`.
    pub name: String,
    /// The resource types (names from the service's `resource_types`) the action is authorized
    /// against; empty when it is authorized only against `*`.
    pub resource_types: Vec<String>,
    /// The condition keys the action supplies besides those of its resource types.
    pub condition_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceTypeDefinition {
    pub name: String,
    /// `arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}`.
    pub arn_format: String,
    /// Condition keys every action authorized against this type supplies.
    pub condition_keys: Vec<String>,
}

/// The reference data, compiled for the checks.
#[derive(Debug, Clone)]
pub struct Reference {
    /// Lower-cased service prefix → lower-cased action names, for every service AWS has.
    action_names: HashMap<String, HashSet<String>>,
    /// Lower-cased prefix → a service the Service Authorization Reference covers.
    services: HashMap<String, Service>,
    /// The ARN formats of every covered resource type, by the service named in the ARN (STS's
    /// `role` type is an `iam` ARN).
    arn_formats: HashMap<String, Vec<Vec<Token>>>,
}

#[derive(Debug, Clone)]
pub(super) struct Service {
    pub prefix: String,
    pub authorization_url: String,
    pub actions: Vec<Action>,
    /// The service's own keys (those with its prefix), for "does this key exist".
    keys: Vec<Vec<Token>>,
}

#[derive(Debug, Clone)]
pub(super) struct Action {
    /// `secretsmanager:GetSecretValue`.
    pub qualified_name: String,
    name_lower: String,
    /// ARN formats of the resource types it is authorized against; none for `*` only.
    resource_formats: Vec<Vec<Token>>,
    /// What the action and its resource types supply.
    supplied_keys: Vec<Vec<Token>>,
}

impl Reference {
    /// `action_names`: every service prefix with its action names (AWS's full list);
    /// `services`: the services whose authorization details are known.
    pub fn new(
        action_names: impl IntoIterator<Item = (String, Vec<String>)>,
        services: Vec<ServiceDefinition>,
    ) -> Reference {
        let mut names: HashMap<String, HashSet<String>> = action_names
            .into_iter()
            .map(|(prefix, actions)| {
                (
                    prefix.to_ascii_lowercase(),
                    actions.iter().map(|a| a.to_ascii_lowercase()).collect(),
                )
            })
            .collect();
        let mut arn_formats: HashMap<String, Vec<Vec<Token>>> = HashMap::new();
        let mut compiled = HashMap::new();
        for definition in services {
            let prefix_lower = definition.prefix.to_ascii_lowercase();
            names.entry(prefix_lower.clone()).or_default().extend(
                definition
                    .actions
                    .iter()
                    .map(|a| a.name.to_ascii_lowercase()),
            );
            let resource_types: HashMap<&str, &ResourceTypeDefinition> = definition
                .resource_types
                .iter()
                .map(|r| (r.name.as_str(), r))
                .collect();
            for resource_type in &definition.resource_types {
                if let Some(service) = resource_type.arn_format.split(':').nth(2) {
                    arn_formats
                        .entry(service.to_owned())
                        .or_default()
                        .push(pattern::arn_format(&resource_type.arn_format));
                }
            }
            let own_prefix = format!("{prefix_lower}:");
            let mut keys: Vec<&str> = definition
                .condition_keys
                .iter()
                .map(String::as_str)
                .collect();
            let actions = definition
                .actions
                .iter()
                .map(|action| {
                    let types: Vec<&ResourceTypeDefinition> = action
                        .resource_types
                        .iter()
                        .filter_map(|t| resource_types.get(t.as_str()).copied())
                        .collect();
                    let supplied: Vec<&str> = action
                        .condition_keys
                        .iter()
                        .chain(types.iter().flat_map(|t| t.condition_keys.iter()))
                        .map(String::as_str)
                        .collect();
                    keys.extend(supplied.iter().copied());
                    Action {
                        qualified_name: format!("{}:{}", definition.prefix, action.name),
                        name_lower: action.name.to_ascii_lowercase(),
                        resource_formats: types
                            .iter()
                            .map(|t| pattern::arn_format(&t.arn_format))
                            .collect(),
                        supplied_keys: supplied.into_iter().map(pattern::key_template).collect(),
                    }
                })
                .collect();
            keys.extend(
                definition
                    .resource_types
                    .iter()
                    .flat_map(|t| t.condition_keys.iter().map(String::as_str)),
            );
            let mut seen = HashSet::new();
            let keys = keys
                .into_iter()
                .filter(|k| k.to_ascii_lowercase().starts_with(&own_prefix))
                .filter(|k| seen.insert(k.to_ascii_lowercase()))
                .map(pattern::key_template)
                .collect();
            compiled.insert(
                prefix_lower,
                Service {
                    prefix: definition.prefix,
                    authorization_url: definition.authorization_url,
                    actions,
                    keys,
                },
            );
        }
        Reference {
            action_names: names,
            services: compiled,
            arn_formats,
        }
    }

    /// Whether AWS has a service with this action prefix.
    pub(super) fn knows_service(&self, prefix: &str) -> bool {
        self.action_names.contains_key(&prefix.to_ascii_lowercase())
    }

    /// Whether `name` (which may hold `*` and `?`) names at least one action of `prefix`.
    pub(super) fn names_an_action(&self, prefix: &str, name: &str) -> bool {
        let Some(names) = self.action_names.get(&prefix.to_ascii_lowercase()) else {
            return false;
        };
        if !name.contains(['*', '?']) {
            return names.contains(&name.to_ascii_lowercase());
        }
        let glob = Pattern::compile(name, Wildcards::Glob, Case::Insensitive, false);
        names.iter().any(|n| glob.matches_static(n))
    }

    /// The covered service with this prefix, if the reference covers it.
    pub(super) fn service(&self, prefix: &str) -> Option<&Service> {
        self.services.get(&prefix.to_ascii_lowercase())
    }

    /// The ARN formats of the covered resource types whose ARNs name `service`; `None` when the
    /// reference covers none.
    pub(super) fn arn_formats(&self, service: &str) -> Option<&[Vec<Token>]> {
        self.arn_formats.get(service).map(Vec::as_slice)
    }

    /// Some covered action authorized against a resource the ARN can name, for a finding's advice.
    pub(super) fn an_action_for(&self, resource: &[Token]) -> Option<&Action> {
        let mut services: Vec<&Service> = self.services.values().collect();
        services.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        services
            .into_iter()
            .flat_map(|s| s.actions.iter())
            .find(|a| a.can_name(resource))
    }
}

impl Reference {
    /// Some covered action that supplies the key, preferring the key's own service, for a
    /// finding's advice.
    pub(super) fn an_action_supplying(&self, key: &[Token], key_prefix: &str) -> Option<&Action> {
        if let Some(own) = self.service(key_prefix) {
            if let Some(action) = own.actions.iter().find(|a| a.supplies(key)) {
                return Some(action);
            }
        }
        let mut services: Vec<&Service> = self.services.values().collect();
        services.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        services
            .into_iter()
            .flat_map(|s| s.actions.iter())
            .find(|a| a.supplies(key))
    }
}

impl Service {
    /// The actions `name` (which may hold `*` and `?`) names.
    pub fn actions_named<'a>(&'a self, name: &str) -> Vec<&'a Action> {
        let glob = Pattern::compile(name, Wildcards::Glob, Case::Insensitive, false);
        self.actions
            .iter()
            .filter(|a| glob.matches_static(&a.name_lower))
            .collect()
    }

    /// Whether the service defines the condition key (one with its own prefix).
    pub fn defines_key(&self, key: &[Token]) -> bool {
        self.keys.iter().any(|k| pattern::overlap(key, k))
    }
}

impl Action {
    pub fn supplies(&self, key: &[Token]) -> bool {
        self.supplied_keys.iter().any(|k| pattern::overlap(key, k))
    }

    /// Whether the action is authorized against a resource type whose ARNs `resource` can name.
    pub fn can_name(&self, resource: &[Token]) -> bool {
        self.resource_formats
            .iter()
            .any(|format| pattern::overlap(resource, format))
    }
}
