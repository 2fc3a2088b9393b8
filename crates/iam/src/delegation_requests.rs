//! IAM temporary delegation ("delegation requests"): a partner account asks a customer account for
//! temporary, limited access; the customer associates, reviews, accepts (or rejects) the request
//! and releases an exchange token, which the partner trades in with STS `GetDelegatedAccessToken`
//! for credentials of the identity that accepted, narrowed to the delegated permissions.
//!
//! The lifecycle and who may act follow AWS's API reference and its "Building your integration"
//! guide: `UNASSIGNED` → (`AssociateDelegationRequest`) `ASSIGNED` → (`UpdateDelegationRequest`)
//! `PENDING_APPROVAL` → (`AcceptDelegationRequest`) `ACCEPTED` → (`SendDelegationToken`)
//! `FINALIZED`; `REJECTED` from assigned, pending or accepted; `EXPIRED` once a state outlives its
//! window (a day unassigned, seven days in any other state). Expiry is computed from the stored
//! deadline and the request's clock, so nothing has to run for a request to expire.
//!
//! Where AWS differs by design, Coffer says so in its README: a policy template is a customer
//! managed policy of the partner's account (AWS registers templates during partner onboarding),
//! and the exchange token is written to the server's delegation outbox (AWS publishes it to the
//! partner's SNS topic).

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use coffer_model::context::{PrincipalKind, RequestContext};
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_policy::{Effect, Policy, PolicyKind};
use coffer_store::{StoreError, Txn};
use serde::{Deserialize, Serialize};

use crate::error::{Fail, TxResult};
use crate::{paging, policies, records, IamService};

/// Request id → [`DelegationDoc`].
pub const DELEGATION_REQUESTS: &str = "iam_delegation_requests";
/// `<owner account>/<request id>` → marker: what `ListDelegationRequests` pages for an account.
const BY_OWNER_ACCOUNT: &str = "iam_delegation_requests_by_owner";
/// SHA-256 (hex) of an exchange token → request id. The token itself is never stored.
const EXCHANGE_TOKENS: &str = "iam_delegation_exchange_tokens";

const DAY_MILLIS: i64 = 86_400_000;
/// A request nobody associated expires after a day; every later state lasts seven days.
const UNASSIGNED_WINDOW_MILLIS: i64 = DAY_MILLIS;
const STATE_WINDOW_MILLIS: i64 = 7 * DAY_MILLIS;
/// AWS: "The final rendered policy has a maximum size limit of 2048 characters."
const MAX_RENDERED_POLICY_CHARS: usize = 2048;

