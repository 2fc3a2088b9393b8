//! The STS operations an account outside AWS Organizations, or without outbound identity
//! federation, cannot use: `AssumeRoot` and `GetWebIdentityToken`.

use coffer_model::context::RequestContext;
use coffer_model::sts::*;

use crate::common::{access_denied, store_failed};
use crate::StsService;

/// `AssumeRoot` needs centralized root access, which only an Organizations management (or
/// delegated administrator) account can have: a Coffer account is in no organization, so the
/// caller, whoever it is, may not assume root in the target account. AWS's denial wording, naming
/// the target account's root as the resource; root's own credentials are refused the same way
/// (AWS: "You cannot use root user credentials to make this call").
pub(crate) fn assume_root(ctx: &RequestContext, input: AssumeRootRequest) -> StsError {
    access_denied(format!(
        "User: {} is not authorized to perform: sts:AssumeRoot on resource: {}",
        ctx.principal.arn,
        target_root(&input.target_principal)
    ))
}

/// `TargetPrincipal` is an account id or the account's root ARN.
pub(crate) fn target_root(target: &str) -> String {
    if target.starts_with("arn:") {
        target.to_string()
    } else {
        format!("arn:aws:iam::{target}:root")
    }
}

/// `GetWebIdentityToken` answers AWS's error while the caller's account has not enabled outbound
/// identity federation (IAM `EnableOutboundWebIdentityFederation`). With it enabled, issuing the
/// token (and publishing its keys at the issuer's JWKS endpoint) is not implemented.
pub(crate) async fn get_web_identity_token(
    sts: &StsService,
    ctx: &RequestContext,
) -> Result<GetWebIdentityTokenResponse, StsError> {
    let account = ctx.principal.account_id.clone();
    let enabled = sts
        .store
        .read(move |txn| coffer_iam::outbound_federation::is_enabled(txn, &account))
        .await
        .map_err(store_failed)?;
    if !enabled {
        return Err(StsError::outbound_web_identity_federation_disabled(
            "The outbound web identity federation feature is not enabled for this account. To use this feature, you must first enable it through the Amazon Web Services Management Console or API.",
        ));
    }
    Err(StsError::not_implemented("GetWebIdentityToken"))
}
