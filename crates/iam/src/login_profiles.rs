//! Login profiles (console passwords) and `ChangePassword`. Coffer has no console, but passwords
//! are checked against the account password policy as IAM checks them, and kept only as Argon2id
//! hashes in the record's sealed (encrypted) part, with the previous ones the policy's reuse
//! prevention needs.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use coffer_model::context::{PrincipalKind, RequestContext};
use coffer_model::iam::*;
use coffer_model::types::Timestamp;
use coffer_store::{NewRecord, StoreError, Txn};
use serde::{Deserialize, Serialize};

use crate::accounts::to_json;
use crate::caller::{subject, user_name_from_arn};
use crate::error::{Fail, TxResult};
use crate::password_policy::{self, PasswordPolicyDoc};
use crate::records;
use crate::users;
use crate::IamService;

/// `<account>/<lower-cased user name>` → the user's login profile.
pub const LOGIN_PROFILES: &str = "iam_login_profiles";

/// What an account without a password policy enforces (AWS's default policy).
const DEFAULT_MINIMUM_LENGTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginProfileDoc {
    /// As the user's name is spelled.
    pub user_name: String,
    /// Seconds since the epoch.
    pub created: i64,
    pub password_reset_required: bool,
    /// When the password was last set, seconds since the epoch.
    #[serde(default)]
    pub password_set: i64,
}

/// The sealed part: PHC strings, newest first.
#[derive(Default, Serialize, Deserialize)]
struct Hashes {
    current: String,
    #[serde(default)]
    previous: Vec<String>,
}

fn key(account: &str, user: &str) -> String {
    records::key(account, user)
}

/// When the user's password was last set, if the user has one (credential report).
pub(crate) fn password_set(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<Option<i64>> {
    Ok(read(txn, account, user)?.map(|(d, _)| d.password_set))
}

pub(crate) fn exists(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<bool> {
    Ok(txn.get(LOGIN_PROFILES, &key(account, user))?.is_some())
}

fn read(
    txn: &mut dyn Txn,
    account: &str,
    user: &str,
) -> Result<Option<(LoginProfileDoc, Hashes)>, StoreError> {
    let Some(record) = txn.get(LOGIN_PROFILES, &key(account, user))? else {
        return Ok(None);
    };
    let doc: LoginProfileDoc = records::decode(&record.doc)?;
    let hashes: Hashes = match &record.sealed {
        Some(s) => records::decode(s.expose())?,
        None => Hashes::default(),
    };
    Ok(Some((doc, hashes)))
}

fn write(
    txn: &mut dyn Txn,
    account: &str,
    doc: &LoginProfileDoc,
    hashes: &Hashes,
) -> Result<(), StoreError> {
    let record = NewRecord::new(to_json(doc)?).with_sealed(to_json(hashes)?);
    txn.put(LOGIN_PROFILES, &key(account, &doc.user_name), record)
}

pub(crate) fn rename_user(txn: &mut dyn Txn, account: &str, old: &str, new: &str) -> TxResult<()> {
    if let Some((mut doc, hashes)) = read(txn, account, old)? {
        txn.delete(LOGIN_PROFILES, &key(account, old))?;
        doc.user_name = new.to_string();
        write(txn, account, &doc, &hashes)?;
    }
    Ok(())
}

fn not_found(user: &str) -> Fail {
    IamError::no_such_entity(format!("Login Profile for User {user} cannot be found.")).into()
}

fn violation(message: &str) -> Fail {
    IamError::password_policy_violation(message).into()
}

const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// The first rule of the policy (or of AWS's default policy) that `password` breaks.
fn check_policy(policy: Option<&PasswordPolicyDoc>, password: &str) -> TxResult<()> {
    let has_upper = password.chars().any(|c| c.is_ascii_uppercase());
    let has_lower = password.chars().any(|c| c.is_ascii_lowercase());
    let has_digit = password.chars().any(|c| c.is_ascii_digit());
    let has_symbol = password.chars().any(|c| SYMBOLS.contains(c));
    let length = password.chars().count();
    let Some(p) = policy else {
        // AWS's default: at least 8 characters and three of the four kinds.
        if length < DEFAULT_MINIMUM_LENGTH {
            return Err(violation(&format!(
                "Password should have a minimum length of {DEFAULT_MINIMUM_LENGTH}"
            )));
        }
        let kinds = [has_upper, has_lower, has_digit, has_symbol]
            .iter()
            .filter(|k| **k)
            .count();
        if kinds < 3 {
            return Err(violation(
                "Password does not conform to the account password policy.",
            ));
        }
        return Ok(());
    };
    if length < p.minimum_length.max(0) as usize {
        return Err(violation(&format!(
            "Password should have a minimum length of {}",
            p.minimum_length
        )));
    }
    if p.require_lowercase && !has_lower {
        return Err(violation(
            "Password should have at least one lowercase letter",
        ));
    }
    if p.require_uppercase && !has_upper {
        return Err(violation(
            "Password should have at least one uppercase letter",
        ));
    }
    if p.require_numbers && !has_digit {
        return Err(violation("Password should have at least one number"));
    }
    if p.require_symbols && !has_symbol {
        return Err(violation("Password should have at least one symbol"));
    }
    Ok(())
}

fn hash(password: &str) -> TxResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            IamError::service_failure(
                "The request processing has failed because of an unknown error, exception or failure.",
            )
            .into()
        })
}