/// The identity that accepted a request: the one the delegated credentials act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approver {
    pub kind: ApproverKind,
    /// The caller's ARN when it accepted (`…:user/…`, `…:root`, `…:assumed-role/R/S`).
    pub arn: String,
    /// `AIDA…`, the account id for root, `AROA…:S` for a role session.
    pub user_id: String,
    /// The credentials it signed with: for a role session, the session whose narrowing
    /// (session policies, expiry) the delegated credentials inherit.
    pub access_key_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApproverKind {
    Root,
    User,
    AssumedRole,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DelegationDoc {
    id: String,
    /// The partner: the account that created the request.
    requestor_account: String,
    owner_account: Option<String>,
    owner_id: Option<String>,
    description: String,
    request_message: Option<String>,
    template_arn: String,
    parameters: Vec<PolicyParameter>,
    /// The template with the parameters substituted, compact JSON.
    permission_policy: String,
    redirect_url: Option<String>,
    notification_channel: String,
    session_duration: i32,
    only_send_by_owner: bool,
    state: StateType,
    created_millis: i64,
    updated_millis: i64,
    /// When the current state ends (`EXPIRED` from then on).
    expires_millis: i64,
    notes: Option<String>,
    rejection_reason: Option<String>,
    approver: Option<Approver>,
    finalized_millis: Option<i64>,
    /// Set once the exchange token was traded in: it works once.
    token_redeemed: bool,
}

impl DelegationDoc {
    fn state_at(&self, now_millis: i64) -> StateType {
        if now_millis >= self.expires_millis {
            StateType::Expired
        } else {
            self.state
        }
    }

    /// Who may read the request (AWS: anyone while it has no owner account; then identities of
    /// the owner account). The partner that created it always may.
    fn visible_to(&self, account: &str) -> bool {
        account == self.requestor_account
            || self.owner_account.as_deref().is_none_or(|o| o == account)
    }

    /// Who may act on it as the customer: identities of the owner account, once it has an owner.
    fn customer_is(&self, account: &str) -> bool {
        self.owner_id.is_some() && self.owner_account.as_deref() == Some(account)
    }

    fn to_shape(&self, now_millis: i64) -> DelegationRequest {
        let secs = |millis: i64| Timestamp::from_secs(millis.div_euclid(1000));
        DelegationRequest {
            delegation_request_id: Some(self.id.clone()),
            owner_account_id: self.owner_account.clone(),
            description: Some(self.description.clone()),
            request_message: self.request_message.clone(),
            permissions: Some(DelegationPermission {
                policy_template_arn: Some(self.template_arn.clone()),
                parameters: (!self.parameters.is_empty()).then(|| self.parameters.clone()),
            }),
            permission_policy: Some(self.permission_policy.clone()),
            role_permission_restriction_arns: None,
            owner_id: self.owner_id.clone(),
            approver_id: self.approver.as_ref().map(|a| a.arn.clone()),
            state: Some(self.state_at(now_millis)),
            expiration_time: Some(secs(self.expires_millis)),
            requestor_id: Some(self.requestor_account.clone()),
            requestor_name: None,
            create_date: Some(secs(self.created_millis)),
            session_duration: Some(self.session_duration),
            redirect_url: self.redirect_url.clone(),
            notes: self.notes.clone(),
            rejection_reason: self.rejection_reason.clone(),
            only_send_by_owner: Some(self.only_send_by_owner),
            updated_time: Some(secs(self.updated_millis)),
        }
    }

    /// Moves to `state`, whose window starts now.
    fn enter(&mut self, state: StateType, now_millis: i64) {
        self.state = state;
        self.updated_millis = now_millis;
        self.expires_millis = now_millis + STATE_WINDOW_MILLIS;
    }
}

fn no_such_request(id: &str) -> Fail {
    IamError::no_such_entity(format!(
        "The delegation request with id {id} cannot be found."
    ))
    .into()
}

/// A request not in a state the operation acts on. AWS documents no dedicated error; the
/// operations that list `InvalidInput` answer it, `AcceptDelegationRequest` (which does not)
/// answers `ConcurrentModification`, the error for an object another call changed first.
fn wrong_state(id: &str, state: StateType, operation: &str) -> Fail {
    let message = format!(
        "The delegation request with id {id} is in state {}; {operation} cannot act on it.",
        state.as_str()
    );
    if operation == "AcceptDelegationRequest" {
        IamError::concurrent_modification(message).into()
    } else {
        IamError::invalid_input(message).into()
    }
}

fn load(txn: &mut dyn Txn, id: &str) -> TxResult<Option<DelegationDoc>> {
    Ok(records::get(txn, DELEGATION_REQUESTS, id)?)
}

/// The request as the customer (the owner account) acts on it; `NoSuchEntity` for anyone else,
/// so other accounts learn nothing about requests that are not theirs.
fn load_as_customer(txn: &mut dyn Txn, id: &str, account: &str) -> TxResult<DelegationDoc> {
    load(txn, id)?
        .filter(|d| d.customer_is(account))
        .ok_or_else(|| no_such_request(id))
}

fn save(txn: &mut dyn Txn, doc: &DelegationDoc) -> Result<(), StoreError> {
    records::put(txn, DELEGATION_REQUESTS, &doc.id, doc)
}

/// Substitutes the request's parameters into a policy template: `@{name}` inside a string takes
/// a `string` parameter's value; a string holding `@{name}` of a `stringList` parameter becomes
/// one string per value (spliced into an enclosing array), so `arn:aws:s3:::@{buckets}/*` names
/// each bucket. Every placeholder needs a parameter and every parameter must be used.
pub(crate) fn render_template(
    template: &str,
    parameters: &[PolicyParameter],
) -> Result<String, String> {
    let mut value: serde_json::Value = serde_json::from_str(template)
        .map_err(|e| format!("The policy template is not valid JSON: {e}"))?;
    let mut used = vec![false; parameters.len()];
    // Placeholders multiply values (a stringList in many strings): the output is bounded while
    // it is built, not only once built. A character takes at most 4 bytes, so an output past this
    // many bytes is past the limit in characters too.
    let mut budget = MAX_RENDERED_POLICY_CHARS * 4;
    substitute(&mut value, parameters, &mut used, &mut budget)?;
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(format!(
            "The parameter {} is not used by the policy template.",
            parameters[i].name.as_deref().unwrap_or_default()
        ));
    }
    serde_json::to_string(&value).map_err(|e| e.to_string())
}

/// The permission policy of a request: the rendered template, a valid identity policy of at most
/// 2,048 characters.
fn rendered_policy(template: &str, parameters: &[PolicyParameter]) -> Result<String, String> {
    let rendered = render_template(template, parameters)?;
    if rendered.chars().count() > MAX_RENDERED_POLICY_CHARS {
        return Err(too_long());
    }
    Policy::parse(&rendered, PolicyKind::Identity).map_err(|e| {
        format!(
            "The rendered permission policy is not a valid policy: {}",
            e.message()
        )
    })?;
    Ok(rendered)
}

