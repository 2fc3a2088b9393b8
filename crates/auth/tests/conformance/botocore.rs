//! `testdata/sigv4-vectors/botocore-vectors.json`: requests botocore signed for IAM, STS and
//! Secrets Manager, verified from their wire form.

use coffer_auth::{
    parse, verify, verify_with_cache, SecretAccessKey, SignatureVersion, SigningKeyCache,
    VerifyOptions,
};

use crate::support::{basic_time, from_url, options, read_json, testdata_dir};

#[test]
fn every_botocore_vector_verifies_from_the_wire() {
    let doc = read_json(&testdata_dir().join("sigv4-vectors/botocore-vectors.json"));
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 36);
    let cache = SigningKeyCache::new(8);
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        let r = &v["request"];
        let req = from_url(
            r["method"].as_str().unwrap(),
            r["url"].as_str().unwrap(),
            &r["headers"],
            r["body"].as_str().unwrap(),
        );
        let parts = req.parts();
        let signed = parse(&parts)
            .unwrap_or_else(|e| panic!("{id}: {e:?}"))
            .unwrap_or_else(|| panic!("{id}: no auth"));
        let want_version = match v["kind"].as_str().unwrap() {
            "presigned" => SignatureVersion::V4Presigned,
            _ => SignatureVersion::V4Header,
        };
        assert_eq!(signed.version(), want_version, "{id}");
        let creds = &v["credentials"];
        assert_eq!(
            signed.access_key_id(),
            creds["access_key_id"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(
            signed.session_token(),
            creds["session_token"].as_str(),
            "{id}"
        );
        let scope = signed.scope().unwrap();
        assert_eq!(scope.service, v["service"].as_str().unwrap(), "{id}");
        assert_eq!(scope.region, v["region"].as_str().unwrap(), "{id}");

        let expected = &v["expected"];
        assert_eq!(
            signed.canonical_request(&parts).unwrap().as_deref(),
            expected["canonical_request"].as_str(),
            "{id}: canonical request"
        );
        assert_eq!(
            signed.string_to_sign(&parts).unwrap(),
            expected["string_to_sign"].as_str().unwrap(),
            "{id}: string to sign"
        );

        let secret = SecretAccessKey::new(creds["secret_access_key"].as_str().unwrap());
        let now = basic_time(v["timestamp"].as_str().unwrap());
        let opts = options(
            now,
            v["service"].as_str().unwrap(),
            v["region"].as_str().unwrap(),
        );
        assert_eq!(verify(&signed, &parts, &secret, &opts), Ok(()), "{id}");
        // Twice through the cache: once deriving, once reusing the derived key.
        for _ in 0..2 {
            assert_eq!(
                verify_with_cache(&signed, &parts, &secret, &opts, &cache),
                Ok(()),
                "{id} (cached)"
            );
        }
        let open = VerifyOptions {
            expected_service: None,
            expected_region: None,
            ..opts.clone()
        };
        assert_eq!(
            verify(&signed, &parts, &secret, &open),
            Ok(()),
            "{id} (any region/service)"
        );
        assert!(cache.len() <= 8);
    }
}