fn matches(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a new password against the policy and the reuse history; returns the new hashes.
fn new_hashes(
    txn: &mut dyn Txn,
    account: &str,
    old: Option<Hashes>,
    password: &str,
) -> TxResult<Hashes> {
    let policy = password_policy::find(txn, account)?;
    check_policy(policy.as_ref(), password)?;
    let reuse = policy
        .as_ref()
        .map_or(0, |p| p.reuse_prevention.max(0) as usize);
    let mut history: Vec<String> = Vec::new();
    if let Some(old) = old {
        if !old.current.is_empty() {
            history.push(old.current);
        }
        history.extend(old.previous);
    }
    history.truncate(reuse);
    if history.iter().any(|h| matches(h, password)) {
        return Err(violation(&format!(
            "Policy constraint violation with password reuse prevention during password change. You cannot reuse any of your last {reuse} passwords."
        )));
    }
    Ok(Hashes {
        current: hash(password)?,
        previous: history,
    })
}

fn shape(doc: &LoginProfileDoc) -> LoginProfile {
    LoginProfile {
        user_name: doc.user_name.clone(),
        create_date: Timestamp::from_secs(doc.created),
        password_reset_required: Some(doc.password_reset_required),
    }
}

fn named_user(ctx: &RequestContext, user_name: Option<String>) -> Result<String, IamError> {
    match subject(ctx, user_name)?.user_name() {
        Some(name) => Ok(name.to_string()),
        None => Err(IamError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

pub(crate) async fn create_login_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateLoginProfileRequest,
) -> Result<CreateLoginProfileResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let name = named_user(ctx, input.user_name)?;
    let Some(password) = input.password else {
        return Err(IamError::validation(
            "Password is required to create a login profile.",
        ));
    };
    let reset = input.password_reset_required.unwrap_or(false);
    let doc = svc
        .write(move |txn| {
            let (_, user) = users::load(txn, &account, &name)?;
            if read(txn, &account, &user.name)?.is_some() {
                return Err(IamError::entity_already_exists(format!(
                    "Login Profile for user {} already exists.",
                    user.name
                ))
                .into());
            }
            let hashes = new_hashes(txn, &account, None, password.expose())?;
            let doc = LoginProfileDoc {
                user_name: user.name.clone(),
                created: now,
                password_reset_required: reset,
                password_set: now,
            };
            write(txn, &account, &doc, &hashes)?;
            Ok(doc)
        })
        .await?;
    Ok(CreateLoginProfileResponse {
        login_profile: shape(&doc),
    })
}

pub(crate) async fn get_login_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetLoginProfileRequest,
) -> Result<GetLoginProfileResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let name = named_user(ctx, input.user_name)?;
    let doc = svc
        .read(move |txn| {
            let (_, user) = users::load(txn, &account, &name)?;
            read(txn, &account, &user.name)?
                .map(|(d, _)| d)
                .ok_or_else(|| not_found(&user.name))
        })
        .await?;
    Ok(GetLoginProfileResponse {
        login_profile: shape(&doc),
    })
}

