//! Authorization of a running server: the caller's identity-based policies (a user's own, its
//! groups', its permissions boundary; a role session's role policies, boundary and session
//! policies) read from the store, and the resource's own policy (a secret's) or, for
//! `sts:AssumeRole`, the role's trust policy, which must always allow; evaluated by the policy
//! engine. The resource's account comes from its ARN, so a cross-account request needs both sides
//! to allow it, as in AWS.
//!
//! `AssumeRoleWithWebIdentity` and `AssumeRoleWithSAML` come here too, from STS once it has
//! verified the token or assertion ([`TrustAuthorizer`]): the identity provider is the principal,
//! with no policies of its own, and the same `PolicyAuthorizer::decide_request` decides with the
//! role's trust policy, so every trust decision follows one set of rules.
//!
//! What a caller may do is compiled once and cached per access key (see [`crate::policy_cache`]):
//! the hot path reads no storage and parses no JSON until an IAM write invalidates it.

use std::sync::Arc;

use coffer_iam::authorization::{IdentityPolicies, POLICY_TABLES};
use coffer_model::access::{
    AccessRequest, Authorizer, BoxFuture, Denial, DenialReason, FederatedCaller, PolicyClass,
    RoleTrust, TrustAuthorizer,
};
use coffer_model::context::{PrincipalKind, RequestContext};
use coffer_model::AwsError;
use coffer_policy::{
    evaluate, AttachedPolicy, ContextValue, DenyReason, Policy, PolicyKind, PolicySet,
    PolicySource, PolicyType, Principal, PrincipalType, Request,
};
use coffer_store::{Store, StoreError, Txn};
use coffer_sts::sessions::{self, SessionDoc, SessionKind};

use crate::denial_explanation;
use crate::policy_cache::{DocumentCache, TableCache};
use coffer_sts::authorization_message::MessageKey;

pub struct PolicyAuthorizer {
    store: Store,
    /// Keyed by access key id and caller ARN: a key belongs to one identity for its whole life,
    /// and a session's stored document never changes.
    callers: TableCache<(String, String), Option<Arc<Caller>>>,
    resource_policies: DocumentCache,
    /// `serve --explain-denials`: policy denials carry an encoded authorization message.
    explain_denials: bool,
}

impl PolicyAuthorizer {
    pub fn new(store: Store) -> Self {
        PolicyAuthorizer {
            callers: TableCache::new(store.clone(), POLICY_TABLES),
            resource_policies: DocumentCache::default(),
            store,
            explain_denials: false,
        }
    }

    /// With `explain`, a denial decided by policies ends with AWS's ` Encoded authorization
    /// failure message: …` that `sts:DecodeAuthorizationMessage` opens (see
    /// [`crate::denial_explanation`]); without it, messages are exactly AWS's.
    pub fn explaining_denials(mut self, explain: bool) -> Self {
        self.explain_denials = explain;
        self
    }

    /// The caller's compiled policies; `None` when the identity behind its key no longer exists.
    async fn caller(&self, ctx: &RequestContext) -> Result<Option<Arc<Caller>>, StoreError> {
        let principal = &ctx.principal;
        let key = (principal.access_key_id.clone(), principal.arn.clone());
        self.callers
            .get_or_load(key, || async {
                let session = if principal
                    .access_key_id
                    .starts_with(sessions::TEMPORARY_KEY_PREFIX)
                {
                    let record = self
                        .store
                        .get(sessions::SESSIONS, &principal.access_key_id)
                        .await?;
                    let Some(record) = record else {
                        return Ok(None);
                    };
                    Some(sessions::from_record(record)?.doc)
                } else {
                    None
                };
                let (kind, account, arn, user_id) = (
                    principal.kind,
                    principal.account_id.clone(),
                    principal.arn.clone(),
                    principal.user_id.clone(),
                );
                let caller = self
                    .store
                    .read(move |txn| {
                        load_caller(txn, kind, &account, &arn, &user_id, session.clone())
                    })
                    .await?;
                Ok(caller.map(Arc::new))
            })
            .await
    }
}

