//! AWS Identity and Access Management: accounts, users, groups, policies and access keys.
//! Identities live in the store, every record keyed by its account; the server's key directory
//! reads access keys through [`access_keys::find`] / [`access_keys::from_record`].

pub mod access_keys;
mod access_reports;
mod account;
pub mod accounts;
mod attachments;
pub mod authorization;
mod authorization_details;
mod aws_managed;
pub mod aws_reference;
mod boundaries;
mod caller;
mod credential_report;
mod credentials;
pub mod delegation_requests;
mod documents;
mod entity_policies;
mod error;
pub mod groups;
mod holders;
pub mod ids;
mod inline_policies;
pub mod instance_profiles;
pub mod login_profiles;
mod membership;
pub mod mfa;
pub mod oidc_providers;
mod organizations;
pub mod outbound_federation;
mod paging;
pub mod password_policy;
pub mod policies;
mod policy_entities;
mod policy_versions;
pub mod principal_ids;
mod records;
pub mod roles;
pub mod saml_providers;
pub mod server_certificates;
pub mod service_access;
pub mod service_credentials;
pub mod service_linked_roles;
mod signing_certificates;
mod simulate;
mod ssh_keys;
mod tags;
mod user_records;
pub mod users;
mod x509;

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_store::{Store, Txn};

pub use holders::{InlinePolicy, Permissions};

use crate::error::Fail;

/// The IAM service over a store; cheap to clone.
#[derive(Clone)]
pub struct IamService {
    store: Store,
    /// Where `SendDelegationToken` writes exchange tokens for partners (`serve
    /// --delegation-outbox`); without it no token can be sent.
    delegation_outbox: Option<std::path::PathBuf>,
}

impl IamService {
    pub fn new(store: Store) -> Self {
        IamService {
            store,
            delegation_outbox: None,
        }
    }

    /// Delivers delegation exchange tokens as files in `dir` (AWS publishes them to the partner's
    /// SNS topic, which Coffer does not serve).
    pub fn with_delegation_outbox(mut self, dir: std::path::PathBuf) -> Self {
        self.delegation_outbox = Some(dir);
        self
    }

    /// The store the service keeps identities in, for authorization to read entities.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs `f` in one read-write transaction; an `Err` rolls back everything it wrote.
    pub(crate) async fn write<R, F>(&self, f: F) -> Result<R, IamError>
    where
        F: FnMut(&mut dyn Txn) -> Result<R, Fail> + Send + 'static,
        R: Send + 'static,
    {
        self.store.write(f).await.map_err(IamError::from)
    }

    pub(crate) async fn read<R, F>(&self, f: F) -> Result<R, IamError>
    where
        F: FnMut(&mut dyn Txn) -> Result<R, Fail> + Send + 'static,
        R: Send + 'static,
    {
        self.store.read(f).await.map_err(IamError::from)
    }
}

impl Iam for IamService {
    // Temporary delegation
    async fn create_delegation_request(
        &self,
        ctx: &RequestContext,
        input: CreateDelegationRequestRequest,
    ) -> Result<CreateDelegationRequestResponse, IamError> {
        delegation_requests::create_delegation_request(self, ctx, input).await
    }

    async fn get_delegation_request(
        &self,
        ctx: &RequestContext,
        input: GetDelegationRequestRequest,
    ) -> Result<GetDelegationRequestResponse, IamError> {
        delegation_requests::get_delegation_request(self, ctx, input).await
    }

    async fn list_delegation_requests(
        &self,
        ctx: &RequestContext,
        input: ListDelegationRequestsRequest,
    ) -> Result<ListDelegationRequestsResponse, IamError> {
        delegation_requests::list_delegation_requests(self, ctx, input).await
    }

    async fn associate_delegation_request(
        &self,
        ctx: &RequestContext,
        input: AssociateDelegationRequestRequest,
    ) -> Result<(), IamError> {
        delegation_requests::associate_delegation_request(self, ctx, input).await
    }

    async fn update_delegation_request(
        &self,
        ctx: &RequestContext,
        input: UpdateDelegationRequestRequest,
    ) -> Result<(), IamError> {
        delegation_requests::update_delegation_request(self, ctx, input).await
    }

    async fn accept_delegation_request(
        &self,
        ctx: &RequestContext,
        input: AcceptDelegationRequestRequest,
    ) -> Result<(), IamError> {
        delegation_requests::accept_delegation_request(self, ctx, input).await
    }

    async fn reject_delegation_request(
        &self,
        ctx: &RequestContext,
        input: RejectDelegationRequestRequest,
    ) -> Result<(), IamError> {
        delegation_requests::reject_delegation_request(self, ctx, input).await
    }

    async fn send_delegation_token(
        &self,
        ctx: &RequestContext,
        input: SendDelegationTokenRequest,
    ) -> Result<(), IamError> {
        delegation_requests::send_delegation_token(self, ctx, input).await
    }

    async fn get_human_readable_summary(
        &self,
        ctx: &RequestContext,
        input: GetHumanReadableSummaryRequest,
    ) -> Result<GetHumanReadableSummaryResponse, IamError> {
        delegation_requests::get_human_readable_summary(self, ctx, input).await
    }
    // End of temporary delegation

    // Policy simulator
    async fn simulate_custom_policy(
        &self,
        ctx: &RequestContext,
        input: SimulateCustomPolicyRequest,
    ) -> Result<SimulatePolicyResponse, IamError> {
        simulate::simulate_custom_policy(self, ctx, input).await
    }

    async fn simulate_principal_policy(
        &self,
        ctx: &RequestContext,
        input: SimulatePrincipalPolicyRequest,
    ) -> Result<SimulatePolicyResponse, IamError> {
        simulate::simulate_principal_policy(self, ctx, input).await
    }

