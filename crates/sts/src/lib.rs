//! AWS Security Token Service: temporary credentials (`AssumeRole`, `GetSessionToken`,
//! `GetFederationToken`), stored sealed by [`sessions`] and authenticated by the server's key
//! directory; `AssumeRoleWithWebIdentity` against IAM OIDC providers and `AssumeRoleWithSAML`
//! against IAM SAML providers, whose role trust policies the authorizer the service is built with
//! decides (`coffer_model::access::TrustAuthorizer`); `GetDelegatedAccessToken` for IAM delegation
//! requests. `AssumeRoot` and `GetWebIdentityToken` answer as for an account outside AWS
//! Organizations and without outbound identity federation. Operations not implemented answer
//! `NotImplemented` through the generated trait's defaults.

mod access;
mod assume_role;
pub mod authorization_message;
mod common;
mod delegated;
mod federated;
mod info;
mod oidc;
mod saml;
pub mod sessions;
mod tokens;
mod unavailable;
mod web_identity;

use std::sync::Arc;

use coffer_model::access::TrustAuthorizer;
use coffer_model::context::RequestContext;
use coffer_model::sts::*;
use coffer_store::Store;

/// The STS service, over the store that holds roles, users and sessions.
#[derive(Clone)]
pub struct StsService {
    store: Store,
    /// OIDC issuers' keys for `AssumeRoleWithWebIdentity`, cached and fetched within limits.
    oidc: Arc<oidc::Fetcher>,
    /// Decides the role's trust policy for `AssumeRoleWithWebIdentity` and `AssumeRoleWithSAML`
    /// once the token or assertion is verified: the server's authorizer, which decides
    /// `AssumeRole` too, so STS holds no second decision place.
    trust: Arc<dyn TrustAuthorizer>,
}

impl StsService {
    pub fn new(store: Store, trust: Arc<dyn TrustAuthorizer>) -> Self {
        StsService {
            store,
            oidc: Arc::new(oidc::Fetcher::new(Vec::new())),
            trust,
        }
    }

    /// Also trusts the PEM certificates of `pem` when fetching OIDC issuers' keys (a private CA).
    pub fn with_oidc_ca(mut self, pem: &[u8]) -> Result<Self, String> {
        let roots = coffer_outbound::pem_certificates(pem).map_err(|e| e.to_string())?;
        self.oidc = Arc::new(oidc::Fetcher::new(roots));
        Ok(self)
    }

    /// Deletes sessions that have ended; run by the server's maintenance task.
    pub async fn purge_expired(&self, now_millis: i64) -> Result<usize, coffer_store::StoreError> {
        let mut total = 0;
        loop {
            let n = self
                .store
                .write(move |txn| sessions::purge_expired(txn, now_millis, 500))
                .await?;
            total += n;
            if n < 500 {
                return Ok(total);
            }
        }
    }
}

impl Sts for StsService {
    async fn assume_role(
        &self,
        ctx: &RequestContext,
        input: AssumeRoleRequest,
    ) -> Result<AssumeRoleResponse, StsError> {
        assume_role::assume_role(self, ctx, input).await
    }

    async fn assume_role_with_web_identity(
        &self,
        ctx: &RequestContext,
        input: AssumeRoleWithWebIdentityRequest,
    ) -> Result<AssumeRoleWithWebIdentityResponse, StsError> {
        web_identity::assume_role_with_web_identity(self, ctx, input).await
    }

    async fn assume_role_with_saml(
        &self,
        ctx: &RequestContext,
        input: AssumeRoleWithSAMLRequest,
    ) -> Result<AssumeRoleWithSAMLResponse, StsError> {
        saml::assume_role_with_saml(self, ctx, input).await
    }

    async fn get_session_token(
        &self,
        ctx: &RequestContext,
        input: GetSessionTokenRequest,
    ) -> Result<GetSessionTokenResponse, StsError> {
        tokens::get_session_token(self, ctx, input).await
    }

    async fn get_federation_token(
        &self,
        ctx: &RequestContext,
        input: GetFederationTokenRequest,
    ) -> Result<GetFederationTokenResponse, StsError> {
        tokens::get_federation_token(self, ctx, input).await
    }

    async fn get_delegated_access_token(
        &self,
        ctx: &RequestContext,
        input: GetDelegatedAccessTokenRequest,
    ) -> Result<GetDelegatedAccessTokenResponse, StsError> {
        delegated::get_delegated_access_token(self, ctx, input).await
    }

    async fn get_access_key_info(
        &self,
        ctx: &RequestContext,
        input: GetAccessKeyInfoRequest,
    ) -> Result<GetAccessKeyInfoResponse, StsError> {
        info::get_access_key_info(self, ctx, input).await
    }

    async fn decode_authorization_message(
        &self,
        ctx: &RequestContext,
        input: DecodeAuthorizationMessageRequest,
    ) -> Result<DecodeAuthorizationMessageResponse, StsError> {
        info::decode_authorization_message(self, ctx, input)
    }

    /// Needs no permission: AWS answers it even when an explicit deny covers `sts:GetCallerIdentity`.
    async fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: GetCallerIdentityRequest,
    ) -> Result<GetCallerIdentityResponse, StsError> {
        let principal = &ctx.principal;
        Ok(GetCallerIdentityResponse {
            user_id: Some(principal.user_id.clone()),
            account: Some(principal.account_id.clone()),
            arn: Some(principal.arn.clone()),
        })
    }

    async fn assume_root(
        &self,
        ctx: &RequestContext,
        input: AssumeRootRequest,
    ) -> Result<AssumeRootResponse, StsError> {
        Err(unavailable::assume_root(ctx, input))
    }

    async fn get_web_identity_token(
        &self,
        ctx: &RequestContext,
        _input: GetWebIdentityTokenRequest,
    ) -> Result<GetWebIdentityTokenResponse, StsError> {
        unavailable::get_web_identity_token(self, ctx).await
    }
}