/// Everything a decision needs about the caller, read in one transaction.
struct Caller {
    principal: Principal,
    identity: Vec<AttachedPolicy>,
    boundary: Option<AttachedPolicy>,
    session_policies: Vec<AttachedPolicy>,
    /// A federation token passed without session policies grants nothing.
    session_required: bool,
    /// Temporary credentials: what they were issued as.
    session: Option<SessionDoc>,
    /// How AWS words this caller's denials.
    wording: Wording,
}

/// AWS words a denial differently for a caller that signed its request and for one an identity
/// provider vouches for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wording {
    /// `User: <arn> is not authorized to perform: <action> on resource: <arn> because …`.
    Signed,
    /// `Not authorized to perform <action>` (`AssumeRoleWithWebIdentity`, `AssumeRoleWithSAML`).
    Federated,
}

impl Caller {
    /// The identity provider's user: no policies of its own, so the role's trust policy decides.
    fn federated(caller: &FederatedCaller) -> Self {
        let mut principal = Principal::new(
            PrincipalType::Federated,
            caller.provider_arn.clone(),
            &caller.account_id,
            &caller.subject,
        );
        principal.provider = Some(caller.provider_arn.clone());
        Caller {
            principal,
            identity: Vec::new(),
            boundary: None,
            session_policies: Vec::new(),
            session_required: false,
            session: None,
            wording: Wording::Federated,
        }
    }

    /// AWS's denial of `action` on `resource` to this caller, for `reason`.
    fn denied(&self, action: &str, resource: Option<&str>, reason: DenyReason) -> Denial {
        denied(self.wording, &self.principal.arn, action, resource, reason)
    }
}

fn unavailable(ctx: &RequestContext, e: StoreError) -> Denial {
    tracing::error!(request_id = %ctx.request_id, error = %e, "loading policies failed");
    Denial::Failed(AwsError::new(
        503,
        "ServiceUnavailable",
        "The service is unavailable. Please try again later.",
    ))
}

impl Authorizer for PolicyAuthorizer {
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestContext,
        request: &'a AccessRequest,
    ) -> BoxFuture<'a, Result<(), Denial>> {
        Box::pin(async move {
            let principal = &ctx.principal;
            // Unsigned federation calls prove the caller's identity inside the operation, which
            // then asks for the role's trust decision (`TrustAuthorizer`).
            if principal.kind == PrincipalKind::Anonymous {
                return Ok(());
            }
            let caller = self.caller(ctx).await.map_err(|e| unavailable(ctx, e))?;
            // An identity deleted after its key authenticated has no permissions at all.
            let Some(caller) = caller else {
                return Err(implicit_denial(ctx, request));
            };
            if let Some(session) = &caller.session {
                if let Some(denial) = session_restriction(session, &request.action) {
                    return Err(denial);
                }
            }
            // No permission is needed to authenticate with MFA: policies cannot control it.
            if request.action == "sts:GetSessionToken" {
                return Ok(());
            }
            self.decide_request(ctx, &caller, request)
        })
    }
}

impl TrustAuthorizer for PolicyAuthorizer {
    fn authorize_federated<'a>(
        &'a self,
        ctx: &'a RequestContext,
        caller: &'a FederatedCaller,
        request: &'a AccessRequest,
    ) -> BoxFuture<'a, Result<(), Denial>> {
        Box::pin(async move {
            let caller = Caller::federated(caller);
            // Only a role's trust policy can let an identity provider's user in: a request
            // without one is refused, whatever it names.
            if request.role_trust.is_none() {
                return Err(caller.denied(
                    &request.action,
                    request.resource.as_deref(),
                    DenyReason::Implicit(PolicyType::TrustPolicy),
                ));
            }
            self.decide_request(ctx, &caller, request)
        })
    }
}

