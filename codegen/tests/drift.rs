//! The committed output is what the generator produces now (the CI drift check), and producing it
//! twice gives the same bytes.

use std::path::Path;

#[test]
fn committed_output_is_up_to_date_and_deterministic() {
    let models = coffer_codegen::default_models_dir();
    let reference = coffer_codegen::default_authorization_reference();
    let first = coffer_codegen::generate(&models, &reference).unwrap();
    let drift = coffer_codegen::output::drift(
        &coffer_codegen::default_out_dir(),
        Path::new(coffer_codegen::GENERATED_DIR),
        &first,
    );
    assert!(
        drift.is_empty(),
        "run `cargo run -p coffer-codegen`: {drift:?}"
    );
    let second = coffer_codegen::generate(&models, &reference).unwrap();
    assert_eq!(first, second);
    for service in ["sts", "secretsmanager", "iam"] {
        for file in [
            "mod.rs",
            "schema.rs",
            "shapes.rs",
            "errors.rs",
            "service.rs",
            "pagination.rs",
        ] {
            let path = format!("src/generated/{service}/{file}");
            assert!(first.contains_key(Path::new(&path)), "{path}");
        }
    }
}

#[test]
fn drift_reports_changed_missing_and_stale_files() {
    let dir = std::env::temp_dir().join(format!("coffer-codegen-drift-{}", std::process::id()));
    let managed = Path::new("src/generated");
    let mut files = std::collections::BTreeMap::new();
    files.insert(managed.join("a.rs"), "fn a() {}\n".to_owned());
    files.insert(managed.join("b.rs"), "fn b() {}\n".to_owned());
    coffer_codegen::output::write(&dir, managed, &files).unwrap();
    assert!(coffer_codegen::output::drift(&dir, managed, &files).is_empty());

    std::fs::write(dir.join("src/generated/a.rs"), "fn edited() {}\n").unwrap();
    std::fs::remove_file(dir.join("src/generated/b.rs")).unwrap();
    std::fs::write(dir.join("src/generated/old.rs"), "").unwrap();
    let drift = coffer_codegen::output::drift(&dir, managed, &files);
    assert_eq!(
        drift,
        [
            "changed: src/generated/a.rs",
            "missing: src/generated/b.rs",
            "stale: src/generated/old.rs"
        ]
    );
    coffer_codegen::output::write(&dir, managed, &files).unwrap();
    assert!(coffer_codegen::output::drift(&dir, managed, &files).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An operation the Service Authorization Reference does not list cannot be generated: it would
/// have nothing to be authorized against.
#[test]
fn an_operation_without_an_authorization_entry_fails_generation() {
    use std::io::{Read, Write};
    let mut text = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(coffer_codegen::default_authorization_reference()).unwrap(),
    )
    .read_to_string(&mut text)
    .unwrap();
    let mut reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    reference["sts"]["actions"]
        .as_object_mut()
        .unwrap()
        .remove("GetCallerIdentity")
        .unwrap();
    let path = std::env::temp_dir().join(format!(
        "coffer-codegen-reference-{}.json.gz",
        std::process::id()
    ));
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(reference.to_string().as_bytes()).unwrap();
    gz.finish().unwrap();
    let err = coffer_codegen::generate(&coffer_codegen::default_models_dir(), &path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(
        err.contains("sts:GetCallerIdentity has no entry in the authorization reference"),
        "{err}"
    );
}