enum Rendered {
    One(String),
    Many(Vec<String>),
}

fn too_long() -> String {
    format!("The rendered permission policy exceeds {MAX_RENDERED_POLICY_CHARS} characters.")
}

/// Takes `bytes` from what the rendered policy may still hold.
fn spend(budget: &mut usize, bytes: usize) -> Result<(), String> {
    *budget = budget.checked_sub(bytes).ok_or_else(too_long)?;
    Ok(())
}

fn render_string(
    text: &str,
    parameters: &[PolicyParameter],
    used: &mut [bool],
    budget: &mut usize,
) -> Result<Rendered, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        let Some(len) = rest[start..].find('}') else {
            return Err(format!("The placeholder in {text:?} is not closed."));
        };
        let name = &rest[start + 2..start + len];
        let Some(i) = parameters
            .iter()
            .position(|p| p.name.as_deref() == Some(name))
        else {
            return Err(format!(
                "The policy template needs the parameter {name}, which the request does not give."
            ));
        };
        used[i] = true;
        let parameter = &parameters[i];
        let values = parameter.values.as_deref().unwrap_or_default();
        match parameter.r#type {
            Some(PolicyParameterTypeEnum::StringList) => {
                // One string per value, with what surrounds the placeholder.
                out.push_str(&rest[..start]);
                let suffix = match render_string(&rest[start + len + 1..], parameters, used, budget)? {
                    Rendered::One(suffix) => suffix,
                    Rendered::Many(_) => {
                        return Err(format!(
                            "A value of the policy template may hold one stringList parameter; {text:?} holds more."
                        ))
                    }
                };
                for v in values {
                    spend(budget, out.len() + v.len() + suffix.len())?;
                }
                return Ok(Rendered::Many(
                    values.iter().map(|v| format!("{out}{v}{suffix}")).collect(),
                ));
            }
            _ => {
                let [value] = values else {
                    return Err(format!(
                        "The string parameter {name} must have exactly one value."
                    ));
                };
                out.push_str(&rest[..start]);
                out.push_str(value);
                if out.len() > *budget {
                    return Err(too_long());
                }
            }
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    spend(budget, out.len())?;
    Ok(Rendered::One(out))
}

