//! The IAM operations that need AWS Organizations: centralized root access
//! (`Enable`/`DisableOrganizationsRootCredentialsManagement`, `…RootSessions`,
//! `ListOrganizationsFeatures`) and Organizations access reports
//! (`GenerateOrganizationsAccessReport`, `GetOrganizationsAccessReport`). A Coffer account
//! belongs to no organization, so each answers as IAM does for such an account: the error its
//! model has for it, `OrganizationNotFoundException` (HTTP 400), with the model's description
//! of it as the message. No report can be generated, so no job id is ever found.

use coffer_model::iam::*;

/// What every centralized root access operation, and a request for an Organizations access
/// report, answers.
pub(crate) fn no_organization() -> IamError {
    IamError::organization_not_found(
        "The request was rejected because no organization is associated with your account.",
    )
}

/// No Organizations access report can exist.
pub(crate) fn get_organizations_access_report(
    input: GetOrganizationsAccessReportRequest,
) -> Result<GetOrganizationsAccessReportResponse, IamError> {
    Err(crate::access_reports::no_such_job(&input.job_id))
}