pub(crate) async fn update_login_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: UpdateLoginProfileRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    svc.write(move |txn| {
        let (_, user) = users::load(txn, &account, &input.user_name)?;
        let (mut doc, mut hashes) =
            read(txn, &account, &user.name)?.ok_or_else(|| not_found(&user.name))?;
        if let Some(password) = &input.password {
            hashes = new_hashes(txn, &account, Some(hashes), password.expose())?;
            doc.password_set = now;
        }
        if let Some(reset) = input.password_reset_required {
            doc.password_reset_required = reset;
        }
        write(txn, &account, &doc, &hashes)?;
        Ok(())
    })
    .await
}

pub(crate) async fn delete_login_profile(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteLoginProfileRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let name = named_user(ctx, input.user_name)?;
    svc.write(move |txn| {
        let (_, user) = users::load(txn, &account, &name)?;
        if !txn.delete(LOGIN_PROFILES, &key(&account, &user.name))? {
            return Err(not_found(&user.name));
        }
        Ok(())
    })
    .await
}

/// An IAM user changes their own password; the account policy must let users do so.
pub(crate) async fn change_password(
    svc: &IamService,
    ctx: &RequestContext,
    input: ChangePasswordRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let name = match ctx.principal.kind {
        PrincipalKind::User => user_name_from_arn(&ctx.principal.arn).map(str::to_string),
        _ => None,
    };
    let Some(name) = name else {
        return Err(IamError::invalid_user_type(
            "Only IAM users can change their own password.",
        ));
    };
    svc.write(move |txn| {
        let (_, user) = users::load(txn, &account, &name)?;
        let policy = password_policy::find(txn, &account)?;
        if policy.as_ref().is_some_and(|p| !p.allow_users_to_change) {
            return Err(IamError::Other(coffer_model::AwsError::new(
                403,
                "AccessDenied",
                "Your account password policy does not allow users to change their own password.",
            ))
            .into());
        }
        let (mut doc, hashes) =
            read(txn, &account, &user.name)?.ok_or_else(|| not_found(&user.name))?;
        if !matches(&hashes.current, input.old_password.expose()) {
            return Err(IamError::invalid_user_type("The old password is incorrect.").into());
        }
        let hashes = new_hashes(txn, &account, Some(hashes), input.new_password.expose())?;
        doc.password_set = now;
        doc.password_reset_required = false;
        write(txn, &account, &doc, &hashes)?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicyDoc {
        PasswordPolicyDoc {
            minimum_length: 10,
            require_symbols: true,
            require_numbers: true,
            require_uppercase: true,
            require_lowercase: true,
            allow_users_to_change: true,
            max_age_days: 0,
            reuse_prevention: 2,
            hard_expiry: None,
        }
    }

    fn message(r: TxResult<()>) -> String {
        match r {
            Err(Fail::Iam(e)) => e.message().unwrap_or_default().to_string(),
            _ => "ok".to_string(),
        }
    }

    #[test]
    fn the_first_broken_rule_is_reported() {
        let p = policy();
        assert_eq!(
            message(check_policy(Some(&p), "Ab1!")),
            "Password should have a minimum length of 10"
        );
        assert_eq!(
            message(check_policy(Some(&p), "ABCDEFGH1!")),
            "Password should have at least one lowercase letter"
        );
        assert_eq!(
            message(check_policy(Some(&p), "abcdefgh1!")),
            "Password should have at least one uppercase letter"
        );
        assert_eq!(
            message(check_policy(Some(&p), "Abcdefghi!")),
            "Password should have at least one number"
        );
        assert_eq!(
            message(check_policy(Some(&p), "Abcdefghi1")),
            "Password should have at least one symbol"
        );
        assert_eq!(message(check_policy(Some(&p), "Abcdefgh1!")), "ok");
        assert_eq!(
            message(check_policy(None, "abcdefgh")),
            "Password does not conform to the account password policy."
        );
        assert_eq!(message(check_policy(None, "abcdEFG1")), "ok");
    }

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("Correct-Horse-1").ok().unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("Correct-Horse-1"));
        assert!(matches(&h, "Correct-Horse-1"));
        assert!(!matches(&h, "correct-horse-1"));
    }
}