impl PolicyAuthorizer {
    /// The decision on `request` by `caller`, once its session rules passed: the caller's
    /// policies with the resource's policy or the role's trust policy, for the request's action
    /// and those AWS authorizes with it ([`actions`]). Signed and federated callers alike.
    fn decide_request(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        request: &AccessRequest,
    ) -> Result<(), Denial> {
        let compile = |doc: &str, kind: PolicyKind| {
            self.resource_policies
                .compile("ResourcePolicy", doc, kind)
                .map_err(|e| {
                    tracing::error!(
                        request_id = %ctx.request_id,
                        error = %e.message(),
                        "a stored resource or trust policy does not parse"
                    );
                    Denial::Failed(AwsError::internal())
                })
        };
        let resource_policy = request
            .resource_policy
            .as_deref()
            .map(|doc| compile(doc, PolicyKind::Resource))
            .transpose()?;
        let trust_policy = match &request.role_trust {
            None => None,
            Some(RoleTrust {
                document: Some(doc),
            }) => Some(compile(doc, PolicyKind::Trust)?),
            // No role, so no trust policy that could allow assuming it.
            Some(RoleTrust { document: None }) => {
                return Err(caller.denied(
                    &request.action,
                    request.resource.as_deref(),
                    DenyReason::Implicit(PolicyType::TrustPolicy),
                ))
            }
        };
        let resource_account = request.resource.as_deref().and_then(arn_account);

        let context = caller
            .session
            .as_ref()
            .map(|s| session_context(s, ctx.now_millis))
            .unwrap_or_default();
        let set = PolicySet {
            identity: &caller.identity,
            boundary: caller.boundary.as_ref(),
            resource: resource_policy.as_deref(),
            trust: trust_policy.as_deref(),
            resource_account: resource_account.as_deref(),
            session: &caller.session_policies,
        };
        for action in actions(request) {
            let engine = engine_request(ctx, request, &action, caller, &context);
            if caller.session_required && caller.session_policies.is_empty() {
                return Err(caller.denied(
                    &action,
                    request.resource.as_deref(),
                    DenyReason::Implicit(PolicyType::SessionPolicy),
                ));
            }
            let explainer = self.explain_denials.then_some(&self.store);
            decide(&engine, &set, caller, request, explainer)?;
        }
        Ok(())
    }
}

/// The request's action, and those AWS also authorizes with it: passing session tags needs
/// `sts:TagSession`, a source identity `sts:SetSourceIdentity` (for a federated caller, in the
/// role's trust policy).
fn actions(request: &AccessRequest) -> Vec<String> {
    let mut actions = vec![request.action.clone()];
    let has = |key: &str| {
        request
            .conditions
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(key))
    };
    let assumes_role = matches!(
        request.action.as_str(),
        "sts:AssumeRole" | "sts:AssumeRoleWithSAML" | "sts:AssumeRoleWithWebIdentity"
    );
    if (assumes_role || request.action == "sts:GetFederationToken") && has("aws:TagKeys") {
        actions.push("sts:TagSession".to_string());
    }
    if assumes_role && has("sts:SourceIdentity") {
        actions.push("sts:SetSourceIdentity".to_string());
    }
    actions
}

/// What temporary credentials may not do whatever the policies say.
fn session_restriction(session: &SessionDoc, action: &str) -> Option<Denial> {
    let denied = |op: &str| {
        Some(Denial::Restricted(AwsError::new(
            403,
            "AccessDenied",
            format!("Cannot call {op} with session credentials"),
        )))
    };
    // IAM answers as for an invalid token (observed with session tokens without MFA).
    let invalid_token = || {
        Some(Denial::Restricted(AwsError::new(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid",
        )))
    };
    let sts_op = action.strip_prefix("sts:");
    if let Some(op @ ("GetSessionToken" | "GetFederationToken")) = sts_op {
        return denied(op);
    }
    match session.kind {
        SessionKind::AssumedRole => None,
        SessionKind::SessionToken => {
            if action.starts_with("iam:") && session.mfa_authenticated_at_millis.is_none() {
                return invalid_token();
            }
            match sts_op {
                Some(op) if op != "AssumeRole" => denied(op),
                _ => None,
            }
        }
        // What the delegated permissions allow, as for the identity that accepted them.
        SessionKind::Delegated => None,
        SessionKind::FederatedUser => {
            if action.starts_with("iam:") {
                return invalid_token();
            }
            sts_op.and_then(denied)
        }
    }
}

