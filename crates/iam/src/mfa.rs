//! Virtual MFA devices (RFC 6238 TOTP: HMAC-SHA1, 30-second steps, six digits) and their
//! assignment to users. The seed is credential material: it lives only in the record's sealed
//! (encrypted) part and leaves Coffer once, in `CreateVirtualMFADevice`'s answer.
//!
//! A device is stored under `<account>/<lower-cased path + name>`; its serial number is its ARN,
//! `arn:aws:iam::<acct>:mfa<path><name>`.

use coffer_model::context::RequestContext;
use coffer_model::iam::*;
use coffer_model::sensitive::Sensitive;
use coffer_model::types::{Blob, Timestamp};
use coffer_store::{NewRecord, Record, StoreError, Txn};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use crate::accounts::to_json;
use crate::error::{no_such_user, Fail, TxResult};
use crate::paging;
use crate::records;
use crate::tags;
use crate::users;
use crate::IamService;

pub const MFA_DEVICES: &str = "iam_mfa_devices";

/// TOTP step (RFC 6238's default, what authenticator apps use).
const STEP_SECS: i64 = 30;
/// Seeds are 40 random bytes: 64 Base32 characters, as AWS hands out.
const SEED_LEN: usize = 40;
/// How far (in steps, either way) a device's clock may have drifted when it is enabled or
/// resynchronised; sign-in codes must then be within one step of the learned offset.
const SYNC_WINDOW_STEPS: i64 = 10;
const VERIFY_WINDOW_STEPS: i64 = 1;
/// MFA devices one IAM user may have enabled at once.
const DEVICES_PER_USER: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaDeviceDoc {
    pub name: String,
    pub path: String,
    /// Seconds since the epoch.
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The user the device is enabled for, as that user's name is spelled.
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub enable_date: Option<i64>,
    /// Steps the device's clock runs ahead of ours (negative: behind), learned at enable/resync.
    #[serde(default)]
    pub drift_steps: i64,
    /// The last step whose code was accepted: a code is good once.
    #[serde(default)]
    pub last_step: Option<i64>,
}

impl MfaDeviceDoc {
    pub fn serial_number(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:mfa{}{}", self.path, self.name)
    }
}

/// What STS learns from checking a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaCheck {
    /// The code is right and now used up; the device belongs to this user.
    Valid { user_name: String },
    /// Wrong, stale or already used.
    Invalid,
    /// No device with that serial number is enabled in the account.
    NoSuchDevice,
}

struct Loaded {
    key: String,
    doc: MfaDeviceDoc,
    seed: Vec<u8>,
}

fn device_key(account: &str, path_and_name: &str) -> String {
    format!("{account}/{}", path_and_name.to_lowercase())
}