fn substitute(
    value: &mut serde_json::Value,
    parameters: &[PolicyParameter],
    used: &mut [bool],
    budget: &mut usize,
) -> Result<(), String> {
    use serde_json::Value;
    match value {
        Value::String(text) => match render_string(text, parameters, used, budget)? {
            Rendered::One(s) => *text = s,
            Rendered::Many(values) => {
                *value = Value::Array(values.into_iter().map(Value::String).collect())
            }
        },
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.drain(..) {
                match item {
                    Value::String(text) => match render_string(&text, parameters, used, budget)? {
                        Rendered::One(s) => out.push(Value::String(s)),
                        Rendered::Many(values) => out.extend(values.into_iter().map(Value::String)),
                    },
                    mut other => {
                        substitute(&mut other, parameters, used, budget)?;
                        out.push(other);
                    }
                }
            }
            *items = out;
        }
        Value::Object(map) => {
            for v in map.values_mut() {
                substitute(v, parameters, used, budget)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) async fn create_delegation_request(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateDelegationRequestRequest,
) -> Result<CreateDelegationRequestResponse, IamError> {
    let requestor = ctx.principal.account_id.clone();
    let now = ctx.now_millis;
    let id = new_request_id();
    let template_arn = input
        .permissions
        .policy_template_arn
        .clone()
        .ok_or_else(|| IamError::invalid_input("Permissions.PolicyTemplateArn is required."))?;
    let parameters = input.permissions.parameters.clone().unwrap_or_default();
    for p in &parameters {
        if p.name.is_none() {
            return Err(IamError::invalid_input(
                "Every policy parameter needs a Name.",
            ));
        }
    }
    let response_id = id.clone();
    svc.write(move |txn| {
        let template = policies::find_by_arn(txn, &requestor, &template_arn)?
            .and_then(|p| p.default_document().map(str::to_string))
            .ok_or_else(|| {
                IamError::invalid_input(format!(
                    "The policy template {template_arn} does not exist."
                ))
            })?;
        let rendered = rendered_policy(&template, &parameters).map_err(IamError::invalid_input)?;
        let doc = DelegationDoc {
            id: id.clone(),
            requestor_account: requestor.clone(),
            owner_account: input.owner_account_id.clone(),
            owner_id: None,
            description: input.description.clone(),
            request_message: input.request_message.clone(),
            template_arn: template_arn.clone(),
            parameters: parameters.clone(),
            permission_policy: rendered,
            redirect_url: input.redirect_url.clone(),
            notification_channel: input.notification_channel.clone(),
            session_duration: input.session_duration,
            only_send_by_owner: input.only_send_by_owner.unwrap_or(false),
            state: StateType::Unassigned,
            created_millis: now,
            updated_millis: now,
            expires_millis: now + UNASSIGNED_WINDOW_MILLIS,
            notes: None,
            rejection_reason: None,
            approver: None,
            finalized_millis: None,
            token_redeemed: false,
        };
        save(txn, &doc)?;
        Ok(())
    })
    .await?;
    Ok(CreateDelegationRequestResponse {
        console_deep_link: Some(format!(
            "https://console.aws.amazon.com/iam/home#/delegation-requests/{response_id}"
        )),
        delegation_request_id: Some(response_id),
    })
}

pub(crate) async fn get_delegation_request(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetDelegationRequestRequest,
) -> Result<GetDelegationRequestResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = ctx.now_millis;
    let id = input.delegation_request_id;
    svc.read(move |txn| {
        let doc = load(txn, &id)?
            .filter(|d| d.visible_to(&account))
            .ok_or_else(|| no_such_request(&id))?;
        Ok(GetDelegationRequestResponse {
            delegation_request: Some(doc.to_shape(now)),
            permission_check_status: None,
            permission_check_result: None,
        })
    })
    .await
}

pub(crate) async fn list_delegation_requests(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListDelegationRequestsRequest,
) -> Result<ListDelegationRequestsResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = ctx.now_millis;
    svc.read(move |txn| {
        let prefix = format!("{account}/");
        let page = paging::scan(
            txn,
            BY_OWNER_ACCOUNT,
            &prefix,
            input.marker.as_deref(),
            input.max_items,
            |key, _| Ok(Some(key.strip_prefix(&prefix).unwrap_or(key).to_string())),
        )?;
        let mut requests = Vec::with_capacity(page.items.len());
        for id in &page.items {
            let Some(doc) = load(txn, id)? else { continue };
            if input
                .owner_id
                .as_deref()
                .is_some_and(|owner| doc.owner_id.as_deref() != Some(owner))
            {
                continue;
            }
            requests.push(doc.to_shape(now));
        }
        Ok(ListDelegationRequestsResponse {
            delegation_requests: Some(requests),
            is_truncated: Some(page.is_truncated()),
            marker: page.marker,
        })
    })
    .await
}

pub(crate) async fn associate_delegation_request(
    svc: &IamService,
    ctx: &RequestContext,
    input: AssociateDelegationRequestRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let caller = ctx.principal.arn.clone();
    let now = ctx.now_millis;
    let id = input.delegation_request_id;
    svc.write(move |txn| {
        let mut doc = load(txn, &id)?
            .filter(|d| d.owner_account.as_deref().is_none_or(|o| o == account))
            .ok_or_else(|| no_such_request(&id))?;
        let state = doc.state_at(now);
        if state != StateType::Unassigned {
            return Err(wrong_state(&id, state, "AssociateDelegationRequest"));
        }
        doc.owner_account = Some(account.clone());
        doc.owner_id = Some(caller.clone());
        doc.enter(StateType::Assigned, now);
        save(txn, &doc)?;
        records::put_marker(txn, BY_OWNER_ACCOUNT, &format!("{account}/{id}"))?;
        Ok(())
    })
    .await
}

pub(crate) async fn update_delegation_request(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateDelegationRequestRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let now = ctx.now_millis;
    let id = input.delegation_request_id;
    svc.write(move |txn| {
        let mut doc = load_as_customer(txn, &id, &account)?;
        let state = doc.state_at(now);
        if !matches!(state, StateType::Assigned | StateType::PendingApproval) {
            return Err(wrong_state(&id, state, "UpdateDelegationRequest"));
        }
        if let Some(notes) = &input.notes {
            doc.notes = Some(notes.clone());
        }
        doc.enter(StateType::PendingApproval, now);
        save(txn, &doc)?;
        Ok(())
    })
    .await
}

