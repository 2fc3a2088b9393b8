//! Account-wide operations: the account alias (`CreateAccountAlias`, `DeleteAccountAlias`,
//! `ListAccountAliases`) and `GetAccountSummary`.

use std::collections::BTreeMap;

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_policy::limits;
use serde::{Deserialize, Serialize};

use crate::access_keys;
use crate::credentials::KEYS_PER_USER;
use crate::groups::{GroupDoc, GROUPS};
use crate::membership::GROUPS_PER_USER;
use crate::policies::{PolicyDoc, POLICIES};
use crate::policy_entities::all_of;
use crate::policy_versions::MAX_VERSIONS;
use crate::records;
use crate::roles::{RoleDoc, ROLES};
use crate::users::{UserDoc, USERS};
use crate::IamService;

/// Alias → owning account. Aliases are unique across all accounts, as in AWS.
pub const ALIASES: &str = "iam_account_aliases";
/// Account → its alias (an account has at most one).
pub const ALIAS_OF: &str = "iam_account_alias_of";
/// Account → its STS preferences (`SetSecurityTokenServicePreferences`).
pub const STS_PREFERENCES: &str = "iam_sts_preferences";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct StsPreferences {
    /// 1 (tokens valid only in default regions) or 2 (valid in all regions).
    global_endpoint_token_version: i32,
}

pub(crate) async fn set_security_token_service_preferences(
    svc: &IamService,
    ctx: &RequestContext,
    input: SetSecurityTokenServicePreferencesRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let version = match input.global_endpoint_token_version {
        GlobalEndpointTokenVersion::V1Token => 1,
        GlobalEndpointTokenVersion::V2Token => 2,
    };
    svc.write(move |txn| {
        records::put(
            txn,
            STS_PREFERENCES,
            &account,
            &StsPreferences {
                global_endpoint_token_version: version,
            },
        )?;
        Ok(())
    })
    .await
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AliasDoc {
    account_id: String,
    alias: String,
}

pub(crate) async fn create_account_alias(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateAccountAliasRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let alias = input.account_alias.clone();
        if let Some(owner) = records::get::<AliasDoc>(txn, ALIASES, &alias)? {
            if owner.account_id == account {
                return Ok(());
            }
            return Err(IamError::entity_already_exists(format!(
                "The account alias {alias} already exists."
            ))
            .into());
        }
        // An account has one alias: a new one replaces it.
        if let Some(old) = records::get::<AliasDoc>(txn, ALIAS_OF, &account)? {
            txn.delete(ALIASES, &old.alias)?;
        }
        let doc = AliasDoc {
            account_id: account.clone(),
            alias: alias.clone(),
        };
        records::put(txn, ALIASES, &alias, &doc)?;
        records::put(txn, ALIAS_OF, &account, &doc)?;
        Ok(())
    })
    .await
}

pub(crate) async fn delete_account_alias(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteAccountAliasRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let alias = input.account_alias.clone();
        match records::get::<AliasDoc>(txn, ALIASES, &alias)? {
            Some(owner) if owner.account_id == account => {
                txn.delete(ALIASES, &alias)?;
                txn.delete(ALIAS_OF, &account)?;
                Ok(())
            }
            _ => Err(IamError::no_such_entity(format!(
                "The account alias {alias} cannot be found."
            ))
            .into()),
        }
    })
    .await
}

pub(crate) async fn list_account_aliases(
    svc: &IamService,
    ctx: &RequestContext,
    _input: ListAccountAliasesRequest,
) -> Result<ListAccountAliasesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let alias = svc
        .read(move |txn| Ok(records::get::<AliasDoc>(txn, ALIAS_OF, &account)?))
        .await?;
    Ok(ListAccountAliasesResponse {
        account_aliases: alias.map(|a| a.alias).into_iter().collect(),
        is_truncated: Some(false),
        marker: None,
    })
}

/// IAM's default quotas, as `GetAccountSummary` reports them.
const QUOTAS: &[(&str, i32)] = &[
    ("UsersQuota", 5000),
    ("GroupsQuota", 300),
    ("RolesQuota", 1000),
    ("PoliciesQuota", 1500),
    ("InstanceProfilesQuota", 1000),
    ("ServerCertificatesQuota", 20),
    ("SigningCertificatesPerUserQuota", 2),
    ("AttachedPoliciesPerGroupQuota", 10),
    ("AttachedPoliciesPerRoleQuota", 10),
    ("AttachedPoliciesPerUserQuota", 10),
    ("PolicyVersionsInUseQuota", 10000),
];

pub(crate) async fn get_account_summary(
    svc: &IamService,
    ctx: &RequestContext,
) -> Result<GetAccountSummaryResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let summary = svc
        .read(move |txn| {
            let users = all_of::<UserDoc>(txn, USERS, &account)?.len();
            let groups = all_of::<GroupDoc>(txn, GROUPS, &account)?.len();
            let roles = all_of::<RoleDoc>(txn, ROLES, &account)?.len();
            let policies = all_of::<PolicyDoc>(txn, POLICIES, &account)?;
            let root_keys = access_keys::ids_of(txn, &account, None)?.len();
            let (mfa_devices, mfa_in_use) = crate::mfa::counts(txn, &account)?;
            let token_version = records::get::<StsPreferences>(txn, STS_PREFERENCES, &account)?
                .map_or(1, |p| p.global_endpoint_token_version);
            let mut map: BTreeMap<String, i32> = BTreeMap::new();
            let mut set = |k: &str, v: usize| {
                map.insert(k.to_string(), i32::try_from(v).unwrap_or(i32::MAX));
            };
            set("Users", users);
            set("Groups", groups);
            set("Roles", roles);
            set("Policies", policies.len());
            set(
                "PolicyVersionsInUse",
                policies
                    .iter()
                    .filter(|p| p.attachment_count > 0)
                    .map(|p| p.versions.len())
                    .sum(),
            );
            set("AccountAccessKeysPresent", usize::from(root_keys > 0));
            set("MFADevices", mfa_devices);
            set("MFADevicesInUse", mfa_in_use);
            for zero in [
                "InstanceProfiles",
                "Providers",
                "ServerCertificates",
                "AccountMFAEnabled",
                "AccountPasswordPresent",
                "AccountSigningCertificatesPresent",
            ] {
                set(zero, 0);
            }
            set("UserPolicySizeQuota", limits::USER_INLINE);
            set("GroupPolicySizeQuota", limits::GROUP_INLINE);
            set("RolePolicySizeQuota", limits::ROLE_INLINE);
            set("PolicySizeQuota", limits::MANAGED_POLICY);
            set("AssumeRolePolicySizeQuota", limits::TRUST_POLICY);
            set("AccessKeysPerUserQuota", KEYS_PER_USER);
            set("GroupsPerUserQuota", GROUPS_PER_USER);
            set("VersionsPerPolicyQuota", MAX_VERSIONS);
            for (k, v) in QUOTAS {
                map.insert((*k).to_string(), *v);
            }
            map.insert("GlobalEndpointTokenVersion".to_string(), token_version);
            Ok(map)
        })
        .await?;
    Ok(GetAccountSummaryResponse {
        summary_map: Some(summary),
    })
}