/// The 12-digit account of an ARN (`arn:aws:iam::aws:policy/…` and the like have none).
fn arn_account(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| account.to_string())
}

fn user_path_and_name(arn: &str) -> &str {
    arn.split_once(":user/")
        .map(|(_, rest)| rest)
        .unwrap_or_default()
}

fn session_policies(
    txn: &mut dyn Txn,
    account: &str,
    session: &SessionDoc,
) -> Result<Vec<AttachedPolicy>, StoreError> {
    let mut out = Vec::new();
    for (i, doc) in session.session_policies.iter().enumerate() {
        let policy = Policy::parse(doc, PolicyKind::Session)
            .map_err(|e| StoreError::Corrupt(format!("stored session policy: {}", e.message())))?;
        out.push(AttachedPolicy::new(
            format!("SessionPolicy{}", i + 1),
            PolicySource::None,
            policy,
        ));
    }
    for arn in &session.policy_arns {
        // A managed session policy deleted since grants nothing, but still narrows the session.
        let found = coffer_iam::policies::find_by_arn(txn, account, arn)?;
        let document = found.as_ref().and_then(|p| p.default_document());
        let policy = match document {
            Some(doc) => Policy::parse(doc, PolicyKind::Identity)
                .map_err(|e| StoreError::Corrupt(format!("stored policy {arn}: {}", e.message())))?,
            None => Policy::parse(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"*","Resource":"*"}]}"#,
                PolicyKind::Session,
            )
            .map_err(|e| StoreError::Corrupt(e.message().to_string()))?,
        };
        let source = if found.is_some_and(|p| p.aws_managed) {
            PolicySource::AwsManaged
        } else {
            PolicySource::UserManaged
        };
        out.push(AttachedPolicy::new(arn.clone(), source, policy));
    }
    Ok(out)
}

/// The identity policies (and tags) of a user, or of the account root (who may do anything in
/// its account).
fn long_term_identity(
    txn: &mut dyn Txn,
    account: &str,
    user_name: Option<&str>,
) -> Result<Option<IdentityPolicies>, StoreError> {
    match user_name {
        Some(name) => coffer_iam::authorization::user_policies(txn, account, name),
        None => Ok(Some(IdentityPolicies {
            unique_id: account.to_string(),
            identity: Vec::new(),
            boundary: None,
            tags: Vec::new(),
        })),
    }
}

fn session_context(session: &SessionDoc, now_millis: i64) -> Vec<(String, ContextValue)> {
    let mut context = vec![
        (
            "aws:TokenIssueTime".to_string(),
            ContextValue::date_millis(session.issued_at_millis),
        ),
        (
            "aws:MultiFactorAuthPresent".to_string(),
            ContextValue::boolean(session.mfa_authenticated_at_millis.is_some()),
        ),
    ];
    if let Some(at) = session.mfa_authenticated_at_millis {
        context.push((
            "aws:MultiFactorAuthAge".to_string(),
            ContextValue::number(((now_millis - at) / 1000).max(0).to_string()),
        ));
    }
    if let Some(source) = &session.source_identity {
        context.push((
            "aws:SourceIdentity".to_string(),
            ContextValue::string(source.clone()),
        ));
    }
    context
}