    async fn get_context_keys_for_custom_policy(
        &self,
        ctx: &RequestContext,
        input: GetContextKeysForCustomPolicyRequest,
    ) -> Result<GetContextKeysForPolicyResponse, IamError> {
        simulate::get_context_keys_for_custom_policy(self, ctx, input).await
    }

    async fn get_context_keys_for_principal_policy(
        &self,
        ctx: &RequestContext,
        input: GetContextKeysForPrincipalPolicyRequest,
    ) -> Result<GetContextKeysForPolicyResponse, IamError> {
        simulate::get_context_keys_for_principal_policy(self, ctx, input).await
    }
    // End of policy simulator

    // MFA devices
    async fn create_virtual_mfa_device(
        &self,
        ctx: &RequestContext,
        input: CreateVirtualMFADeviceRequest,
    ) -> Result<CreateVirtualMFADeviceResponse, IamError> {
        mfa::create_virtual_mfa_device(self, ctx, input).await
    }

    async fn enable_mfa_device(
        &self,
        ctx: &RequestContext,
        input: EnableMFADeviceRequest,
    ) -> Result<(), IamError> {
        mfa::enable_mfa_device(self, ctx, input).await
    }

    async fn resync_mfa_device(
        &self,
        ctx: &RequestContext,
        input: ResyncMFADeviceRequest,
    ) -> Result<(), IamError> {
        mfa::resync_mfa_device(self, ctx, input).await
    }

    async fn deactivate_mfa_device(
        &self,
        ctx: &RequestContext,
        input: DeactivateMFADeviceRequest,
    ) -> Result<(), IamError> {
        mfa::deactivate_mfa_device(self, ctx, input).await
    }

    async fn delete_virtual_mfa_device(
        &self,
        ctx: &RequestContext,
        input: DeleteVirtualMFADeviceRequest,
    ) -> Result<(), IamError> {
        mfa::delete_virtual_mfa_device(self, ctx, input).await
    }

    async fn list_mfa_devices(
        &self,
        ctx: &RequestContext,
        input: ListMFADevicesRequest,
    ) -> Result<ListMFADevicesResponse, IamError> {
        mfa::list_mfa_devices(self, ctx, input).await
    }

    async fn list_virtual_mfa_devices(
        &self,
        ctx: &RequestContext,
        input: ListVirtualMFADevicesRequest,
    ) -> Result<ListVirtualMFADevicesResponse, IamError> {
        mfa::list_virtual_mfa_devices(self, ctx, input).await
    }

    async fn get_mfa_device(
        &self,
        ctx: &RequestContext,
        input: GetMFADeviceRequest,
    ) -> Result<GetMFADeviceResponse, IamError> {
        mfa::get_mfa_device(self, ctx, input).await
    }

    async fn tag_mfa_device(
        &self,
        ctx: &RequestContext,
        input: TagMFADeviceRequest,
    ) -> Result<(), IamError> {
        mfa::tag_mfa_device(self, ctx, input).await
    }

    async fn untag_mfa_device(
        &self,
        ctx: &RequestContext,
        input: UntagMFADeviceRequest,
    ) -> Result<(), IamError> {
        mfa::untag_mfa_device(self, ctx, input).await
    }

    async fn list_mfa_device_tags(
        &self,
        ctx: &RequestContext,
        input: ListMFADeviceTagsRequest,
    ) -> Result<ListMFADeviceTagsResponse, IamError> {
        mfa::list_mfa_device_tags(self, ctx, input).await
    }
    // end MFA devices

    // Login profiles
    async fn create_login_profile(
        &self,
        ctx: &RequestContext,
        input: CreateLoginProfileRequest,
    ) -> Result<CreateLoginProfileResponse, IamError> {
        login_profiles::create_login_profile(self, ctx, input).await
    }

    async fn get_login_profile(
        &self,
        ctx: &RequestContext,
        input: GetLoginProfileRequest,
    ) -> Result<GetLoginProfileResponse, IamError> {
        login_profiles::get_login_profile(self, ctx, input).await
    }

    async fn update_login_profile(
        &self,
        ctx: &RequestContext,
        input: UpdateLoginProfileRequest,
    ) -> Result<(), IamError> {
        login_profiles::update_login_profile(self, ctx, input).await
    }

    async fn delete_login_profile(
        &self,
        ctx: &RequestContext,
        input: DeleteLoginProfileRequest,
    ) -> Result<(), IamError> {
        login_profiles::delete_login_profile(self, ctx, input).await
    }

    async fn change_password(
        &self,
        ctx: &RequestContext,
        input: ChangePasswordRequest,
    ) -> Result<(), IamError> {
        login_profiles::change_password(self, ctx, input).await
    }
    // end login profiles

    async fn get_account_authorization_details(
        &self,
        ctx: &RequestContext,
        input: GetAccountAuthorizationDetailsRequest,
    ) -> Result<GetAccountAuthorizationDetailsResponse, IamError> {
        authorization_details::get_account_authorization_details(self, ctx, input).await
    }

    // Service-linked roles
    async fn create_service_linked_role(
        &self,
        ctx: &RequestContext,
        input: CreateServiceLinkedRoleRequest,
    ) -> Result<CreateServiceLinkedRoleResponse, IamError> {
        service_linked_roles::create_service_linked_role(self, ctx, input).await
    }

    async fn delete_service_linked_role(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceLinkedRoleRequest,
    ) -> Result<DeleteServiceLinkedRoleResponse, IamError> {
        service_linked_roles::delete_service_linked_role(self, ctx, input).await
    }

    async fn get_service_linked_role_deletion_status(
        &self,
        ctx: &RequestContext,
        input: GetServiceLinkedRoleDeletionStatusRequest,
    ) -> Result<GetServiceLinkedRoleDeletionStatusResponse, IamError> {
        service_linked_roles::get_service_linked_role_deletion_status(self, ctx, input).await
    }