/// The store key a serial number names in `account`; `None` for anything else (another
/// account's device, a hardware token's serial).
fn key_of_serial(account: &str, serial: &str) -> Option<String> {
    let rest = serial.strip_prefix("arn:aws:iam::")?;
    let (owner, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("mfa")?;
    (owner == account && path_and_name.starts_with('/') && path_and_name.len() > 1)
        .then(|| device_key(account, path_and_name))
}

fn decode_record(record: Record) -> Result<(MfaDeviceDoc, Vec<u8>), StoreError> {
    let doc: MfaDeviceDoc = records::decode(&record.doc)?;
    let seed = record
        .sealed
        .ok_or_else(|| StoreError::Corrupt(format!("MFA device {} has no seed", doc.name)))?;
    Ok((doc, seed.expose().to_vec()))
}

fn find(txn: &mut dyn Txn, account: &str, serial: &str) -> Result<Option<Loaded>, StoreError> {
    let Some(key) = key_of_serial(account, serial) else {
        return Ok(None);
    };
    let Some(record) = txn.get(MFA_DEVICES, &key)? else {
        return Ok(None);
    };
    let (doc, seed) = decode_record(record)?;
    Ok(Some(Loaded { key, doc, seed }))
}

fn save(txn: &mut dyn Txn, loaded: &Loaded) -> Result<(), StoreError> {
    put(txn, &loaded.key, &loaded.doc, &loaded.seed)
}

fn put(txn: &mut dyn Txn, key: &str, doc: &MfaDeviceDoc, seed: &[u8]) -> Result<(), StoreError> {
    let record = NewRecord::new(to_json(doc)?).with_sealed(seed.to_vec());
    txn.put(MFA_DEVICES, key, record)
}

fn no_such_device(serial: &str) -> Fail {
    IamError::no_such_entity(format!(
        "VirtualMFADevice with serial number {serial} doesn't exist."
    ))
    .into()
}

fn not_enabled_for(serial: &str, user: &str) -> Fail {
    IamError::no_such_entity(format!(
        "MFA Device with serial number {serial} is not enabled for user {user}."
    ))
    .into()
}

fn invalid_codes(serial: &str) -> Fail {
    IamError::invalid_authentication_code(format!(
        "Authentication code for device '{serial}' was incorrect."
    ))
    .into()
}

fn load(txn: &mut dyn Txn, account: &str, serial: &str) -> TxResult<Loaded> {
    find(txn, account, serial)?.ok_or_else(|| no_such_device(serial))
}

/// Every device of an account, in key order (accounts hold few).
fn all(txn: &mut dyn Txn, account: &str) -> TxResult<Vec<(String, MfaDeviceDoc)>> {
    let prefix = format!("{account}/");
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let rows = txn.scan(MFA_DEVICES, &prefix, after.as_deref(), 256)?;
        let done = rows.len() < 256;
        for (key, record) in rows {
            out.push((key.clone(), records::decode::<MfaDeviceDoc>(&record.doc)?));
            after = Some(key);
        }
        if done {
            return Ok(out);
        }
    }
}

fn enabled_for(
    txn: &mut dyn Txn,
    account: &str,
    user: &str,
) -> TxResult<Vec<(String, MfaDeviceDoc)>> {
    let lower = user.to_lowercase();
    Ok(all(txn, account)?
        .into_iter()
        .filter(|(_, d)| d.user_name.as_deref().map(str::to_lowercase) == Some(lower.clone()))
        .collect())
}

/// Whether a user still has an MFA device enabled (`DeleteUser` refuses then).
pub(crate) fn user_has_devices(txn: &mut dyn Txn, account: &str, user: &str) -> TxResult<bool> {
    Ok(!enabled_for(txn, account, user)?.is_empty())
}

/// Counts for `GetAccountSummary`: (devices, devices in use).
pub(crate) fn counts(txn: &mut dyn Txn, account: &str) -> TxResult<(usize, usize)> {
    let devices = all(txn, account)?;
    let in_use = devices
        .iter()
        .filter(|(_, d)| d.user_name.is_some())
        .count();
    Ok((devices.len(), in_use))
}

/// Follows a user's rename on the devices enabled for them.
pub(crate) fn rename_user(txn: &mut dyn Txn, account: &str, old: &str, new: &str) -> TxResult<()> {
    for (key, _) in enabled_for(txn, account, old)? {
        if let Some(record) = txn.get(MFA_DEVICES, &key)? {
            let (mut doc, seed) = decode_record(record)?;
            doc.user_name = Some(new.to_string());
            save(txn, &Loaded { key, doc, seed })?;
        }
    }
    Ok(())
}

// --- TOTP -------------------------------------------------------------------------------------