/// `None` when the identity behind the caller no longer exists.
fn load_caller(
    txn: &mut dyn Txn,
    kind: PrincipalKind,
    account: &str,
    arn: &str,
    user_id: &str,
    session_doc: Option<SessionDoc>,
) -> Result<Option<Caller>, StoreError> {
    let Some(session) = session_doc
        .as_ref()
        .filter(|s| s.kind != SessionKind::SessionToken)
    else {
        // Long-term keys, or a session token: the user (or root) itself.
        let (mut principal, user_name) = match kind {
            PrincipalKind::Root => (Principal::root(account), None),
            _ => {
                let p = Principal::user(account, user_path_and_name(arn), user_id);
                let name = p.username.clone();
                (p, name)
            }
        };
        let Some(policies) = long_term_identity(txn, account, user_name.as_deref())? else {
            return Ok(None);
        };
        // Keys and session tokens belong to the user they were issued to, by unique id: a user
        // deleted and re-created under the same name is another user.
        if user_name.is_some() && policies.unique_id != user_id {
            return Ok(None);
        }
        // A user's tags are its `aws:PrincipalTag/*`.
        principal.tags = policies.tags;
        return Ok(Some(Caller {
            principal,
            identity: policies.identity,
            boundary: policies.boundary,
            session_policies: Vec::new(),
            session_required: false,
            session: session_doc,
            wording: Wording::Signed,
        }));
    };
    let session_policies = session_policies(txn, account, session)?;
    match session.kind {
        SessionKind::AssumedRole => {
            let Some(role_ref) = &session.role else {
                return Ok(None);
            };
            let Some(role) = coffer_iam::roles::find(txn, account, &role_ref.name)? else {
                return Ok(None);
            };
            // A role deleted and re-created under the same name is another role.
            if role.role_id != role_ref.role_id {
                return Ok(None);
            }
            let Some(policies) =
                coffer_iam::authorization::role_policies(txn, account, &role.name)?
            else {
                return Ok(None);
            };
            let session_name = arn.rsplit('/').next().unwrap_or_default();
            let mut principal = Principal::assumed_role(
                account,
                &format!("{}{}", role.path, role.name),
                session_name,
                &role.role_id,
            );
            // Session tags override the role's tags of the same key.
            for tag in &role.tags {
                if !session
                    .tags
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case(&tag.key))
                {
                    principal.tags.push((tag.key.clone(), tag.value.clone()));
                }
            }
            principal.tags.extend(session.tags.iter().cloned());
            Ok(Some(Caller {
                principal,
                identity: policies.identity,
                boundary: policies.boundary,
                session_policies,
                session_required: false,
                session: session_doc.clone(),
                wording: Wording::Signed,
            }))
        }
        SessionKind::FederatedUser => {
            let Some(policies) = long_term_identity(txn, account, session.user_name.as_deref())?
            else {
                return Ok(None);
            };
            // The token ends with the user that obtained it (by unique id, not by name).
            if session.user_name.is_some()
                && session.source_user_id.as_deref() != Some(policies.unique_id.as_str())
            {
                return Ok(None);
            }
            let (mut identity, boundary) = (policies.identity, policies.boundary);
            if session.user_name.is_none() {
                // A federation token of the root user: root's own permissions, i.e. everything.
                identity.push(root_permissions()?);
            }
            let name = arn.rsplit('/').next().unwrap_or_default();
            let source = session.source_arn.clone().unwrap_or_default();
            let mut principal = Principal::federated_user(account, name, &source);
            principal.tags.extend(session.tags.iter().cloned());
            Ok(Some(Caller {
                principal,
                identity,
                boundary,
                session_policies,
                session_required: true,
                session: session_doc.clone(),
                wording: Wording::Signed,
            }))
        }
        SessionKind::Delegated => {
            let Some(policies) = long_term_identity(txn, account, session.user_name.as_deref())?
            else {
                return Ok(None);
            };
            // Delegated credentials end with the user that accepted the request (by unique id).
            if session.user_name.is_some()
                && session.source_user_id.as_deref() != Some(policies.unique_id.as_str())
            {
                return Ok(None);
            }
            let (mut identity, boundary) = (policies.identity, policies.boundary);
            let mut principal = match session.user_name {
                Some(_) => Principal::user(account, user_path_and_name(arn), user_id),
                None => {
                    identity.push(root_permissions()?);
                    Principal::root(account)
                }
            };
            principal.tags = policies.tags;
            Ok(Some(Caller {
                principal,
                identity,
                boundary,
                session_policies,
                // The delegated permissions always narrow the session.
                session_required: true,
                session: session_doc.clone(),
                wording: Wording::Signed,
            }))
        }
        // Session tokens are resolved before this match; should one ever reach it, the caller is
        // unknown and the request is refused (fail closed) rather than the server panicking.
        SessionKind::SessionToken => Ok(None),
    }
}

