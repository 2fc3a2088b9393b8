//! The credential report (`GenerateCredentialReport`, `GetCredentialReport`): one CSV row per
//! user, root first, on passwords, MFA and access keys. As in IAM, a report is reused for four
//! hours and then generated anew; Coffer generates it within the request, so it is complete as
//! soon as it is asked for.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::types::{Blob, Timestamp};
use coffer_model::AwsError;
use coffer_store::{NewRecord, Txn};
use serde::{Deserialize, Serialize};

use crate::access_keys::{self, KeyStatus};
use crate::accounts::to_json;
use crate::error::TxResult;
use crate::login_profiles;
use crate::mfa;
use crate::password_policy;
use crate::policy_entities::all_of;
use crate::records;
use crate::users::{UserDoc, USERS};
use crate::IamService;

/// Account → its latest report (the CSV is sealed: it describes credentials).
pub const CREDENTIAL_REPORTS: &str = "iam_credential_reports";

/// A report younger than this is served again instead of regenerated.
const REUSE_SECS: i64 = 4 * 3600;

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

#[derive(Serialize, Deserialize)]
struct ReportDoc {
    /// Seconds since the epoch.
    generated: i64,
}

/// `2025-01-31T12:00:00+00:00`, as the report writes times.
fn time(secs: i64) -> String {
    Timestamp::from_secs(secs)
        .to_iso8601()
        .map(|s| s.replace('Z', "+00:00"))
        .unwrap_or_else(|| "N/A".to_string())
}

/// The five access-key columns of one key, or of a missing one.
fn key_columns(key: Option<&access_keys::AccessKeyDoc>) -> [String; 5] {
    let Some(k) = key else {
        return [
            "false".into(),
            "N/A".into(),
            "N/A".into(),
            "N/A".into(),
            "N/A".into(),
        ];
    };
    let (date, region, service) = match &k.last_used {
        Some(u) => (time(u.date), u.region.clone(), u.service.clone()),
        None => ("N/A".into(), "N/A".into(), "N/A".into()),
    };
    [
        (k.status == KeyStatus::Active).to_string(),
        time(k.create_date.trunc() as i64),
        date,
        region,
        service,
    ]
}

fn keys_of(
    txn: &mut dyn Txn,
    account: &str,
    user: Option<&str>,
) -> TxResult<Vec<access_keys::AccessKeyDoc>> {
    let mut keys = Vec::new();
    for id in access_keys::ids_of(txn, account, user)? {
        if let Some(found) = access_keys::find(txn, &id)? {
            keys.push(found.doc);
        }
    }
    keys.sort_by(|a, b| a.create_date.total_cmp(&b.create_date));
    Ok(keys)
}

fn row(
    name: &str,
    arn: &str,
    created: i64,
    password: [String; 4],
    mfa_active: bool,
    keys: &[access_keys::AccessKeyDoc],
    certs: &[(bool, i64)],
) -> String {
    let mut cols: Vec<String> = vec![name.into(), arn.into(), time(created)];
    cols.extend(password);
    cols.push(mfa_active.to_string());
    cols.extend(key_columns(keys.first()));
    cols.extend(key_columns(keys.get(1)));
    for i in 0..2 {
        match certs.get(i) {
            Some((active, uploaded)) => {
                cols.push(active.to_string());
                cols.push(time(*uploaded));
            }
            None => cols.extend(["false".to_string(), "N/A".to_string()]),
        }
    }
    cols.join(",")
}