pub(crate) async fn accept_delegation_request(
    svc: &IamService,
    ctx: &RequestContext,
    input: AcceptDelegationRequestRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let now = ctx.now_millis;
    let principal = ctx.principal.clone();
    let id = input.delegation_request_id;
    let kind = match principal.kind {
        PrincipalKind::Root => ApproverKind::Root,
        PrincipalKind::User => ApproverKind::User,
        PrincipalKind::AssumedRole => ApproverKind::AssumedRole,
        // Federated users cannot call IAM at all; nothing else signs IAM requests.
        PrincipalKind::FederatedUser | PrincipalKind::Anonymous => {
            return Err(IamError::invalid_input(
                "Only an IAM user, a role session or the root user can accept a delegation request.",
            ))
        }
    };
    svc.write(move |txn| {
        let mut doc = load_as_customer(txn, &id, &account)?;
        let state = doc.state_at(now);
        if !matches!(state, StateType::Assigned | StateType::PendingApproval) {
            return Err(wrong_state(&id, state, "AcceptDelegationRequest"));
        }
        doc.approver = Some(Approver {
            kind,
            arn: principal.arn.clone(),
            user_id: principal.user_id.clone(),
            access_key_id: principal.access_key_id.clone(),
        });
        doc.enter(StateType::Accepted, now);
        save(txn, &doc)?;
        Ok(())
    })
    .await
}

pub(crate) async fn reject_delegation_request(
    svc: &IamService,
    ctx: &RequestContext,
    input: RejectDelegationRequestRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let now = ctx.now_millis;
    let id = input.delegation_request_id;
    svc.write(move |txn| {
        let mut doc = load_as_customer(txn, &id, &account)?;
        let state = doc.state_at(now);
        if !matches!(
            state,
            StateType::Assigned | StateType::PendingApproval | StateType::Accepted
        ) {
            return Err(wrong_state(&id, state, "RejectDelegationRequest"));
        }
        doc.rejection_reason = input.notes.clone();
        doc.approver = None;
        doc.enter(StateType::Rejected, now);
        save(txn, &doc)?;
        Ok(())
    })
    .await
}

fn token_key(token: &str) -> String {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 64 random URL-safe characters (384 bits).
fn new_exchange_token() -> String {
    crate::ids::random_string("", 64, TOKEN_ALPHABET)
}

const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// What the outbox holds for the partner: the notification AWS would publish to its topic.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TokenNotification<'a> {
    topic_arn: &'a str,
    delegation_request_id: &'a str,
    exchange_token: &'a str,
}

/// Writes the notification readable by its owner only; never overwrites one.
fn deliver(dir: &Path, id: &str, notification: &TokenNotification<'_>) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("{id}.json"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(&serde_json::to_vec(notification).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    Ok(path)
}

pub(crate) async fn send_delegation_token(
    svc: &IamService,
    ctx: &RequestContext,
    input: SendDelegationTokenRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let caller = ctx.principal.arn.clone();
    let now = ctx.now_millis;
    let id = input.delegation_request_id;
    let check = {
        let (account, caller, id) = (account.clone(), caller.clone(), id.clone());
        move |txn: &mut dyn Txn| -> TxResult<DelegationDoc> {
            let doc = load_as_customer(txn, &id, &account)?;
            let state = doc.state_at(now);
            if state != StateType::Accepted {
                return Err(wrong_state(&id, state, "SendDelegationToken"));
            }
            if doc.only_send_by_owner && doc.owner_id.as_deref() != Some(caller.as_str()) {
                return Err(IamError::invalid_input(format!(
                    "Only the owner of the delegation request with id {id} can send its token."
                ))
                .into());
            }
            Ok(doc)
        }
    };
    let first_check = check.clone();
    let doc = svc.read(move |txn| first_check(txn)).await?;
    let Some(outbox) = svc.delegation_outbox.clone() else {
        return Err(IamError::invalid_input(
            "This server has no delegation outbox to deliver exchange tokens to (serve --delegation-outbox DIR).",
        ));
    };
    let token = new_exchange_token();
    let key = token_key(&token);
    let notification = TokenNotification {
        topic_arn: &doc.notification_channel,
        delegation_request_id: &id,
        exchange_token: &token,
    };
    let delivered = deliver(&outbox, &id, &notification).map_err(|e| {
        tracing::error!(error = %e, "writing a delegation token to the outbox failed");
        IamError::service_failure(
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    })?;
    let recheck = check;
    let finalized = svc
        .write(move |txn| {
            let mut doc = recheck(txn)?;
            doc.finalized_millis = Some(now);
            doc.enter(StateType::Finalized, now);
            save(txn, &doc)?;
            records::put(txn, EXCHANGE_TOKENS, &key, &doc.id)?;
            Ok(())
        })
        .await;
    if finalized.is_err() {
        // Not finalized: the delivered token must not exist anywhere.
        let _ = std::fs::remove_file(&delivered);
    }
    finalized
}

/// The owner (`OwnerId`) of a request, for `iam:DelegationRequestOwner`.
pub fn owner_of(txn: &mut dyn Txn, id: &str) -> Result<Option<String>, StoreError> {
    Ok(records::get::<DelegationDoc>(txn, DELEGATION_REQUESTS, id)?.and_then(|d| d.owner_id))
}

/// An exchange token traded in: what the delegated credentials are.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub request_id: String,
    /// The customer account the credentials act in.
    pub account: String,
    pub approver: Approver,
    /// The delegated permissions (an identity policy document).
    pub permission_policy: String,
    /// The end of the delegation period: `SessionDuration` after the token was sent.
    pub ends_at_millis: i64,
}

