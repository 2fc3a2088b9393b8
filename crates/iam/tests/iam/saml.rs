use coffer_iam::saml_providers::{find, SAML_PROVIDERS};
use coffer_model::iam::*;
use coffer_model::Sensitive;

use crate::support::*;

const METADATA: &str = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"#;

fn rsa_pem() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .unwrap()
        .serialize_pem()
}

fn update(arn: &str) -> UpdateSAMLProviderRequest {
    UpdateSAMLProviderRequest {
        saml_provider_arn: arn.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn private_keys_are_sealed_listed_and_kept_across_rewrites() {
    let f = fixture().await;
    let first = rsa_pem();
    let arn = f
        .iam
        .create_saml_provider(
            &root(),
            CreateSAMLProviderRequest {
                saml_metadata_document: METADATA.into(),
                name: "idp".into(),
                assertion_encryption_mode: Some(AssertionEncryptionModeType::Required),
                add_private_key: Some(Sensitive::new(first.clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .saml_provider_arn
        .unwrap();
    let stored = |arn: String| {
        f.store.read(move |txn| {
            let record = txn.get(SAML_PROVIDERS, &format!("{ACCOUNT}/idp"))?.unwrap();
            let provider = find(txn, ACCOUNT, &arn)?.unwrap();
            Ok::<_, coffer_store::StoreError>((
                String::from_utf8(record.doc).unwrap(),
                provider.doc.encryption_required,
                provider
                    .private_keys
                    .iter()
                    .map(|k| k.expose().clone())
                    .collect::<Vec<_>>(),
            ))
        })
    };
    // The key is only in the sealed part, never in the searchable document.
    let (doc, required, keys) = stored(arn.clone()).await.unwrap();
    assert!(!doc.contains("PRIVATE KEY") && !doc.contains(&first[40..80]));
    assert!(required);
    assert_eq!(keys, std::slice::from_ref(&first));

    // Tags and metadata updates rewrite the record: the keys stay.
    f.iam
        .tag_saml_provider(
            &root(),
            TagSAMLProviderRequest {
                saml_provider_arn: arn.clone(),
                tags: vec![Tag {
                    key: "team".into(),
                    value: "idp".into(),
                }],
            },
        )
        .await
        .unwrap();
    f.iam
        .update_saml_provider(
            &root(),
            UpdateSAMLProviderRequest {
                saml_metadata_document: Some(METADATA.into()),
                assertion_encryption_mode: Some(AssertionEncryptionModeType::Allowed),
                ..update(&arn)
            },
        )
        .await
        .unwrap();
    let (_, required, keys) = stored(arn.clone()).await.unwrap();
    assert!(!required);
    assert_eq!(keys, std::slice::from_ref(&first));

    // A second key; a third is over the quota.
    let second = rsa_pem();
    f.iam
        .update_saml_provider(
            &root(),
            UpdateSAMLProviderRequest {
                add_private_key: Some(Sensitive::new(second.clone())),
                ..update(&arn)
            },
        )
        .await
        .unwrap();
    let err = f
        .iam
        .update_saml_provider(
            &root(),
            UpdateSAMLProviderRequest {
                add_private_key: Some(Sensitive::new(rsa_pem())),
                ..update(&arn)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wire(err),
        (
            409,
            "LimitExceeded".into(),
            "Cannot exceed quota for PrivateKeysPerSAMLProvider: 2".into()
        )
    );
    let listed = f
        .iam
        .get_saml_provider(
            &root(),
            GetSAMLProviderRequest {
                saml_provider_arn: arn.clone(),
            },
        )
        .await
        .unwrap()
        .private_key_list
        .unwrap();
    assert_eq!(listed.len(), 2);
    let ids: Vec<String> = listed.iter().map(|k| k.key_id.clone().unwrap()).collect();
    for id in &ids {
        assert!(
            id.len() >= 22
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
    }
    assert!(listed.iter().all(|k| k.timestamp.is_some()));

    // Removing one keeps the other; an unknown id, or adding and removing at once, is refused.
    f.iam
        .update_saml_provider(
            &root(),
            UpdateSAMLProviderRequest {
                remove_private_key: Some(ids[0].clone()),
                ..update(&arn)
            },
        )
        .await
        .unwrap();
    assert_eq!(stored(arn.clone()).await.unwrap().2, [second]);
    let err = f
        .iam
        .update_saml_provider(
            &root(),
            UpdateSAMLProviderRequest {
                remove_private_key: Some(ids[0].clone()),
                ..update(&arn)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "NoSuchEntity");
    let err = f
        .iam
        .update_saml_provider(
            &root(),
            UpdateSAMLProviderRequest {
                add_private_key: Some(Sensitive::new(first)),
                remove_private_key: Some(ids[1].clone()),
                ..update(&arn)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wire(err).1, "InvalidInput");
}

#[tokio::test]
async fn only_rsa_private_keys_are_accepted() {
    let f = fixture().await;
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_pem();
    for bad in ["not a key".to_string(), ec] {
        let err = f
            .iam
            .create_saml_provider(
                &root(),
                CreateSAMLProviderRequest {
                    saml_metadata_document: METADATA.into(),
                    name: "idp".into(),
                    add_private_key: Some(Sensitive::new(bad.clone())),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        let (status, code, message) = wire(err);
        assert_eq!((status, code.as_str()), (400, "InvalidInput"));
        assert!(!message.contains(&bad));
    }
}