/// The root user's own permissions, i.e. everything in its account, as a policy a session
/// policy can narrow.
fn root_permissions() -> Result<AttachedPolicy, StoreError> {
    let everything = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .map_err(|e| StoreError::Corrupt(e.message().to_string()))?;
    Ok(AttachedPolicy::new("root", PolicySource::None, everything))
}

fn engine_request(
    ctx: &RequestContext,
    request: &AccessRequest,
    action: &str,
    caller: &Caller,
    context: &[(String, ContextValue)],
) -> Request {
    let mut engine_request = Request::new(
        caller.principal.clone(),
        action,
        request.resource.as_deref(),
    )
    .with_secure_transport(ctx.secure_transport)
    .with_time_millis(ctx.now_millis)
    .with_region(&ctx.region);
    if let Some(ip) = ctx.source_ip {
        engine_request = engine_request.with_source_ip(ip);
    }
    for (key, value) in context {
        engine_request = engine_request.with_value(key, value.clone());
    }
    for (key, values) in &request.conditions {
        let values = values
            .iter()
            .map(|v| ContextValue::string(v.clone()))
            .collect();
        engine_request = engine_request.with_values(key, values);
    }
    engine_request
}

/// `explainer`: the store whose master key seals an explanation of a denial, when denials are
/// explained.
fn decide(
    engine_request: &Request,
    set: &PolicySet<'_>,
    caller: &Caller,
    request: &AccessRequest,
    explainer: Option<&Store>,
) -> Result<(), Denial> {
    let decision = evaluate(engine_request, set);
    if decision.is_allowed() {
        return Ok(());
    }
    // The engine's own message names the request as it evaluated it.
    let reason = decision
        .reason
        .unwrap_or(DenyReason::Implicit(PolicyType::IdentityBased));
    let resource = match decision.reason {
        Some(_) => engine_request.resource.as_deref(),
        None => request.resource.as_deref(),
    };
    let mut denial = caller.denied(&engine_request.action, resource, reason);
    if let (Some(store), Denial::Denied { message, .. }) = (explainer, &mut denial) {
        append_explanation(store, engine_request, set, message);
    }
    Err(denial)
}

/// Appends the encoded explanation of a denial to its message. Denials are rare next to
/// allowed requests, so the decision is made again in the engine's explaining mode rather than
/// slowing down every decision. The message is bound to the caller's account (for a federated
/// caller, the role's): its principals may decode it.
fn append_explanation(
    store: &Store,
    engine_request: &Request,
    set: &PolicySet<'_>,
    message: &mut String,
) {
    let decision = coffer_policy::explain(engine_request, set);
    let key = MessageKey::from_store(store);
    let account = &engine_request.principal.account;
    // Another account's secret or role: its policies are that account's to see.
    let foreign_resource = set.resource_account.is_some_and(|a| a != account);
    if let Some(encoded) = denial_explanation::encoded_message(
        &key,
        account,
        &decision,
        engine_request,
        foreign_resource,
    ) {
        message.push_str(denial_explanation::ENCODED_MESSAGE_LEAD);
        message.push_str(&encoded);
    }
}

