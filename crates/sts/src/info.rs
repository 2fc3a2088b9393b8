//! `GetAccessKeyInfo` and `DecodeAuthorizationMessage`.

use coffer_model::context::RequestContext;
use coffer_model::sts::*;

use crate::authorization_message::MessageKey;
use crate::common::*;
use crate::sessions;
use crate::StsService;

/// The account of any key this store issued (long-term or temporary, whatever its state). AWS
/// decodes the account from the key id itself; Coffer's ids carry no account, so a key it never
/// issued (or one deleted since) has none to report.
pub(crate) async fn get_access_key_info(
    svc: &StsService,
    _ctx: &RequestContext,
    input: GetAccessKeyInfoRequest,
) -> Result<GetAccessKeyInfoResponse, StsError> {
    let key = input.access_key_id.clone();
    let account = svc
        .store
        .read(move |txn| {
            if let Some(found) = coffer_iam::access_keys::find(txn, &key)? {
                return Ok(Some(found.doc.account_id));
            }
            Ok::<_, coffer_store::StoreError>(sessions::find(txn, &key)?.map(|s| s.doc.account_id))
        })
        .await
        .map_err(store_failed)?;
    match account {
        Some(account) => Ok(GetAccessKeyInfoResponse {
            account: Some(account),
        }),
        None => Err(invalid_parameter(format!(
            "The access key {} was not issued by this server.",
            input.access_key_id
        ))),
    }
}

/// Opens a message that a denial carried under `serve --explain-denials` (see
/// [`crate::authorization_message`]). Only principals of the account the message was issued to
/// can open it; for anyone else, and for anything altered or never issued, it is invalid. The
/// key is derived on each call, so a message keeps decoding whether or not the server still runs
/// with the flag, until the master key is rotated.
pub(crate) fn decode_authorization_message(
    svc: &StsService,
    ctx: &RequestContext,
    input: DecodeAuthorizationMessageRequest,
) -> Result<DecodeAuthorizationMessageResponse, StsError> {
    let key = MessageKey::from_store(&svc.store);
    match key.open(&ctx.principal.account_id, &input.encoded_message) {
        Some(decoded) => Ok(DecodeAuthorizationMessageResponse {
            decoded_message: Some(decoded),
        }),
        None => Err(StsError::invalid_authorization_message(
            "The encoded authorization message is invalid or was not issued by this service.",
        )),
    }
}