/// RFC 4648 Base32 without padding (a 40-byte seed fills whole groups anyway).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The six-digit code for a time step (RFC 4226 dynamic truncation).
fn code_at(seed: &[u8], step: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(seed) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

fn same_code(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The step of `code1` when `code1`, `code2` are consecutive codes near `now_step`.
fn find_consecutive(seed: &[u8], now_step: i64, code1: &str, code2: &str) -> Option<i64> {
    (now_step - SYNC_WINDOW_STEPS..=now_step + SYNC_WINDOW_STEPS)
        .find(|&s| same_code(&code_at(seed, s), code1) && same_code(&code_at(seed, s + 1), code2))
}

/// Checks a sign-in code of an enabled device (STS `GetSessionToken`/`AssumeRole` with
/// `SerialNumber` and `TokenCode`). A valid code is recorded as used: the same code (or an older
/// one) is refused afterwards, as AWS refuses a code twice. Needs a read-write transaction.
pub fn verify_mfa_code(
    txn: &mut dyn Txn,
    account: &str,
    serial_number: &str,
    code: &str,
    now_secs: i64,
) -> Result<MfaCheck, StoreError> {
    let Some(mut loaded) = find(txn, account, serial_number)? else {
        return Ok(MfaCheck::NoSuchDevice);
    };
    let Some(user_name) = loaded.doc.user_name.clone() else {
        return Ok(MfaCheck::NoSuchDevice);
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(MfaCheck::Invalid);
    }
    let expected = now_secs.div_euclid(STEP_SECS) + loaded.doc.drift_steps;
    let found = (expected - VERIFY_WINDOW_STEPS..=expected + VERIFY_WINDOW_STEPS)
        .filter(|s| loaded.doc.last_step.is_none_or(|last| *s > last))
        .find(|&s| same_code(&code_at(&loaded.seed, s), code));
    let Some(step) = found else {
        return Ok(MfaCheck::Invalid);
    };
    loaded.doc.last_step = Some(step);
    save(txn, &loaded)?;
    Ok(MfaCheck::Valid { user_name })
}

// --- QR code ----------------------------------------------------------------------------------

/// Pixels per QR module and quiet-zone modules around the code.
const MODULE_PX: usize = 4;
const QUIET_MODULES: usize = 4;

/// A black-on-white, 1-bit greyscale PNG of `text` as a QR code.
fn qr_png(text: &str) -> Result<Vec<u8>, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    let width = code.width();
    let dark: Vec<bool> = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    let side = (width + 2 * QUIET_MODULES) * MODULE_PX;
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0u8; row_bytes * side];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (x / MODULE_PX, y / MODULE_PX);
            let is_dark = mx >= QUIET_MODULES
                && my >= QUIET_MODULES
                && mx < QUIET_MODULES + width
                && my < QUIET_MODULES + width
                && dark[(my - QUIET_MODULES) * width + (mx - QUIET_MODULES)];
            // In 1-bit greyscale a set bit is white.
            if !is_dark {
                pixels[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

// --- operations -------------------------------------------------------------------------------

fn check_path(path: &str) -> Result<(), IamError> {
    if !path.starts_with('/') || !path.ends_with('/') {
        return Err(IamError::validation(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
        ));
    }
    Ok(())
}

pub(crate) async fn create_virtual_mfa_device(
    svc: &IamService,
    ctx: &RequestContext,
    input: CreateVirtualMFADeviceRequest,
) -> Result<CreateVirtualMFADeviceResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    let path = input.path.clone().unwrap_or_else(|| "/".to_string());
    check_path(&path)?;
    let mut seed = vec![0u8; SEED_LEN];
    OsRng.fill_bytes(&mut seed);
    let seed_b32 = base32(&seed);
    // What authenticator apps read: otpauth://totp/<device name>@<account>?secret=<seed>.
    let uri = format!(
        "otpauth://totp/{}@{}?secret={seed_b32}",
        percent_encoding::utf8_percent_encode(
            &input.virtual_mfa_device_name,
            percent_encoding::NON_ALPHANUMERIC
        ),
        account
    );
    let png = qr_png(&uri).map_err(|e| {
        tracing::error!(error = %e, "QR code rendering failed");
        IamError::service_failure(
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    })?;
    let doc = MfaDeviceDoc {
        name: input.virtual_mfa_device_name.clone(),
        path,
        created: now,
        tags: Vec::new(),
        user_name: None,
        enable_date: None,
        drift_steps: 0,
        last_step: None,
    };
    let serial = doc.serial_number(&account);
    let new_tags = input.tags.unwrap_or_default();
    let doc = svc
        .write(move |txn| {
            let key = device_key(&account, &format!("{}{}", doc.path, doc.name));
            if txn.get(MFA_DEVICES, &key)?.is_some() {
                return Err(IamError::entity_already_exists(
                    "MFADevice entity at the same path and name already exists.",
                )
                .into());
            }
            let mut doc = doc.clone();
            tags::merge(&mut doc.tags, &new_tags, "TagsPerMFADevice")?;
            save(
                txn,
                &Loaded {
                    key,
                    doc: doc.clone(),
                    seed: seed.clone(),
                },
            )?;
            Ok(doc)
        })
        .await?;
    Ok(CreateVirtualMFADeviceResponse {
        virtual_mfa_device: VirtualMFADevice {
            serial_number: serial,
            base32_string_seed: Some(Sensitive::new(Blob::new(seed_b32.into_bytes()))),
            qr_code_png: Some(Sensitive::new(Blob::new(png))),
            user: None,
            enable_date: None,
            tags: (!doc.tags.is_empty()).then_some(doc.tags),
        },
    })
}

pub(crate) async fn enable_mfa_device(
    svc: &IamService,
    ctx: &RequestContext,
    input: EnableMFADeviceRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    svc.write(move |txn| {
        let (_, user) = users::load(txn, &account, &input.user_name)?;
        let mut loaded = load(txn, &account, &input.serial_number)?;
        if loaded.doc.user_name.is_some() {
            return Err(IamError::entity_already_exists("MFA Device is already in use.").into());
        }
        if enabled_for(txn, &account, &user.name)?.len() >= DEVICES_PER_USER {
            return Err(IamError::limit_exceeded(format!(
                "Cannot exceed quota for MFADevicesPerUser: {DEVICES_PER_USER}"
            ))
            .into());
        }
        let now_step = now.div_euclid(STEP_SECS);
        let Some(step) = find_consecutive(
            &loaded.seed,
            now_step,
            &input.authentication_code1,
            &input.authentication_code2,
        ) else {
            return Err(invalid_codes(&input.serial_number));
        };
        loaded.doc.user_name = Some(user.name.clone());
        loaded.doc.enable_date = Some(now);
        loaded.doc.drift_steps = step + 1 - now_step;
        loaded.doc.last_step = Some(step + 1);
        save(txn, &loaded)?;
        Ok(())
    })
    .await
}

pub(crate) async fn resync_mfa_device(
    svc: &IamService,
    ctx: &RequestContext,
    input: ResyncMFADeviceRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let now = records::now_secs(ctx);
    svc.write(move |txn| {
        let (_, user) = users::load(txn, &account, &input.user_name)?;
        let mut loaded = load(txn, &account, &input.serial_number)?;
        if !owned_by(&loaded.doc, &user.name) {
            return Err(not_enabled_for(&input.serial_number, &input.user_name));
        }
        let now_step = now.div_euclid(STEP_SECS);
        let Some(step) = find_consecutive(
            &loaded.seed,
            now_step,
            &input.authentication_code1,
            &input.authentication_code2,
        ) else {
            return Err(invalid_codes(&input.serial_number));
        };
        loaded.doc.drift_steps = step + 1 - now_step;
        loaded.doc.last_step = Some(step + 1);
        save(txn, &loaded)?;
        Ok(())
    })
    .await
}

fn owned_by(doc: &MfaDeviceDoc, user: &str) -> bool {
    doc.user_name.as_deref().map(str::to_lowercase) == Some(user.to_lowercase())
}

pub(crate) async fn deactivate_mfa_device(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeactivateMFADeviceRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    let user_name = crate::caller::subject(ctx, input.user_name)?;
    svc.write(move |txn| {
        let Some(name) = user_name.user_name() else {
            // Root's devices are managed in the console, never through the API.
            return Err(no_such_device(&input.serial_number));
        };
        let (_, user) = users::load(txn, &account, name)?;
        let mut loaded = load(txn, &account, &input.serial_number)?;
        if !owned_by(&loaded.doc, &user.name) {
            return Err(not_enabled_for(&input.serial_number, &user.name));
        }
        loaded.doc.user_name = None;
        loaded.doc.enable_date = None;
        loaded.doc.drift_steps = 0;
        save(txn, &loaded)?;
        Ok(())
    })
    .await
}

pub(crate) async fn delete_virtual_mfa_device(
    svc: &IamService,
    ctx: &RequestContext,
    input: DeleteVirtualMFADeviceRequest,
) -> Result<(), IamError> {
    let account = ctx.principal.account_id.clone();
    svc.write(move |txn| {
        let loaded = load(txn, &account, &input.serial_number)?;
        if loaded.doc.user_name.is_some() {
            return Err(IamError::delete_conflict(
                "MFA Device is still in use and cannot be deleted.",
            )
            .into());
        }
        txn.delete(MFA_DEVICES, &loaded.key)?;
        Ok(())
    })
    .await
}

pub(crate) async fn list_mfa_devices(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListMFADevicesRequest,
) -> Result<ListMFADevicesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let subject = crate::caller::subject(ctx, input.user_name)?;
    let page = svc
        .read(move |txn| {
            let devices = match subject.user_name() {
                Some(name) => {
                    let (_, user) = users::load(txn, &account, name)?;
                    enabled_for(txn, &account, &user.name)?
                }
                // Root has no API-managed devices.
                None => Vec::new(),
            };
            let shapes: Vec<(String, MFADevice)> = devices
                .into_iter()
                .map(|(key, d)| {
                    (
                        key,
                        MFADevice {
                            user_name: d.user_name.clone().unwrap_or_default(),
                            serial_number: d.serial_number(&account),
                            enable_date: Timestamp::from_secs(d.enable_date.unwrap_or(d.created)),
                        },
                    )
                })
                .collect();
            paging::in_memory(
                shapes,
                |(k, _)| k.clone(),
                input.marker.as_deref(),
                input.max_items,
            )
        })
        .await?;
    Ok(ListMFADevicesResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker.clone(),
        mfa_devices: page.items.into_iter().map(|(_, d)| d).collect(),
    })
}

pub(crate) async fn list_virtual_mfa_devices(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListVirtualMFADevicesRequest,
) -> Result<ListVirtualMFADevicesResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let status = input.assignment_status.unwrap_or(AssignmentStatusType::Any);
    let page = svc
        .read(move |txn| {
            let keep = |d: &MfaDeviceDoc| match status {
                AssignmentStatusType::Any => true,
                AssignmentStatusType::Assigned => d.user_name.is_some(),
                AssignmentStatusType::Unassigned => d.user_name.is_none(),
            };
            let devices: Vec<(String, MfaDeviceDoc)> = all(txn, &account)?
                .into_iter()
                .filter(|(_, d)| keep(d))
                .collect();
            let page = paging::in_memory(
                devices,
                |(k, _)| k.clone(),
                input.marker.as_deref(),
                input.max_items,
            )?;
            let mut items = Vec::with_capacity(page.items.len());
            for (_, d) in &page.items {
                let user = match &d.user_name {
                    Some(name) => {
                        users::find(txn, &account, name)?.map(|u| u.to_shape(&account, false))
                    }
                    None => None,
                };
                items.push(VirtualMFADevice {
                    serial_number: d.serial_number(&account),
                    base32_string_seed: None,
                    qr_code_png: None,
                    user,
                    enable_date: d.enable_date.map(Timestamp::from_secs),
                    tags: (!d.tags.is_empty()).then(|| d.tags.clone()),
                });
            }
            Ok((items, page.marker))
        })
        .await?;
    let (items, marker) = page;
    Ok(ListVirtualMFADevicesResponse {
        is_truncated: Some(marker.is_some()),
        marker,
        virtual_mfa_devices: items,
    })
}