    // SAML providers
    async fn create_saml_provider(
        &self,
        ctx: &RequestContext,
        input: CreateSAMLProviderRequest,
    ) -> Result<CreateSAMLProviderResponse, IamError> {
        saml_providers::create_saml_provider(self, ctx, input).await
    }

    async fn get_saml_provider(
        &self,
        ctx: &RequestContext,
        input: GetSAMLProviderRequest,
    ) -> Result<GetSAMLProviderResponse, IamError> {
        saml_providers::get_saml_provider(self, ctx, input).await
    }

    async fn list_saml_providers(
        &self,
        ctx: &RequestContext,
        input: ListSAMLProvidersRequest,
    ) -> Result<ListSAMLProvidersResponse, IamError> {
        saml_providers::list_saml_providers(self, ctx, input).await
    }

    async fn update_saml_provider(
        &self,
        ctx: &RequestContext,
        input: UpdateSAMLProviderRequest,
    ) -> Result<UpdateSAMLProviderResponse, IamError> {
        saml_providers::update_saml_provider(self, ctx, input).await
    }

    async fn delete_saml_provider(
        &self,
        ctx: &RequestContext,
        input: DeleteSAMLProviderRequest,
    ) -> Result<(), IamError> {
        saml_providers::delete_saml_provider(self, ctx, input).await
    }

    async fn tag_saml_provider(
        &self,
        ctx: &RequestContext,
        input: TagSAMLProviderRequest,
    ) -> Result<(), IamError> {
        saml_providers::tag_saml_provider(self, ctx, input).await
    }

    async fn untag_saml_provider(
        &self,
        ctx: &RequestContext,
        input: UntagSAMLProviderRequest,
    ) -> Result<(), IamError> {
        saml_providers::untag_saml_provider(self, ctx, input).await
    }

    async fn list_saml_provider_tags(
        &self,
        ctx: &RequestContext,
        input: ListSAMLProviderTagsRequest,
    ) -> Result<ListSAMLProviderTagsResponse, IamError> {
        saml_providers::list_saml_provider_tags(self, ctx, input).await
    }
    // end SAML providers

    // Service-specific credentials
    async fn create_service_specific_credential(
        &self,
        ctx: &RequestContext,
        input: CreateServiceSpecificCredentialRequest,
    ) -> Result<CreateServiceSpecificCredentialResponse, IamError> {
        service_credentials::create_service_specific_credential(self, ctx, input).await
    }

    async fn reset_service_specific_credential(
        &self,
        ctx: &RequestContext,
        input: ResetServiceSpecificCredentialRequest,
    ) -> Result<ResetServiceSpecificCredentialResponse, IamError> {
        service_credentials::reset_service_specific_credential(self, ctx, input).await
    }

    async fn update_service_specific_credential(
        &self,
        ctx: &RequestContext,
        input: UpdateServiceSpecificCredentialRequest,
    ) -> Result<(), IamError> {
        service_credentials::update_service_specific_credential(self, ctx, input).await
    }

    async fn delete_service_specific_credential(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceSpecificCredentialRequest,
    ) -> Result<(), IamError> {
        service_credentials::delete_service_specific_credential(self, ctx, input).await
    }

    async fn list_service_specific_credentials(
        &self,
        ctx: &RequestContext,
        input: ListServiceSpecificCredentialsRequest,
    ) -> Result<ListServiceSpecificCredentialsResponse, IamError> {
        service_credentials::list_service_specific_credentials(self, ctx, input).await
    }

    async fn set_security_token_service_preferences(
        &self,
        ctx: &RequestContext,
        input: SetSecurityTokenServicePreferencesRequest,
    ) -> Result<(), IamError> {
        account::set_security_token_service_preferences(self, ctx, input).await
    }

    // Server certificates
    async fn upload_server_certificate(
        &self,
        ctx: &RequestContext,
        input: UploadServerCertificateRequest,
    ) -> Result<UploadServerCertificateResponse, IamError> {
        server_certificates::upload_server_certificate(self, ctx, input).await
    }

    async fn get_server_certificate(
        &self,
        ctx: &RequestContext,
        input: GetServerCertificateRequest,
    ) -> Result<GetServerCertificateResponse, IamError> {
        server_certificates::get_server_certificate(self, ctx, input).await
    }

    async fn list_server_certificates(
        &self,
        ctx: &RequestContext,
        input: ListServerCertificatesRequest,
    ) -> Result<ListServerCertificatesResponse, IamError> {
        server_certificates::list_server_certificates(self, ctx, input).await
    }

    async fn update_server_certificate(
        &self,
        ctx: &RequestContext,
        input: UpdateServerCertificateRequest,
    ) -> Result<(), IamError> {
        server_certificates::update_server_certificate(self, ctx, input).await
    }

    async fn delete_server_certificate(
        &self,
        ctx: &RequestContext,
        input: DeleteServerCertificateRequest,
    ) -> Result<(), IamError> {
        server_certificates::delete_server_certificate(self, ctx, input).await
    }

    async fn tag_server_certificate(
        &self,
        ctx: &RequestContext,
        input: TagServerCertificateRequest,
    ) -> Result<(), IamError> {
        server_certificates::tag_server_certificate(self, ctx, input).await
    }

    async fn untag_server_certificate(
        &self,
        ctx: &RequestContext,
        input: UntagServerCertificateRequest,
    ) -> Result<(), IamError> {
        server_certificates::untag_server_certificate(self, ctx, input).await
    }

    async fn list_server_certificate_tags(
        &self,
        ctx: &RequestContext,
        input: ListServerCertificateTagsRequest,
    ) -> Result<ListServerCertificateTagsResponse, IamError> {
        server_certificates::list_server_certificate_tags(self, ctx, input).await
    }

