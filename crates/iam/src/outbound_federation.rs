//! Outbound identity federation (`EnableOutboundWebIdentityFederation`,
//! `DisableOutboundWebIdentityFederation`, `GetOutboundWebIdentityFederationInfo`): whether the
//! account's principals may call STS `GetWebIdentityToken`, and the account's issuer URL. The
//! issuer is made when the feature is first enabled and kept across disabling, in AWS's form
//! (`https://<uuid>.tokens.sts.global.api.aws`). Messages are the model's descriptions of the
//! errors.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_store::{StoreError, Txn};
use serde::{Deserialize, Serialize};

use crate::records;
use crate::IamService;

/// Account → [`FederationDoc`].
pub const OUTBOUND_FEDERATION: &str = "iam_outbound_federation";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FederationDoc {
    enabled: bool,
    issuer: String,
}

fn already_enabled() -> IamError {
    IamError::feature_enabled(
        "The request failed because outbound identity federation is already enabled for your Amazon Web Services account. You cannot enable the feature multiple times. To fetch the current configuration (including the unique issuer URL), use the GetOutboundWebIdentityFederationInfo operation.",
    )
}

fn disabled() -> IamError {
    IamError::feature_disabled(
        "The request failed because outbound identity federation is already disabled for your Amazon Web Services account. You cannot disable the feature multiple times",
    )
}

/// Whether the account's principals may call `GetWebIdentityToken`.
pub fn is_enabled(txn: &mut dyn Txn, account: &str) -> Result<bool, StoreError> {
    Ok(
        records::get::<FederationDoc>(txn, OUTBOUND_FEDERATION, account)?
            .is_some_and(|d| d.enabled),
    )
}

pub(crate) async fn enable_outbound_web_identity_federation(
    svc: &IamService,
    ctx: &RequestContext,
) -> Result<EnableOutboundWebIdentityFederationResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let fresh = format!("https://{}.tokens.sts.global.api.aws", uuid::Uuid::new_v4());
    svc.write(move |txn| {
        let doc = match records::get::<FederationDoc>(txn, OUTBOUND_FEDERATION, &account)? {
            Some(doc) if doc.enabled => return Err(already_enabled().into()),
            Some(doc) => FederationDoc {
                enabled: true,
                ..doc
            },
            None => FederationDoc {
                enabled: true,
                issuer: fresh.clone(),
            },
        };
        records::put(txn, OUTBOUND_FEDERATION, &account, &doc)?;
        Ok(EnableOutboundWebIdentityFederationResponse {
            issuer_identifier: Some(doc.issuer),
        })
    })
    .await
}

pub(crate) async fn disable_outbound_web_identity_federation(
    svc: &IamService,
    ctx: &RequestContext,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let doc = records::get::<FederationDoc>(txn, OUTBOUND_FEDERATION, &account)?
            .filter(|d| d.enabled)
            .ok_or_else(disabled)?;
        let doc = FederationDoc {
            enabled: false,
            ..doc
        };
        records::put(txn, OUTBOUND_FEDERATION, &account, &doc)?;
        Ok(())
    })
    .await
}

/// The issuer and whether the feature is on; `FeatureDisabled` for an account that never
/// enabled it (it has no issuer).
pub(crate) async fn get_outbound_web_identity_federation_info(
    svc: &IamService,
    ctx: &RequestContext,
) -> Result<GetOutboundWebIdentityFederationInfoResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    svc.read(move |txn| {
        let doc = records::get::<FederationDoc>(txn, OUTBOUND_FEDERATION, &account)?
            .ok_or_else(disabled)?;
        Ok(GetOutboundWebIdentityFederationInfoResponse {
            issuer_identifier: Some(doc.issuer),
            jwt_vending_enabled: Some(doc.enabled),
        })
    })
    .await
}
