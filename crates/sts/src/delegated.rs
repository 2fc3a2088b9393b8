//! `GetDelegatedAccessToken`: a partner trades in the exchange token of a delegation request the
//! customer accepted and released (IAM `SendDelegationToken`) for temporary credentials of the
//! identity that accepted it, narrowed to the delegated permissions as a session policy: the
//! credentials can never do more than both the accepting identity and the delegation allow. A
//! role session that accepted delegates its role's permissions and ends no later than it does.
//!
//! Session policies allow together (any of them may allow, within the identity's policies), so
//! the delegated permissions cannot be added to the session policies of a session that already
//! has some: that would widen it. Credentials obtained with a narrowed session (session policies
//! or policy ARNs, a federation token, earlier delegated credentials) delegate nothing: their
//! token is refused like an expired one.

use coffer_iam::delegation_requests::{self, ApproverKind, Redeemed};
use coffer_model::context::RequestContext;
use coffer_model::sensitive::Sensitive;
use coffer_model::sts::*;
use coffer_model::types::Timestamp;
use coffer_store::{StoreError, Txn};

use crate::common::store_failed;
use crate::sessions::{self, SessionDoc, SessionKind};
use crate::StsService;

/// The model's description of the error; AWS's exact message is not documented.
const EXPIRED: &str = "The trade-in token provided in the request has expired and can no longer be exchanged for credentials. Request a new token and retry the operation.";

fn user_name(arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("user/")?;
    rest.rsplit('/').next().map(str::to_string)
}

fn narrowed(session: &SessionDoc) -> bool {
    !session.session_policies.is_empty() || !session.policy_arns.is_empty()
}

/// The session the delegated credentials are; `None` when the accepting session has ended or was
/// narrowed (it can delegate nothing).
fn delegated_session(
    txn: &mut dyn Txn,
    redeemed: Redeemed,
    now_millis: i64,
) -> Result<Option<SessionDoc>, StoreError> {
    let issued = now_millis.div_euclid(1000) * 1000;
    // `Expiration` has second precision: the stored expiry matches what clients see.
    let ends = redeemed.ends_at_millis.div_euclid(1000) * 1000;
    let approver = redeemed.approver;
    let doc = match approver.kind {
        ApproverKind::User | ApproverKind::Root => {
            // Temporary credentials of the user or root itself (GetSessionToken) are the user;
            // any other session behind the caller narrowed it.
            if approver
                .access_key_id
                .starts_with(sessions::TEMPORARY_KEY_PREFIX)
            {
                let Some(found) = sessions::find(txn, &approver.access_key_id)? else {
                    return Ok(None);
                };
                if found.doc.kind != SessionKind::SessionToken
                    || narrowed(&found.doc)
                    || found.doc.expires_at_millis <= now_millis
                {
                    return Ok(None);
                }
            }
            let user_name = match approver.kind {
                ApproverKind::User => user_name(&approver.arn),
                _ => None,
            };
            let approver_arn = approver.arn.clone();
            SessionDoc {
                kind: SessionKind::Delegated,
                account_id: redeemed.account,
                source_user_id: user_name.as_ref().map(|_| approver.user_id.clone()),
                user_name,
                arn: approver.arn,
                user_id: approver.user_id,
                issued_at_millis: issued,
                expires_at_millis: ends,
                role: None,
                // The audit record's session issuer: the user (or root) that accepted.
                source_arn: Some(approver_arn),
                session_policies: vec![redeemed.permission_policy],
                policy_arns: Vec::new(),
                tags: Vec::new(),
                transitive_tag_keys: Vec::new(),
                source_identity: None,
                mfa_authenticated_at_millis: None,
                chained: false,
            }
        }
        ApproverKind::AssumedRole => {
            let Some(found) = sessions::find(txn, &approver.access_key_id)? else {
                return Ok(None);
            };
            let approving = found.doc;
            if approving.expires_at_millis <= now_millis
                || approving.arn != approver.arn
                || approving.kind != SessionKind::AssumedRole
                || narrowed(&approving)
            {
                return Ok(None);
            }
            SessionDoc {
                issued_at_millis: issued,
                expires_at_millis: ends.min(approving.expires_at_millis),
                session_policies: vec![redeemed.permission_policy],
                ..approving
            }
        }
    };
    Ok(Some(doc))
}

pub(crate) async fn get_delegated_access_token(
    svc: &StsService,
    ctx: &RequestContext,
    input: GetDelegatedAccessTokenRequest,
) -> Result<GetDelegatedAccessTokenResponse, StsError> {
    let token = input.trade_in_token.into_inner();
    let caller_account = ctx.principal.account_id.clone();
    let now = ctx.now_millis;
    let (key_id, secret, session_token) = sessions::new_credentials();
    let (k, s, t) = (key_id.clone(), secret.clone(), session_token.clone());
    let issued = svc
        .store
        .write(move |txn| {
            let Some(redeemed) = delegation_requests::redeem(txn, &token, &caller_account, now)?
            else {
                return Ok(None);
            };
            let Some(doc) = delegated_session(txn, redeemed, now)? else {
                return Ok(None);
            };
            sessions::insert(txn, &k, &s, &t, &doc)?;
            Ok::<_, StoreError>(Some((doc.arn, doc.expires_at_millis)))
        })
        .await
        .map_err(store_failed)?;
    let Some((assumed_principal, expires)) = issued else {
        return Err(StsError::expired_trade_in_token(EXPIRED));
    };
    Ok(GetDelegatedAccessTokenResponse {
        credentials: Some(Credentials {
            access_key_id: key_id,
            secret_access_key: Sensitive::new(secret),
            session_token: Sensitive::new(session_token),
            expiration: Timestamp::from_secs(expires.div_euclid(1000)),
        }),
        // AWS: "This field is deprecated. It is not populated for GetDelegatedAccessToken."
        packed_policy_size: None,
        assumed_principal: Some(assumed_principal),
    })
}