fn implicit_denial(ctx: &RequestContext, request: &AccessRequest) -> Denial {
    denied(
        Wording::Signed,
        &ctx.principal.arn,
        &request.action,
        request.resource.as_deref(),
        DenyReason::Implicit(PolicyType::IdentityBased),
    )
}

/// AWS's `AccessDenied` for `reason`, with the reason kept for metrics.
fn denied(
    wording: Wording,
    principal_arn: &str,
    action: &str,
    resource: Option<&str>,
    reason: DenyReason,
) -> Denial {
    let kind = |t: PolicyType| match t {
        PolicyType::IdentityBased => PolicyClass::Identity,
        PolicyType::ResourceBased => PolicyClass::Resource,
        PolicyType::PermissionsBoundary => PolicyClass::PermissionsBoundary,
        PolicyType::SessionPolicy => PolicyClass::Session,
        PolicyType::TrustPolicy => PolicyClass::Trust,
    };
    let message = match wording {
        Wording::Signed => coffer_policy::access_denied(principal_arn, action, resource, reason),
        Wording::Federated => format!("Not authorized to perform {action}"),
    };
    Denial::Denied {
        message,
        reason: match reason {
            DenyReason::Explicit(t) => DenialReason::ExplicitDeny(kind(t)),
            DenyReason::Implicit(t) => DenialReason::NotAllowed(kind(t)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_model::context::Principal as CallerPrincipal;
    use coffer_store::StoreConfig;

    const ACCOUNT: &str = "111122223333";
    const ROLE: &str = "arn:aws:iam::111122223333:role/web";
    const PROVIDER: &str = "arn:aws:iam::111122223333:saml-provider/idp";

    fn unsigned_ctx() -> RequestContext {
        RequestContext {
            request_id: "federated".into(),
            principal: CallerPrincipal {
                account_id: String::new(),
                arn: String::new(),
                user_id: String::new(),
                kind: PrincipalKind::Anonymous,
                access_key_id: String::new(),
            },
            region: "us-east-1".into(),
            source_ip: None,
            secure_transport: true,
            now_millis: 1_780_000_000_000,
            mfa_authenticated_at_millis: None,
        }
    }

    fn provider() -> FederatedCaller {
        FederatedCaller {
            provider_arn: PROVIDER.into(),
            account_id: ACCOUNT.into(),
            subject: "alice".into(),
        }
    }

    /// A trust policy with `statements`.
    fn trust(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    const ALLOW_SAML: &str = r#"{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/idp"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"saml:sub":"alice"}}}"#;

    fn saml_request(document: Option<String>, conditions: &[(&str, &str)]) -> AccessRequest {
        let mut request = AccessRequest::new("sts:AssumeRoleWithSAML".into(), Some(ROLE.into()));
        request.role_trust = Some(RoleTrust { document });
        request.conditions = conditions
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect();
        request
    }

    async fn authorizer(explain: bool) -> PolicyAuthorizer {
        let store = Store::open(StoreConfig::memory()).await.expect("store");
        PolicyAuthorizer::new(store).explaining_denials(explain)
    }

    async fn federated(
        authorizer: &PolicyAuthorizer,
        request: &AccessRequest,
    ) -> Result<(), Denial> {
        authorizer
            .authorize_federated(&unsigned_ctx(), &provider(), request)
            .await
    }

    fn message(result: Result<(), Denial>) -> String {
        match result {
            Err(Denial::Denied { message, .. }) => message,
            other => panic!("not a policy denial: {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_trust_policy_decides_for_a_federated_caller() {
        let authorizer = authorizer(false).await;
        let allowed = saml_request(Some(trust(ALLOW_SAML)), &[("saml:sub", "alice")]);
        assert_eq!(federated(&authorizer, &allowed).await, Ok(()));
        // Another subject, a condition that fails: AWS's federated wording, no ARN in it.
        let other = saml_request(Some(trust(ALLOW_SAML)), &[("saml:sub", "mallory")]);
        assert_eq!(
            message(federated(&authorizer, &other).await),
            "Not authorized to perform sts:AssumeRoleWithSAML"
        );
        // No role, or no trust policy at all: refused, never allowed by default.
        for request in [saml_request(None, &[("saml:sub", "alice")]), {
            let mut r = allowed.clone();
            r.role_trust = None;
            r
        }] {
            let denial = federated(&authorizer, &request).await.unwrap_err();
            assert_eq!(
                denial.reason(),
                Some(coffer_model::access::RefusalLabel::Policy(
                    DenialReason::NotAllowed(PolicyClass::Trust)
                ))
            );
        }
    }

    #[tokio::test]
    async fn an_explicit_deny_in_the_trust_policy_wins() {
        let authorizer = authorizer(false).await;
        let deny = r#"{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"saml:sub":"alice"}}}"#;
        let request = saml_request(
            Some(trust(&format!("{ALLOW_SAML},{deny}"))),
            &[("saml:sub", "alice")],
        );
        let denial = federated(&authorizer, &request).await.unwrap_err();
        assert!(matches!(
            denial,
            Denial::Denied {
                reason: DenialReason::ExplicitDeny(PolicyClass::Trust),
                ..
            }
        ));
    }

    #[tokio::test]
    async fn session_tags_and_source_identity_need_their_own_actions() {
        let authorizer = authorizer(false).await;
        let tags = [
            ("saml:sub", "alice"),
            ("aws:RequestTag/team", "eng"),
            ("aws:TagKeys", "team"),
        ];
        let request = saml_request(Some(trust(ALLOW_SAML)), &tags);
        assert_eq!(
            message(federated(&authorizer, &request).await),
            "Not authorized to perform sts:TagSession"
        );
        let source = [("saml:sub", "alice"), ("sts:SourceIdentity", "alice")];
        let request = saml_request(Some(trust(ALLOW_SAML)), &source);
        assert_eq!(
            message(federated(&authorizer, &request).await),
            "Not authorized to perform sts:SetSourceIdentity"
        );
        let both = ALLOW_SAML.replace(
            r#""Action":"sts:AssumeRoleWithSAML""#,
            r#""Action":["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"]"#,
        );
        let mut all = tags.to_vec();
        all.push(("sts:SourceIdentity", "alice"));
        let request = saml_request(Some(trust(&both)), &all);
        assert_eq!(federated(&authorizer, &request).await, Ok(()));
    }

    #[tokio::test]
    async fn a_trust_policy_naming_the_role_account_does_not_let_a_provider_in() {
        // `"AWS": "<account>"` trusts the account's principals, not its identity providers.
        let authorizer = authorizer(false).await;
        let account = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRoleWithSAML"}"#;
        let request = saml_request(Some(trust(account)), &[("saml:sub", "alice")]);
        assert!(federated(&authorizer, &request).await.is_err());
    }

    #[tokio::test]
    async fn explained_federated_denials_open_for_the_role_account_only() {
        let authorizer = authorizer(true).await;
        let other = saml_request(Some(trust(ALLOW_SAML)), &[("saml:sub", "mallory")]);
        let message = message(federated(&authorizer, &other).await);
        let (lead, encoded) = message
            .split_once(denial_explanation::ENCODED_MESSAGE_LEAD)
            .expect("an encoded message");
        assert_eq!(lead, "Not authorized to perform sts:AssumeRoleWithSAML");
        let key = MessageKey::from_store(&authorizer.store);
        let opened = key
            .open(ACCOUNT, encoded)
            .expect("opens for the role's account");
        assert!(opened.contains(PROVIDER), "{opened}");
        assert!(key.open("444455556666", encoded).is_none());
    }

    #[test]
    fn resource_accounts_come_from_arns() {
        assert_eq!(
            arn_account("arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf").as_deref(),
            Some("111122223333")
        );
        assert_eq!(arn_account("arn:aws:iam::aws:policy/ReadOnlyAccess"), None);
        assert_eq!(arn_account("*"), None);
    }
}