    // Signing certificates
    async fn upload_signing_certificate(
        &self,
        ctx: &RequestContext,
        input: UploadSigningCertificateRequest,
    ) -> Result<UploadSigningCertificateResponse, IamError> {
        signing_certificates::upload_signing_certificate(self, ctx, input).await
    }

    async fn list_signing_certificates(
        &self,
        ctx: &RequestContext,
        input: ListSigningCertificatesRequest,
    ) -> Result<ListSigningCertificatesResponse, IamError> {
        signing_certificates::list_signing_certificates(self, ctx, input).await
    }

    async fn update_signing_certificate(
        &self,
        ctx: &RequestContext,
        input: UpdateSigningCertificateRequest,
    ) -> Result<(), IamError> {
        signing_certificates::update_signing_certificate(self, ctx, input).await
    }

    async fn delete_signing_certificate(
        &self,
        ctx: &RequestContext,
        input: DeleteSigningCertificateRequest,
    ) -> Result<(), IamError> {
        signing_certificates::delete_signing_certificate(self, ctx, input).await
    }

    // SSH public keys
    async fn upload_ssh_public_key(
        &self,
        ctx: &RequestContext,
        input: UploadSSHPublicKeyRequest,
    ) -> Result<UploadSSHPublicKeyResponse, IamError> {
        ssh_keys::upload_ssh_public_key(self, ctx, input).await
    }

    async fn get_ssh_public_key(
        &self,
        ctx: &RequestContext,
        input: GetSSHPublicKeyRequest,
    ) -> Result<GetSSHPublicKeyResponse, IamError> {
        ssh_keys::get_ssh_public_key(self, ctx, input).await
    }

    async fn list_ssh_public_keys(
        &self,
        ctx: &RequestContext,
        input: ListSSHPublicKeysRequest,
    ) -> Result<ListSSHPublicKeysResponse, IamError> {
        ssh_keys::list_ssh_public_keys(self, ctx, input).await
    }

    async fn update_ssh_public_key(
        &self,
        ctx: &RequestContext,
        input: UpdateSSHPublicKeyRequest,
    ) -> Result<(), IamError> {
        ssh_keys::update_ssh_public_key(self, ctx, input).await
    }

    async fn delete_ssh_public_key(
        &self,
        ctx: &RequestContext,
        input: DeleteSSHPublicKeyRequest,
    ) -> Result<(), IamError> {
        ssh_keys::delete_ssh_public_key(self, ctx, input).await
    }

    async fn generate_credential_report(
        &self,
        ctx: &RequestContext,
    ) -> Result<GenerateCredentialReportResponse, IamError> {
        credential_report::generate_credential_report(self, ctx).await
    }

    async fn get_credential_report(
        &self,
        ctx: &RequestContext,
    ) -> Result<GetCredentialReportResponse, IamError> {
        credential_report::get_credential_report(self, ctx).await
    }