fn generate(txn: &mut dyn Txn, account: &str) -> TxResult<String> {
    let mut lines = vec![HEADER.to_string()];
    let created = crate::accounts::get(txn, account)?
        .map(|a| a.created.trunc() as i64)
        .unwrap_or_default();
    let root_keys = keys_of(txn, account, None)?;
    let not_supported = || "not_supported".to_string();
    lines.push(row(
        "<root_account>",
        &format!("arn:aws:iam::{account}:root"),
        created,
        [
            "not_supported".into(),
            "no_information".into(),
            not_supported(),
            not_supported(),
        ],
        false,
        &root_keys,
        &[],
    ));
    let max_age = password_policy::find(txn, account)?
        .map(|p| p.max_age_days)
        .filter(|d| *d > 0);
    for user in all_of::<UserDoc>(txn, USERS, account)? {
        let password = match login_profiles::password_set(txn, account, &user.name)? {
            Some(set) => [
                "true".into(),
                // Coffer has no console: passwords are never used to sign in.
                "no_information".into(),
                time(set),
                max_age
                    .map(|d| time(set + i64::from(d) * 86_400))
                    .unwrap_or_else(|| "N/A".into()),
            ],
            None => ["false".into(), "N/A".into(), "N/A".into(), "N/A".into()],
        };
        let mfa_active = mfa::user_has_devices(txn, account, &user.name)?;
        let keys = keys_of(txn, account, Some(&user.name))?;
        let certs = crate::signing_certificates::summary(txn, account, &user.name)?;
        lines.push(row(
            &user.name,
            &user.arn(account),
            user.created,
            password,
            mfa_active,
            &keys,
            &certs,
        ));
    }
    Ok(lines.join("\n"))
}

/// `Description` of the answer that starts a report where none exists, as the API reference's
/// example shows it (and the AWS CLI prints it, quoted in prowler-cloud/prowler#272).
const NO_REPORT_STARTING: &str = "No report exists. Starting a new report generation task";

/// As IAM answers: `STARTED` when a report generation starts (no report yet, or the last one is
/// four hours old), `COMPLETE` while the existing report is fresh. IAM then builds the report in
/// the background; Coffer builds it before answering, so `GetCredentialReport` has it at once.
pub(crate) async fn generate_credential_report(
    svc: &IamService,
    ctx: &RequestContext,
) -> Result<GenerateCredentialReportResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    svc.write(move |txn| {
        let existing = match txn.get(CREDENTIAL_REPORTS, &account)? {
            Some(r) => Some(records::decode::<ReportDoc>(&r.doc)?),
            None => None,
        };
        if existing
            .as_ref()
            .is_some_and(|doc| now - doc.generated < REUSE_SECS)
        {
            return Ok(GenerateCredentialReportResponse {
                state: Some(ReportStateType::Complete),
                description: None,
            });
        }
        let csv = generate(txn, &account)?;
        let record = NewRecord::new(to_json(&ReportDoc { generated: now })?).with_sealed(csv);
        txn.put(CREDENTIAL_REPORTS, &account, record)?;
        Ok(GenerateCredentialReportResponse {
            state: Some(ReportStateType::Started),
            // AWS documents the description of the first generation only.
            description: existing.is_none().then(|| NO_REPORT_STARTING.to_string()),
        })
    })
    .await
}

/// Before any report: `ReportNotPresent` (HTTP 410) without a message, as AWS answers it (the
/// AWS SDK for Go prints `ReportNotPresent:` with an empty message and HTTP 410,
/// turbot/steampipe-plugin-aws#509; botocore `... operation: Unknown`, prowler-cloud/prowler#272).
/// A report four hours old or older: `ReportExpired` (HTTP 410), likewise without a message.
pub(crate) async fn get_credential_report(
    svc: &IamService,
    ctx: &RequestContext,
) -> Result<GetCredentialReportResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    svc.read(move |txn| {
        let Some(r) = txn.get(CREDENTIAL_REPORTS, &account)? else {
            return Err(IamError::Other(AwsError::without_message(410, "ReportNotPresent")).into());
        };
        let doc: ReportDoc = records::decode(&r.doc)?;
        if now - doc.generated >= REUSE_SECS {
            return Err(IamError::Other(AwsError::without_message(410, "ReportExpired")).into());
        }
        let csv = r.sealed.map(|s| s.expose().to_vec()).unwrap_or_default();
        Ok(GetCredentialReportResponse {
            content: Some(Blob::new(csv)),
            report_format: Some(ReportFormatType::TextCsv),
            generated_time: Some(Timestamp::from_secs(doc.generated)),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_every_column_of_the_header() {
        let line = row(
            "alice",
            "arn:aws:iam::123456789012:user/alice",
            0,
            ["false".into(), "N/A".into(), "N/A".into(), "N/A".into()],
            false,
            &[],
            &[],
        );
        assert_eq!(line.split(',').count(), HEADER.split(',').count());
        assert!(line.starts_with(
            "alice,arn:aws:iam::123456789012:user/alice,1970-01-01T00:00:00+00:00,false"
        ));
    }
}