/// Trades in an exchange token presented by `caller_account` at `now_millis`: `None` when the
/// token is unknown, already used, past its delegation period, presented by another account than
/// the partner's, or its request is no longer finalized — STS answers all of these alike.
pub fn redeem(
    txn: &mut dyn Txn,
    token: &str,
    caller_account: &str,
    now_millis: i64,
) -> Result<Option<Redeemed>, StoreError> {
    let key = token_key(token);
    let Some(id) = records::get::<String>(txn, EXCHANGE_TOKENS, &key)? else {
        return Ok(None);
    };
    let Some(mut doc) = records::get::<DelegationDoc>(txn, DELEGATION_REQUESTS, &id)? else {
        return Ok(None);
    };
    let (Some(finalized), Some(approver), Some(account)) = (
        doc.finalized_millis,
        doc.approver.clone(),
        doc.owner_account.clone(),
    ) else {
        return Ok(None);
    };
    let ends_at_millis = finalized + i64::from(doc.session_duration) * 1000;
    if doc.token_redeemed
        || doc.requestor_account != caller_account
        || doc.state_at(now_millis) != StateType::Finalized
        || now_millis >= ends_at_millis
    {
        return Ok(None);
    }
    doc.token_redeemed = true;
    doc.updated_millis = now_millis;
    save(txn, &doc)?;
    Ok(Some(Redeemed {
        request_id: doc.id,
        account,
        approver,
        permission_policy: doc.permission_policy,
        ends_at_millis,
    }))
}

/// The request a `delegation-request` ARN names: `arn:aws:iam::<account>:delegation-request/<id>`.
fn request_id_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    resource
        .strip_prefix("delegation-request/")
        .filter(|id| !id.is_empty())
}

