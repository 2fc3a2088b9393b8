//! Small helpers every operation uses: the request's scope, timestamps and random identifiers.

use coffer_model::context::RequestContext;
use coffer_model::Timestamp;
use rand::Rng;

use crate::state::Scope;

pub(crate) fn scope(ctx: &RequestContext) -> Scope {
    Scope {
        account: ctx.principal.account_id.clone(),
        region: ctx.region.clone(),
    }
}

/// The scope a `SecretId` lives in: the account of a Secrets Manager ARN in the request's region
/// (another account's secret, reached by its full ARN as on AWS; authorization then needs both
/// accounts to allow it), else the caller's own.
pub(crate) fn scope_of(ctx: &RequestContext, secret_id: &str) -> Scope {
    let mut scope = scope(ctx);
    if let Some(rest) = secret_id.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(6, ':').collect();
        if let [_, "secretsmanager", region, account, "secret", _] = parts.as_slice() {
            let own_digits = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
            if *region == scope.region && own_digits {
                scope.account = (*account).to_string();
            }
        }
    }
    scope
}

/// AWS refuses another account's access to a secret's value when the secret is encrypted with
/// the account's default key (no `KmsKeyId`), since that key's policy cannot be shared.
pub(crate) fn check_cross_account_value(
    ctx: &RequestContext,
    scope: &Scope,
    doc: &crate::state::SecretDoc,
) -> Result<(), coffer_model::secretsmanager::SecretsManagerError> {
    if scope.account != ctx.principal.account_id && doc.kms_key_id.is_none() {
        return Err(coffer_model::secretsmanager::SecretsManagerError::invalid_request(
            "You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key.",
        ));
    }
    Ok(())
}

pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

const SUFFIX_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The 6 random characters AWS appends to a secret's name in its ARN.
pub(crate) fn random_suffix() -> String {
    coffer_iam::ids::random_string("", 6, SUFFIX_ALPHABET)
}

/// A random (version 4) UUID, as AWS uses for version ids it generates itself.
pub(crate) fn new_uuid() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