pub(crate) async fn get_mfa_device(
    svc: &IamService,
    ctx: &RequestContext,
    input: GetMFADeviceRequest,
) -> Result<GetMFADeviceResponse, IamError> {
    let account = ctx.principal.account_id.clone();
    let subject = crate::caller::subject(ctx, input.user_name.clone())?;
    svc.read(move |txn| {
        let loaded = load(txn, &account, &input.serial_number)?;
        let Some(owner) = loaded.doc.user_name.clone() else {
            return Err(no_such_device(&input.serial_number));
        };
        if let Some(name) = subject.user_name() {
            if users::find(txn, &account, name)?.is_none() {
                return Err(no_such_user(name));
            }
            if !owned_by(&loaded.doc, name) {
                return Err(not_enabled_for(&input.serial_number, name));
            }
        }
        Ok(GetMFADeviceResponse {
            user_name: Some(owner),
            serial_number: loaded.doc.serial_number(&account),
            enable_date: loaded.doc.enable_date.map(Timestamp::from_secs),
            certifications: None,
        })
    })
    .await
}

impl tags::TaggedRecord for MfaDeviceDoc {
    const TAG_QUOTA: &'static str = "TagsPerMFADevice";
    type Key = (String, Vec<u8>);
    fn load(txn: &mut dyn Txn, account: &str, id: &str) -> TxResult<((String, Vec<u8>), Self)> {
        let Loaded { key, doc, seed } = load(txn, account, id)?;
        Ok(((key, seed), doc))
    }
    fn save(&self, txn: &mut dyn Txn, key: &(String, Vec<u8>)) -> TxResult<()> {
        Ok(put(txn, &key.0, self, &key.1)?)
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}

pub(crate) async fn tag_mfa_device(
    svc: &IamService,
    ctx: &RequestContext,
    input: TagMFADeviceRequest,
) -> Result<(), IamError> {
    tags::tag::<MfaDeviceDoc>(svc, ctx, input.serial_number, input.tags).await
}

pub(crate) async fn untag_mfa_device(
    svc: &IamService,
    ctx: &RequestContext,
    input: UntagMFADeviceRequest,
) -> Result<(), IamError> {
    tags::untag::<MfaDeviceDoc>(svc, ctx, input.serial_number, input.tag_keys).await
}

pub(crate) async fn list_mfa_device_tags(
    svc: &IamService,
    ctx: &RequestContext,
    input: ListMFADeviceTagsRequest,
) -> Result<ListMFADeviceTagsResponse, IamError> {
    let page =
        tags::list::<MfaDeviceDoc>(svc, ctx, input.serial_number, input.marker, input.max_items)
            .await?;
    Ok(ListMFADeviceTagsResponse {
        is_truncated: Some(page.is_truncated()),
        marker: page.marker,
        tags: page.items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", 8 digits truncated to 6.
        let seed = b"12345678901234567890";
        assert_eq!(code_at(seed, 59 / 30), "287082");
        assert_eq!(code_at(seed, 1111111109 / 30), "081804");
        assert_eq!(code_at(seed, 1234567890 / 30), "005924");
        assert_eq!(code_at(seed, 2000000000 / 30), "279037");
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(&[0u8; 40]).len(), 64);
    }

    #[test]
    fn consecutive_codes_are_found_within_the_window() {
        let seed = b"0123456789abcdef0123";
        let now = 1_000_000;
        let c1 = code_at(seed, now + 3);
        let c2 = code_at(seed, now + 4);
        assert_eq!(find_consecutive(seed, now, &c1, &c2), Some(now + 3));
        assert_eq!(find_consecutive(seed, now, &c2, &c1), None);
        let far1 = code_at(seed, now + 50);
        let far2 = code_at(seed, now + 51);
        assert_eq!(find_consecutive(seed, now, &far1, &far2), None);
    }

    #[test]
    fn serials_map_to_keys_in_their_account_only() {
        assert_eq!(
            key_of_serial("123456789012", "arn:aws:iam::123456789012:mfa/Dev/Alice"),
            Some("123456789012//dev/alice".to_string())
        );
        assert_eq!(
            key_of_serial("123456789012", "arn:aws:iam::999999999999:mfa/alice"),
            None
        );
        assert_eq!(key_of_serial("123456789012", "GAHT12345678"), None);
    }

    #[test]
    fn qr_png_is_a_png() {
        let png = qr_png("otpauth://totp/a@123456789012?secret=MZXW6YTBOI").unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