/// Coffer's summary: for each statement, its effect, actions and resources (and conditions), in
/// English, derived from the rendered policy. AWS writes its summary with a language model; its
/// wording cannot be reproduced.
fn summarize(doc: &DelegationDoc) -> String {
    let mut out = format!(
        "Account {} requests temporary access for up to {} seconds with these permissions:",
        doc.requestor_account, doc.session_duration
    );
    let Ok(policy) = Policy::parse(&doc.permission_policy, PolicyKind::Identity) else {
        return out;
    };
    for (i, statement) in policy.statements().iter().enumerate() {
        let effect = match statement.effect() {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        let actions: Vec<&str> = statement.action_texts().collect();
        let resources: Vec<&str> = statement.resource_texts().collect();
        let actions_word = if statement.negates_actions() {
            "every action except"
        } else {
            "actions"
        };
        let resources_word = if statement.negates_resources() {
            "every resource except"
        } else {
            "resources"
        };
        out.push_str(&format!(
            "\n{}. {effect} {actions_word} {} on {resources_word} {}",
            i + 1,
            actions.join(", "),
            resources.join(", ")
        ));
        let conditions: Vec<String> = statement
            .condition_texts()
            .map(|c| format!("{} {} {}", c.key, c.operator, c.values.join(", ")))
            .collect();
        if !conditions.is_empty() {
            out.push_str(&format!(" when {}", conditions.join(" and ")));
        }
        out.push('.');
    }
    out
}

pub(crate) async fn get_human_readable_summary(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetHumanReadableSummaryRequest,
) -> Result<GetHumanReadableSummaryResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let Some(id) = request_id_of(&input.entity_arn).map(str::to_string) else {
        return Err(IamError::invalid_input(format!(
            "{} is not the ARN of a delegation request, the only entity with a summary.",
            input.entity_arn
        )));
    };
    let locale = input.locale.unwrap_or_else(|| "en".to_string());
    svc.read(move |txn| {
        let doc = load(txn, &id)?
            .filter(|d| d.visible_to(&account))
            .ok_or_else(|| no_such_request(&id))?;
        // Summaries are written in English only.
        let english = locale == "en" || locale.starts_with("en-") || locale.starts_with("en_");
        Ok(GetHumanReadableSummaryResponse {
            summary_content: english.then(|| summarize(&doc)),
            locale: Some(locale.clone()),
            summary_state: Some(if english {
                SummaryStateType::Available
            } else {
                SummaryStateType::NotSupported
            }),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, values: &[&str], kind: PolicyParameterTypeEnum) -> PolicyParameter {
        PolicyParameter {
            name: Some(name.into()),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
            r#type: Some(kind),
        }
    }

    const TEMPLATE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Action":["secretsmanager:GetSecretValue"],
        "Resource":["arn:aws:secretsmanager:*:*:secret:@{prefix}/*", "@{extra}"]}]}"#;

    #[test]
    fn templates_render_strings_and_splice_lists() {
        let rendered = render_template(
            TEMPLATE,
            &[
                param("prefix", &["app"], PolicyParameterTypeEnum::String),
                param(
                    "extra",
                    &["arn:x:1", "arn:x:2"],
                    PolicyParameterTypeEnum::StringList,
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            rendered,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue"],"Resource":["arn:aws:secretsmanager:*:*:secret:app/*","arn:x:1","arn:x:2"]}]}"#
        );
    }

    #[test]
    fn templates_refuse_missing_unused_and_misplaced_parameters() {
        let prefix = param("prefix", &["app"], PolicyParameterTypeEnum::String);
        let extra = param("extra", &["a"], PolicyParameterTypeEnum::StringList);
        let missing = render_template(TEMPLATE, std::slice::from_ref(&prefix)).unwrap_err();
        assert!(missing.contains("needs the parameter extra"), "{missing}");
        let unused = render_template(
            TEMPLATE,
            &[
                prefix.clone(),
                extra.clone(),
                param("other", &["x"], PolicyParameterTypeEnum::String),
            ],
        )
        .unwrap_err();
        assert!(unused.contains("other is not used"), "{unused}");
        let two = render_template(
            TEMPLATE,
            &[
                param("prefix", &["a", "b"], PolicyParameterTypeEnum::String),
                extra.clone(),
            ],
        )
        .unwrap_err();
        assert!(two.contains("exactly one value"), "{two}");
        let two_lists = render_template(
            r#"{"Resource":"arn:@{extra}/@{extra}"}"#,
            std::slice::from_ref(&extra),
        )
        .unwrap_err();
        assert!(two_lists.contains("one stringList"), "{two_lists}");
        assert!(render_template("{not json", &[]).is_err());
        assert!(render_template(r#"{"Resource":"@{open"}"#, &[]).is_err());
    }

    #[test]
    fn list_values_expand_with_what_surrounds_them() {
        let rendered = render_template(
            r#"{"Resource":["arn:aws:s3:::@{buckets}/@{prefix}*"]}"#,
            &[
                param("buckets", &["a", "b"], PolicyParameterTypeEnum::StringList),
                param("prefix", &["logs/"], PolicyParameterTypeEnum::String),
            ],
        )
        .unwrap();
        assert_eq!(
            rendered,
            r#"{"Resource":["arn:aws:s3:::a/logs/*","arn:aws:s3:::b/logs/*"]}"#
        );
    }

    #[test]
    fn the_rendered_policy_must_be_valid_and_small() {
        let effect = r#"{"Version":"2012-10-17","Statement":[{"Effect":"@{effect}","Action":"s3:GetObject","Resource":"*"}]}"#;
        let ok = rendered_policy(
            effect,
            &[param("effect", &["Allow"], PolicyParameterTypeEnum::String)],
        );
        assert!(ok.is_ok(), "{ok:?}");
        let bad = rendered_policy(
            effect,
            &[param("effect", &["Maybe"], PolicyParameterTypeEnum::String)],
        )
        .unwrap_err();
        assert!(
            bad.starts_with("The rendered permission policy is not a valid policy"),
            "{bad}"
        );
        let many: Vec<String> = (0..100).map(|i| format!("bucket-{i:04}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let big = rendered_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::@{b}/*"}]}"#,
            &[param("b", &many, PolicyParameterTypeEnum::StringList)],
        )
        .unwrap_err();
        assert!(big.contains("exceeds 2048 characters"), "{big}");
    }

    fn doc(state: StateType) -> DelegationDoc {
        DelegationDoc {
            id: "0f8e2a34-5c1d-4b7e-9a60-123456789abc".into(),
            requestor_account: "111111111111".into(),
            owner_account: Some("222222222222".into()),
            owner_id: Some("arn:aws:iam::222222222222:user/alice".into()),
            description: "d".into(),
            request_message: None,
            template_arn: "arn:aws:iam::111111111111:policy/t".into(),
            parameters: vec![],
            permission_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}]}"#.into(),
            redirect_url: None,
            notification_channel: "arn:aws:sns:us-east-1:111111111111:t".into(),
            session_duration: 900,
            only_send_by_owner: false,
            state,
            created_millis: 0,
            updated_millis: 0,
            expires_millis: 1_000,
            notes: None,
            rejection_reason: None,
            approver: None,
            finalized_millis: None,
            token_redeemed: false,
        }
    }

    #[test]
    fn requests_expire_at_their_deadline_and_are_seen_by_their_parties_only() {
        let d = doc(StateType::Assigned);
        assert_eq!(d.state_at(999), StateType::Assigned);
        assert_eq!(d.state_at(1_000), StateType::Expired);
        assert!(d.visible_to("111111111111"));
        assert!(d.visible_to("222222222222"));
        assert!(!d.visible_to("333333333333"));
        assert!(d.customer_is("222222222222"));
        assert!(!d.customer_is("111111111111"));
        let unowned = DelegationDoc {
            owner_account: None,
            owner_id: None,
            ..doc(StateType::Unassigned)
        };
        assert!(unowned.visible_to("333333333333"));
        assert!(!unowned.customer_is("333333333333"));
    }

    #[test]
    fn the_summary_names_each_statement_s_actions_resources_and_conditions() {
        let summary = summarize(&doc(StateType::Assigned));
        assert_eq!(
            summary,
            "Account 111111111111 requests temporary access for up to 900 seconds with these permissions:\n\
             1. Allow actions s3:GetObject, s3:PutObject on resources arn:aws:s3:::b/* when aws:SecureTransport Bool true.\n\
             2. Deny every action except s3:* on resources *."
        );
    }

    #[test]
    fn only_delegation_request_arns_have_summaries() {
        assert_eq!(
            request_id_of("arn:aws:iam::123456789012:delegation-request/abc-1"),
            Some("abc-1")
        );
        for bad in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::12345:delegation-request/abc",
            "arn:aws:iam::123456789012:delegation-request/",
            "nonsense",
        ] {
            assert_eq!(request_id_of(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn an_exchange_token_works_once_for_the_partner_within_its_period() {
        let store = coffer_store::Store::open(coffer_store::StoreConfig::memory())
            .await
            .unwrap();
        let mut finalized = doc(StateType::Finalized);
        finalized.expires_millis = 10 * DAY_MILLIS;
        finalized.finalized_millis = Some(1_000);
        finalized.approver = Some(Approver {
            kind: ApproverKind::User,
            arn: "arn:aws:iam::222222222222:user/alice".into(),
            user_id: "AIDAALICE".into(),
            access_key_id: "AKIAALICE".into(),
        });
        let token = new_exchange_token();
        let key = token_key(&token);
        store
            .write(move |txn| {
                save(txn, &finalized)?;
                records::put(txn, EXCHANGE_TOKENS, &key, &finalized.id)
            })
            .await
            .unwrap();
        let try_redeem = |token: String, account: &'static str, at: i64| {
            let store = store.clone();
            async move {
                store
                    .write(move |txn| redeem(txn, &token, account, at))
                    .await
                    .unwrap()
            }
        };
        // Another account, or after the period (900 s after it was sent), gets nothing.
        assert!(try_redeem(token.clone(), "222222222222", 2_000)
            .await
            .is_none());
        assert!(try_redeem(token.clone(), "111111111111", 901_000)
            .await
            .is_none());
        assert!(try_redeem("forged".into(), "111111111111", 2_000)
            .await
            .is_none());
        let redeemed = try_redeem(token.clone(), "111111111111", 2_000)
            .await
            .unwrap();
        assert_eq!(redeemed.account, "222222222222");
        assert_eq!(redeemed.ends_at_millis, 901_000);
        assert_eq!(redeemed.approver.user_id, "AIDAALICE");
        // Used once.
        assert!(try_redeem(token, "111111111111", 3_000).await.is_none());
    }

    #[test]
    fn a_template_cannot_multiply_values_into_a_huge_policy() {
        // ~870 placeholders of a stringList of large values fit a 6,144-character template;
        // rendered whole they would be ~1 GB. Refused as soon as the output passes the limit.
        let strings: Vec<String> = (0..870).map(|_| "\"@{b}\"".to_string()).collect();
        let template = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
            strings.join(",")
        );
        let value = "x".repeat(1000);
        let values: Vec<&str> = (0..1000).map(|_| value.as_str()).collect();
        let refused = render_template(
            &template,
            &[param("b", &values, PolicyParameterTypeEnum::StringList)],
        )
        .unwrap_err();
        assert_eq!(
            refused,
            "The rendered permission policy exceeds 2048 characters."
        );
        // A string parameter repeated past the limit, likewise.
        let refused = render_template(
            &template,
            &[param("b", &[&value], PolicyParameterTypeEnum::String)],
        )
        .unwrap_err();
        assert!(refused.contains("exceeds 2048"), "{refused}");
    }
}
