use coffer_iam::mfa::{verify_mfa_code, MfaCheck, MFA_DEVICES};
use coffer_model::iam::*;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::support::*;

fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0, Vec::new());
    for c in s.chars() {
        buffer = (buffer << 5) | ALPHABET.find(c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn totp(seed: &[u8], step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(seed).unwrap();
    mac.update(&step.to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = usize::from(d[19] & 0x0f);
    let v = u32::from_be_bytes([d[o] & 0x7f, d[o + 1], d[o + 2], d[o + 3]]);
    format!("{:06}", v % 1_000_000)
}

async fn check(f: &Fixture, serial: &str, code: &str, now: i64) -> MfaCheck {
    let (serial, code) = (serial.to_string(), code.to_string());
    f.store
        .write(move |txn| verify_mfa_code(txn, ACCOUNT, &serial, &code, now))
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_codes_are_checked_once_each() {
    let f = fixture().await;
    f.iam
        .create_user(&root(), create_user_req("alice"))
        .await
        .unwrap();
    let device = f
        .iam
        .create_virtual_mfa_device(
            &root(),
            CreateVirtualMFADeviceRequest {
                virtual_mfa_device_name: "alice-phone".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .virtual_mfa_device;
    let serial = device.serial_number.clone();
    let seed_b32 = String::from_utf8(
        device
            .base32_string_seed
            .unwrap()
            .expose()
            .as_bytes()
            .to_vec(),
    )
    .unwrap();
    let seed = base32_decode(&seed_b32);
    assert_eq!(seed.len(), 40);

    // The seed is sealed: the record's searchable document never holds it.
    let key = format!("{ACCOUNT}//alice-phone");
    let record = f
        .store
        .read(move |txn| txn.get(MFA_DEVICES, &key))
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&record.doc).contains(&seed_b32));
    assert_eq!(record.sealed.unwrap().expose(), seed.as_slice());

    // Not enabled yet: STS must not accept it.
    let now = NOW_MILLIS / 1000;
    let step = now / 30;
    assert_eq!(
        check(&f, &serial, &totp(&seed, step), now).await,
        MfaCheck::NoSuchDevice
    );

    f.iam
        .enable_mfa_device(
            &root(),
            EnableMFADeviceRequest {
                user_name: "alice".into(),
                serial_number: serial.clone(),
                authentication_code1: totp(&seed, step),
                authentication_code2: totp(&seed, step + 1),
            },
        )
        .await
        .unwrap();

    // The codes used to enable the device are spent.
    assert_eq!(
        check(&f, &serial, &totp(&seed, step + 1), now).await,
        MfaCheck::Invalid
    );
    let later = now + 60;
    let code = totp(&seed, later / 30);
    assert_eq!(
        check(&f, &serial, &code, later).await,
        MfaCheck::Valid {
            user_name: "alice".into()
        }
    );
    assert_eq!(check(&f, &serial, &code, later).await, MfaCheck::Invalid);
    assert_eq!(
        check(&f, &serial, "000000", later + 30).await,
        MfaCheck::Invalid
    );
    assert_eq!(
        check(&f, &serial, "12ab56", later + 30).await,
        MfaCheck::Invalid
    );
    // Codes far from the device's time are refused.
    assert_eq!(
        check(&f, &serial, &totp(&seed, later / 30 + 20), later).await,
        MfaCheck::Invalid
    );
    assert_eq!(
        check(
            &f,
            &format!("arn:aws:iam::{ACCOUNT}:mfa/nobody"),
            "123456",
            later
        )
        .await,
        MfaCheck::NoSuchDevice
    );
    assert_eq!(
        check(
            &f,
            "arn:aws:iam::210987654321:mfa/alice-phone",
            &code,
            later
        )
        .await,
        MfaCheck::NoSuchDevice
    );

    f.iam
        .deactivate_mfa_device(
            &root(),
            DeactivateMFADeviceRequest {
                user_name: Some("alice".into()),
                serial_number: serial.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        check(&f, &serial, &totp(&seed, later / 30 + 1), later + 30).await,
        MfaCheck::NoSuchDevice
    );
}