    async fn put_user_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: PutUserPermissionsBoundaryRequest,
    ) -> Result<(), IamError> {
        boundaries::put_user_permissions_boundary(self, ctx, input).await
    }

    async fn delete_user_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: DeleteUserPermissionsBoundaryRequest,
    ) -> Result<(), IamError> {
        boundaries::delete_user_permissions_boundary(self, ctx, input).await
    }

    async fn create_user(
        &self,
        ctx: &RequestContext,
        input: CreateUserRequest,
    ) -> Result<CreateUserResponse, IamError> {
        users::create_user(self, ctx, input).await
    }

    async fn get_user(
        &self,
        ctx: &RequestContext,
        input: GetUserRequest,
    ) -> Result<GetUserResponse, IamError> {
        users::get_user(self, ctx, input).await
    }

    async fn update_user(
        &self,
        ctx: &RequestContext,
        input: UpdateUserRequest,
    ) -> Result<(), IamError> {
        users::update_user(self, ctx, input).await
    }

    async fn delete_user(
        &self,
        ctx: &RequestContext,
        input: DeleteUserRequest,
    ) -> Result<(), IamError> {
        users::delete_user(self, ctx, input).await
    }

    async fn list_users(
        &self,
        ctx: &RequestContext,
        input: ListUsersRequest,
    ) -> Result<ListUsersResponse, IamError> {
        users::list_users(self, ctx, input).await
    }

    async fn tag_user(&self, ctx: &RequestContext, input: TagUserRequest) -> Result<(), IamError> {
        users::tag_user(self, ctx, input).await
    }

    async fn untag_user(
        &self,
        ctx: &RequestContext,
        input: UntagUserRequest,
    ) -> Result<(), IamError> {
        users::untag_user(self, ctx, input).await
    }

    async fn list_user_tags(
        &self,
        ctx: &RequestContext,
        input: ListUserTagsRequest,
    ) -> Result<ListUserTagsResponse, IamError> {
        users::list_user_tags(self, ctx, input).await
    }

    async fn create_access_key(
        &self,
        ctx: &RequestContext,
        input: CreateAccessKeyRequest,
    ) -> Result<CreateAccessKeyResponse, IamError> {
        credentials::create_access_key(self, ctx, input).await
    }

    async fn update_access_key(
        &self,
        ctx: &RequestContext,
        input: UpdateAccessKeyRequest,
    ) -> Result<(), IamError> {
        credentials::update_access_key(self, ctx, input).await
    }

    async fn delete_access_key(
        &self,
        ctx: &RequestContext,
        input: DeleteAccessKeyRequest,
    ) -> Result<(), IamError> {
        credentials::delete_access_key(self, ctx, input).await
    }

    async fn list_access_keys(
        &self,
        ctx: &RequestContext,
        input: ListAccessKeysRequest,
    ) -> Result<ListAccessKeysResponse, IamError> {
        credentials::list_access_keys(self, ctx, input).await
    }

    async fn get_access_key_last_used(
        &self,
        ctx: &RequestContext,
        input: GetAccessKeyLastUsedRequest,
    ) -> Result<GetAccessKeyLastUsedResponse, IamError> {
        credentials::get_access_key_last_used(self, ctx, input).await
    }

    async fn create_group(
        &self,
        ctx: &RequestContext,
        input: CreateGroupRequest,
    ) -> Result<CreateGroupResponse, IamError> {
        groups::create_group(self, ctx, input).await
    }

    async fn get_group(
        &self,
        ctx: &RequestContext,
        input: GetGroupRequest,
    ) -> Result<GetGroupResponse, IamError> {
        groups::get_group(self, ctx, input).await
    }

    async fn update_group(
        &self,
        ctx: &RequestContext,
        input: UpdateGroupRequest,
    ) -> Result<(), IamError> {
        groups::update_group(self, ctx, input).await
    }

    async fn delete_group(
        &self,
        ctx: &RequestContext,
        input: DeleteGroupRequest,
    ) -> Result<(), IamError> {
        groups::delete_group(self, ctx, input).await
    }

    async fn list_groups(
        &self,
        ctx: &RequestContext,
        input: ListGroupsRequest,
    ) -> Result<ListGroupsResponse, IamError> {
        groups::list_groups(self, ctx, input).await
    }

    async fn add_user_to_group(
        &self,
        ctx: &RequestContext,
        input: AddUserToGroupRequest,
    ) -> Result<(), IamError> {
        groups::add_user_to_group(self, ctx, input).await
    }

    async fn remove_user_from_group(
        &self,
        ctx: &RequestContext,
        input: RemoveUserFromGroupRequest,
    ) -> Result<(), IamError> {
        groups::remove_user_from_group(self, ctx, input).await
    }

    async fn list_groups_for_user(
        &self,
        ctx: &RequestContext,
        input: ListGroupsForUserRequest,
    ) -> Result<ListGroupsForUserResponse, IamError> {
        groups::list_groups_for_user(self, ctx, input).await
    }

    async fn create_policy(
        &self,
        ctx: &RequestContext,
        input: CreatePolicyRequest,
    ) -> Result<CreatePolicyResponse, IamError> {
        policies::create_policy(self, ctx, input).await
    }

    async fn get_policy(
        &self,
        ctx: &RequestContext,
        input: GetPolicyRequest,
    ) -> Result<GetPolicyResponse, IamError> {
        policies::get_policy(self, ctx, input).await
    }

    async fn delete_policy(
        &self,
        ctx: &RequestContext,
        input: DeletePolicyRequest,
    ) -> Result<(), IamError> {
        policies::delete_policy(self, ctx, input).await
    }

    async fn list_policies(
        &self,
        ctx: &RequestContext,
        input: ListPoliciesRequest,
    ) -> Result<ListPoliciesResponse, IamError> {
        policies::list_policies(self, ctx, input).await
    }

    async fn create_policy_version(
        &self,
        ctx: &RequestContext,
        input: CreatePolicyVersionRequest,
    ) -> Result<CreatePolicyVersionResponse, IamError> {
        policy_versions::create_policy_version(self, ctx, input).await
    }

    async fn get_policy_version(
        &self,
        ctx: &RequestContext,
        input: GetPolicyVersionRequest,
    ) -> Result<GetPolicyVersionResponse, IamError> {
        policy_versions::get_policy_version(self, ctx, input).await
    }

    async fn list_policy_versions(
        &self,
        ctx: &RequestContext,
        input: ListPolicyVersionsRequest,
    ) -> Result<ListPolicyVersionsResponse, IamError> {
        policy_versions::list_policy_versions(self, ctx, input).await
    }

    async fn delete_policy_version(
        &self,
        ctx: &RequestContext,
        input: DeletePolicyVersionRequest,
    ) -> Result<(), IamError> {
        policy_versions::delete_policy_version(self, ctx, input).await
    }

    async fn set_default_policy_version(
        &self,
        ctx: &RequestContext,
        input: SetDefaultPolicyVersionRequest,
    ) -> Result<(), IamError> {
        policy_versions::set_default_policy_version(self, ctx, input).await
    }

    async fn attach_user_policy(
        &self,
        ctx: &RequestContext,
        input: AttachUserPolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::attach_user_policy(self, ctx, input).await
    }

    async fn detach_user_policy(
        &self,
        ctx: &RequestContext,
        input: DetachUserPolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::detach_user_policy(self, ctx, input).await
    }

    async fn attach_group_policy(
        &self,
        ctx: &RequestContext,
        input: AttachGroupPolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::attach_group_policy(self, ctx, input).await
    }

    async fn detach_group_policy(
        &self,
        ctx: &RequestContext,
        input: DetachGroupPolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::detach_group_policy(self, ctx, input).await
    }

    async fn list_attached_user_policies(
        &self,
        ctx: &RequestContext,
        input: ListAttachedUserPoliciesRequest,
    ) -> Result<ListAttachedUserPoliciesResponse, IamError> {
        entity_policies::list_attached_user_policies(self, ctx, input).await
    }

    async fn list_attached_group_policies(
        &self,
        ctx: &RequestContext,
        input: ListAttachedGroupPoliciesRequest,
    ) -> Result<ListAttachedGroupPoliciesResponse, IamError> {
        entity_policies::list_attached_group_policies(self, ctx, input).await
    }

    async fn put_user_policy(
        &self,
        ctx: &RequestContext,
        input: PutUserPolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::put_user_policy(self, ctx, input).await
    }

    async fn get_user_policy(
        &self,
        ctx: &RequestContext,
        input: GetUserPolicyRequest,
    ) -> Result<GetUserPolicyResponse, IamError> {
        entity_policies::get_user_policy(self, ctx, input).await
    }

    async fn delete_user_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteUserPolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::delete_user_policy(self, ctx, input).await
    }

    async fn list_user_policies(
        &self,
        ctx: &RequestContext,
        input: ListUserPoliciesRequest,
    ) -> Result<ListUserPoliciesResponse, IamError> {
        entity_policies::list_user_policies(self, ctx, input).await
    }

    async fn put_group_policy(
        &self,
        ctx: &RequestContext,
        input: PutGroupPolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::put_group_policy(self, ctx, input).await
    }

    async fn get_group_policy(
        &self,
        ctx: &RequestContext,
        input: GetGroupPolicyRequest,
    ) -> Result<GetGroupPolicyResponse, IamError> {
        entity_policies::get_group_policy(self, ctx, input).await
    }

    async fn delete_group_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteGroupPolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::delete_group_policy(self, ctx, input).await
    }

    async fn list_group_policies(
        &self,
        ctx: &RequestContext,
        input: ListGroupPoliciesRequest,
    ) -> Result<ListGroupPoliciesResponse, IamError> {
        entity_policies::list_group_policies(self, ctx, input).await
    }

    async fn create_role(
        &self,
        ctx: &RequestContext,
        input: CreateRoleRequest,
    ) -> Result<CreateRoleResponse, IamError> {
        roles::create_role(self, ctx, input).await
    }

    async fn get_role(
        &self,
        ctx: &RequestContext,
        input: GetRoleRequest,
    ) -> Result<GetRoleResponse, IamError> {
        roles::get_role(self, ctx, input).await
    }

    async fn update_role(
        &self,
        ctx: &RequestContext,
        input: UpdateRoleRequest,
    ) -> Result<UpdateRoleResponse, IamError> {
        roles::update_role(self, ctx, input).await
    }

    async fn update_role_description(
        &self,
        ctx: &RequestContext,
        input: UpdateRoleDescriptionRequest,
    ) -> Result<UpdateRoleDescriptionResponse, IamError> {
        roles::update_role_description(self, ctx, input).await
    }

    async fn delete_role(
        &self,
        ctx: &RequestContext,
        input: DeleteRoleRequest,
    ) -> Result<(), IamError> {
        roles::delete_role(self, ctx, input).await
    }

    async fn list_roles(
        &self,
        ctx: &RequestContext,
        input: ListRolesRequest,
    ) -> Result<ListRolesResponse, IamError> {
        roles::list_roles(self, ctx, input).await
    }

    async fn update_assume_role_policy(
        &self,
        ctx: &RequestContext,
        input: UpdateAssumeRolePolicyRequest,
    ) -> Result<(), IamError> {
        roles::update_assume_role_policy(self, ctx, input).await
    }

    async fn tag_role(&self, ctx: &RequestContext, input: TagRoleRequest) -> Result<(), IamError> {
        roles::tag_role(self, ctx, input).await
    }

    async fn untag_role(
        &self,
        ctx: &RequestContext,
        input: UntagRoleRequest,
    ) -> Result<(), IamError> {
        roles::untag_role(self, ctx, input).await
    }

    async fn list_role_tags(
        &self,
        ctx: &RequestContext,
        input: ListRoleTagsRequest,
    ) -> Result<ListRoleTagsResponse, IamError> {
        roles::list_role_tags(self, ctx, input).await
    }

    async fn attach_role_policy(
        &self,
        ctx: &RequestContext,
        input: AttachRolePolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::attach_role_policy(self, ctx, input).await
    }

    async fn detach_role_policy(
        &self,
        ctx: &RequestContext,
        input: DetachRolePolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::detach_role_policy(self, ctx, input).await
    }

    async fn list_attached_role_policies(
        &self,
        ctx: &RequestContext,
        input: ListAttachedRolePoliciesRequest,
    ) -> Result<ListAttachedRolePoliciesResponse, IamError> {
        entity_policies::list_attached_role_policies(self, ctx, input).await
    }

    async fn put_role_policy(
        &self,
        ctx: &RequestContext,
        input: PutRolePolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::put_role_policy(self, ctx, input).await
    }

    async fn get_role_policy(
        &self,
        ctx: &RequestContext,
        input: GetRolePolicyRequest,
    ) -> Result<GetRolePolicyResponse, IamError> {
        entity_policies::get_role_policy(self, ctx, input).await
    }

    async fn delete_role_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRolePolicyRequest,
    ) -> Result<(), IamError> {
        entity_policies::delete_role_policy(self, ctx, input).await
    }

    async fn list_role_policies(
        &self,
        ctx: &RequestContext,
        input: ListRolePoliciesRequest,
    ) -> Result<ListRolePoliciesResponse, IamError> {
        entity_policies::list_role_policies(self, ctx, input).await
    }

    async fn put_role_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: PutRolePermissionsBoundaryRequest,
    ) -> Result<(), IamError> {
        boundaries::put_role_permissions_boundary(self, ctx, input).await
    }

    async fn delete_role_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: DeleteRolePermissionsBoundaryRequest,
    ) -> Result<(), IamError> {
        boundaries::delete_role_permissions_boundary(self, ctx, input).await
    }

    async fn tag_policy(
        &self,
        ctx: &RequestContext,
        input: TagPolicyRequest,
    ) -> Result<(), IamError> {
        policy_entities::tag_policy(self, ctx, input).await
    }

    async fn untag_policy(
        &self,
        ctx: &RequestContext,
        input: UntagPolicyRequest,
    ) -> Result<(), IamError> {
        policy_entities::untag_policy(self, ctx, input).await
    }

    async fn list_policy_tags(
        &self,
        ctx: &RequestContext,
        input: ListPolicyTagsRequest,
    ) -> Result<ListPolicyTagsResponse, IamError> {
        policy_entities::list_policy_tags(self, ctx, input).await
    }

    async fn list_entities_for_policy(
        &self,
        ctx: &RequestContext,
        input: ListEntitiesForPolicyRequest,
    ) -> Result<ListEntitiesForPolicyResponse, IamError> {
        policy_entities::list_entities_for_policy(self, ctx, input).await
    }

    async fn create_account_alias(
        &self,
        ctx: &RequestContext,
        input: CreateAccountAliasRequest,
    ) -> Result<(), IamError> {
        account::create_account_alias(self, ctx, input).await
    }

    async fn delete_account_alias(
        &self,
        ctx: &RequestContext,
        input: DeleteAccountAliasRequest,
    ) -> Result<(), IamError> {
        account::delete_account_alias(self, ctx, input).await
    }

    async fn list_account_aliases(
        &self,
        ctx: &RequestContext,
        input: ListAccountAliasesRequest,
    ) -> Result<ListAccountAliasesResponse, IamError> {
        account::list_account_aliases(self, ctx, input).await
    }

    async fn get_account_summary(
        &self,
        ctx: &RequestContext,
    ) -> Result<GetAccountSummaryResponse, IamError> {
        account::get_account_summary(self, ctx).await
    }

    async fn get_account_password_policy(
        &self,
        ctx: &RequestContext,
    ) -> Result<GetAccountPasswordPolicyResponse, IamError> {
        password_policy::get_account_password_policy(self, ctx).await
    }

    async fn update_account_password_policy(
        &self,
        ctx: &RequestContext,
        input: UpdateAccountPasswordPolicyRequest,
    ) -> Result<(), IamError> {
        password_policy::update_account_password_policy(self, ctx, input).await
    }

    async fn delete_account_password_policy(&self, ctx: &RequestContext) -> Result<(), IamError> {
        password_policy::delete_account_password_policy(self, ctx).await
    }

    async fn create_instance_profile(
        &self,
        ctx: &RequestContext,
        input: CreateInstanceProfileRequest,
    ) -> Result<CreateInstanceProfileResponse, IamError> {
        instance_profiles::create_instance_profile(self, ctx, input).await
    }

    async fn get_instance_profile(
        &self,
        ctx: &RequestContext,
        input: GetInstanceProfileRequest,
    ) -> Result<GetInstanceProfileResponse, IamError> {
        instance_profiles::get_instance_profile(self, ctx, input).await
    }

    async fn delete_instance_profile(
        &self,
        ctx: &RequestContext,
        input: DeleteInstanceProfileRequest,
    ) -> Result<(), IamError> {
        instance_profiles::delete_instance_profile(self, ctx, input).await
    }

    async fn list_instance_profiles(
        &self,
        ctx: &RequestContext,
        input: ListInstanceProfilesRequest,
    ) -> Result<ListInstanceProfilesResponse, IamError> {
        instance_profiles::list_instance_profiles(self, ctx, input).await
    }

    async fn list_instance_profiles_for_role(
        &self,
        ctx: &RequestContext,
        input: ListInstanceProfilesForRoleRequest,
    ) -> Result<ListInstanceProfilesForRoleResponse, IamError> {
        instance_profiles::list_instance_profiles_for_role(self, ctx, input).await
    }

    async fn add_role_to_instance_profile(
        &self,
        ctx: &RequestContext,
        input: AddRoleToInstanceProfileRequest,
    ) -> Result<(), IamError> {
        instance_profiles::add_role_to_instance_profile(self, ctx, input).await
    }

    async fn remove_role_from_instance_profile(
        &self,
        ctx: &RequestContext,
        input: RemoveRoleFromInstanceProfileRequest,
    ) -> Result<(), IamError> {
        instance_profiles::remove_role_from_instance_profile(self, ctx, input).await
    }

    async fn tag_instance_profile(
        &self,
        ctx: &RequestContext,
        input: TagInstanceProfileRequest,
    ) -> Result<(), IamError> {
        instance_profiles::tag_instance_profile(self, ctx, input).await
    }

    async fn untag_instance_profile(
        &self,
        ctx: &RequestContext,
        input: UntagInstanceProfileRequest,
    ) -> Result<(), IamError> {
        instance_profiles::untag_instance_profile(self, ctx, input).await
    }

    async fn list_instance_profile_tags(
        &self,
        ctx: &RequestContext,
        input: ListInstanceProfileTagsRequest,
    ) -> Result<ListInstanceProfileTagsResponse, IamError> {
        instance_profiles::list_instance_profile_tags(self, ctx, input).await
    }

    async fn create_open_id_connect_provider(
        &self,
        ctx: &RequestContext,
        input: CreateOpenIDConnectProviderRequest,
    ) -> Result<CreateOpenIDConnectProviderResponse, IamError> {
        oidc_providers::create_open_id_connect_provider(self, ctx, input).await
    }

    async fn get_open_id_connect_provider(
        &self,
        ctx: &RequestContext,
        input: GetOpenIDConnectProviderRequest,
    ) -> Result<GetOpenIDConnectProviderResponse, IamError> {
        oidc_providers::get_open_id_connect_provider(self, ctx, input).await
    }

    async fn delete_open_id_connect_provider(
        &self,
        ctx: &RequestContext,
        input: DeleteOpenIDConnectProviderRequest,
    ) -> Result<(), IamError> {
        oidc_providers::delete_open_id_connect_provider(self, ctx, input).await
    }

    async fn list_open_id_connect_providers(
        &self,
        ctx: &RequestContext,
        input: ListOpenIDConnectProvidersRequest,
    ) -> Result<ListOpenIDConnectProvidersResponse, IamError> {
        oidc_providers::list_open_id_connect_providers(self, ctx, input).await
    }

    async fn add_client_id_to_open_id_connect_provider(
        &self,
        ctx: &RequestContext,
        input: AddClientIDToOpenIDConnectProviderRequest,
    ) -> Result<(), IamError> {
        oidc_providers::add_client_id_to_open_id_connect_provider(self, ctx, input).await
    }

    async fn remove_client_id_from_open_id_connect_provider(
        &self,
        ctx: &RequestContext,
        input: RemoveClientIDFromOpenIDConnectProviderRequest,
    ) -> Result<(), IamError> {
        oidc_providers::remove_client_id_from_open_id_connect_provider(self, ctx, input).await
    }

    async fn update_open_id_connect_provider_thumbprint(
        &self,
        ctx: &RequestContext,
        input: UpdateOpenIDConnectProviderThumbprintRequest,
    ) -> Result<(), IamError> {
        oidc_providers::update_open_id_connect_provider_thumbprint(self, ctx, input).await
    }

    async fn tag_open_id_connect_provider(
        &self,
        ctx: &RequestContext,
        input: TagOpenIDConnectProviderRequest,
    ) -> Result<(), IamError> {
        oidc_providers::tag_open_id_connect_provider(self, ctx, input).await
    }

    async fn untag_open_id_connect_provider(
        &self,
        ctx: &RequestContext,
        input: UntagOpenIDConnectProviderRequest,
    ) -> Result<(), IamError> {
        oidc_providers::untag_open_id_connect_provider(self, ctx, input).await
    }

    async fn list_open_id_connect_provider_tags(
        &self,
        ctx: &RequestContext,
        input: ListOpenIDConnectProviderTagsRequest,
    ) -> Result<ListOpenIDConnectProviderTagsResponse, IamError> {
        oidc_providers::list_open_id_connect_provider_tags(self, ctx, input).await
    }

    // Service last-accessed data
    async fn generate_service_last_accessed_details(
        &self,
        ctx: &RequestContext,
        input: GenerateServiceLastAccessedDetailsRequest,
    ) -> Result<GenerateServiceLastAccessedDetailsResponse, IamError> {
        access_reports::generate_service_last_accessed_details(self, ctx, input).await
    }

    async fn get_service_last_accessed_details(
        &self,
        ctx: &RequestContext,
        input: GetServiceLastAccessedDetailsRequest,
    ) -> Result<GetServiceLastAccessedDetailsResponse, IamError> {
        access_reports::get_service_last_accessed_details(self, ctx, input).await
    }

    async fn get_service_last_accessed_details_with_entities(
        &self,
        ctx: &RequestContext,
        input: GetServiceLastAccessedDetailsWithEntitiesRequest,
    ) -> Result<GetServiceLastAccessedDetailsWithEntitiesResponse, IamError> {
        access_reports::get_service_last_accessed_details_with_entities(self, ctx, input).await
    }

    async fn list_policies_granting_service_access(
        &self,
        ctx: &RequestContext,
        input: ListPoliciesGrantingServiceAccessRequest,
    ) -> Result<ListPoliciesGrantingServiceAccessResponse, IamError> {
        access_reports::list_policies_granting_service_access(self, ctx, input).await
    }
    // End of service last-accessed data

    // AWS Organizations: a Coffer account belongs to none.
    async fn enable_organizations_root_credentials_management(
        &self,
        _ctx: &RequestContext,
        _input: EnableOrganizationsRootCredentialsManagementRequest,
    ) -> Result<EnableOrganizationsRootCredentialsManagementResponse, IamError> {
        Err(organizations::no_organization())
    }

    async fn disable_organizations_root_credentials_management(
        &self,
        _ctx: &RequestContext,
        _input: DisableOrganizationsRootCredentialsManagementRequest,
    ) -> Result<DisableOrganizationsRootCredentialsManagementResponse, IamError> {
        Err(organizations::no_organization())
    }

    async fn enable_organizations_root_sessions(
        &self,
        _ctx: &RequestContext,
        _input: EnableOrganizationsRootSessionsRequest,
    ) -> Result<EnableOrganizationsRootSessionsResponse, IamError> {
        Err(organizations::no_organization())
    }

    async fn disable_organizations_root_sessions(
        &self,
        _ctx: &RequestContext,
        _input: DisableOrganizationsRootSessionsRequest,
    ) -> Result<DisableOrganizationsRootSessionsResponse, IamError> {
        Err(organizations::no_organization())
    }

    async fn list_organizations_features(
        &self,
        _ctx: &RequestContext,
        _input: ListOrganizationsFeaturesRequest,
    ) -> Result<ListOrganizationsFeaturesResponse, IamError> {
        Err(organizations::no_organization())
    }

    async fn generate_organizations_access_report(
        &self,
        _ctx: &RequestContext,
        _input: GenerateOrganizationsAccessReportRequest,
    ) -> Result<GenerateOrganizationsAccessReportResponse, IamError> {
        Err(organizations::no_organization())
    }

    async fn get_organizations_access_report(
        &self,
        _ctx: &RequestContext,
        input: GetOrganizationsAccessReportRequest,
    ) -> Result<GetOrganizationsAccessReportResponse, IamError> {
        organizations::get_organizations_access_report(input)
    }
    // End of AWS Organizations

    // Outbound identity federation
    async fn enable_outbound_web_identity_federation(
        &self,
        ctx: &RequestContext,
    ) -> Result<EnableOutboundWebIdentityFederationResponse, IamError> {
        outbound_federation::enable_outbound_web_identity_federation(self, ctx).await
    }

    async fn disable_outbound_web_identity_federation(
        &self,
        ctx: &RequestContext,
    ) -> Result<(), IamError> {
        outbound_federation::disable_outbound_web_identity_federation(self, ctx).await
    }

    async fn get_outbound_web_identity_federation_info(
        &self,
        ctx: &RequestContext,
    ) -> Result<GetOutboundWebIdentityFederationInfoResponse, IamError> {
        outbound_federation::get_outbound_web_identity_federation_info(self, ctx).await
    }
    // End of outbound identity federation
}
