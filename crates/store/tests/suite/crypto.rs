//! Encryption at rest: key checks, binding of ciphertexts to records, rotation, key sources.

use std::path::{Path, PathBuf};

use coffer_store::{MasterKey, MasterKeySource, Store, StoreConfig, StoreError, Txn};

use super::{get, put, rec, sealed, secret_of};
use crate::support::{pg, Harness, Kind};

fn open_err(r: Result<Store, StoreError>) -> StoreError {
    match r {
        Ok(_) => panic!("store opened but should have been refused"),
        Err(e) => e,
    }
}

fn files_with_prefix(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Files containing `needle` (grep is far faster than a naive scan over a PostgreSQL data dir).
fn grep(files: &[PathBuf], needle: &[u8]) -> Vec<PathBuf> {
    let out = std::process::Command::new("grep")
        .args(["-l", "-a", "-F", "-e"])
        .arg(std::str::from_utf8(needle).unwrap())
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "grep failed: {out:?}"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// Every stored row (meta and records), as bytes.
fn logical_dump(h: &Harness) -> Vec<Vec<u8>> {
    match h.kind {
        Kind::Sqlite => {
            let conn = rusqlite::Connection::open(h.db_path()).unwrap();
            let mut out = Vec::new();
            for sql in [
                "SELECT CAST(name || x'00' || value AS BLOB) FROM coffer_meta ORDER BY name",
                "SELECT CAST(tbl || x'00' || key || x'00' || version || x'00' || doc || x'00' || ifnull(sealed, x'') AS BLOB) \
                 FROM coffer_records ORDER BY tbl, key",
            ] {
                let mut stmt = conn.prepare(sql).unwrap();
                let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap();
                out.extend(rows.map(|r| r.unwrap()));
            }
            out
        }
        Kind::Postgres => {
            let url = h.pg_url.as_ref().unwrap();
            let mut out = pg::query_bytes(
                url,
                "SELECT convert_to(name, 'UTF8') || value FROM coffer_meta ORDER BY name",
            );
            out.extend(pg::query_bytes(
                url,
                "SELECT tbl::bytea || key || convert_to(version::text, 'UTF8') || doc || coalesce(sealed, ''::bytea) \
                 FROM coffer_records ORDER BY tbl, key",
            ));
            out
        }
        Kind::Memory => unreachable!(),
    }
}

pub async fn wrong_master_key(h: &Harness) {
    let right = MasterKey::generate();
    let store = h.open(&right).await;
    put(&store, "t", "k", sealed("d", "value")).await;
    drop(store);

    let before = logical_dump(h);
    let err = open_err(Store::open(h.config(&MasterKey::generate())).await);
    assert!(matches!(err, StoreError::WrongMasterKey(_)), "{err:?}");
    assert!(
        err.to_string().contains("master key does not match"),
        "{err}"
    );
    assert!(
        before == logical_dump(h),
        "a refused open wrote to the database"
    );

    let store = h.open(&right).await;
    let r = get(&store, "t", "k").await.unwrap().unwrap();
    assert_eq!(secret_of(&r), b"value");
}

/// Copy one record's ciphertext onto another (through a backup file, which works on every backend):
/// both fail authentication instead of revealing the other record's value.
pub async fn aad_swap(h: &Harness) {
    let key = MasterKey::generate();
    let store = h.open(&key).await;
    put(&store, "t", "alice", sealed("a", "alice-secret")).await;
    put(&store, "t", "bob", sealed("b", "bob-secret")).await;
    put(&store, "u", "alice", sealed("a", "other-table")).await;
    let file = h.dir.path().join("swap.backup");
    store.backup(&file).await.unwrap();

    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |lines: &[serde_json::Value], t: &str, k: &str| {
        lines
            .iter()
            .position(|l| l["t"] == t && l["k"] == k)
            .unwrap()
    };
    let (a, b, u) = (
        find(&lines, "t", "alice"),
        find(&lines, "t", "bob"),
        find(&lines, "u", "alice"),
    );
    let sa = lines[a]["s"].clone();
    let sb = lines[b]["s"].clone();
    let su = lines[u]["s"].clone();
    lines[a]["s"] = sb;
    lines[b]["s"] = sa;
    lines[u]["s"] = lines[b]["s"].clone();
    assert_ne!(lines[u]["s"], su);
    let tampered: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, tampered).unwrap();

    let target_h = h.sibling();
    let target = target_h.open(&key).await;
    target.restore(&file).await.unwrap();
    for (t, k) in [("t", "alice"), ("t", "bob"), ("u", "alice")] {
        let err = get(&target, t, k).await.unwrap_err();
        assert_eq!(
            err,
            StoreError::Decrypt {
                table: t.into(),
                key: k.into()
            }
        );
        assert_eq!(target.get(t, k).await.unwrap_err(), err);
        assert!(!err.to_string().contains("secret"));
    }
}

/// Same check straight in the SQLite file.
pub async fn aad_swap_in_sqlite_file(h: &Harness) {
    let key = MasterKey::generate();
    let store = h.open(&key).await;
    put(&store, "t", "alice", sealed("a", "alice-secret")).await;
    put(&store, "t", "bob", sealed("b", "bob-secret")).await;
    drop(store);
    let conn = rusqlite::Connection::open(h.db_path()).unwrap();
    conn.execute(
        "UPDATE coffer_records SET sealed = (SELECT sealed FROM coffer_records WHERE key = 'bob') WHERE key = 'alice'",
        [],
    )
    .unwrap();
    drop(conn);
    let store = h.open(&key).await;
    assert!(matches!(
        get(&store, "t", "alice").await,
        Err(StoreError::Decrypt { .. })
    ));
    assert_eq!(
        secret_of(&get(&store, "t", "bob").await.unwrap().unwrap()),
        b"bob-secret"
    );
}

pub async fn rotation(h: &Harness) {
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let store = h.open(&old).await;
    // More records than one re-wrap batch, mixed with unsealed ones.
    store
        .write(|t: &mut dyn Txn| {
            for i in 0..600u32 {
                if i.is_multiple_of(5) {
                    t.put("r", &format!("{i:04}"), rec("plain"))?;
                } else {
                    t.put("r", &format!("{i:04}"), sealed("d", &format!("value-{i}")))?;
                }
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let cached = store.get("r", "0001").await.unwrap().unwrap();
    assert_eq!(secret_of(&cached), b"value-1");

    let report = store
        .rotate_master_key(new.clone(), std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(report.rewrapped, 480);
    let again = store
        .rotate_master_key(new.clone(), std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(again.rewrapped, 0);

    let check_all = |store: Store| async move {
        let rows = store
            .read(|t: &mut dyn Txn| t.scan("r", "", None, 10_000))
            .await
            .unwrap();
        assert_eq!(rows.len(), 600);
        for (k, r) in rows {
            let i: usize = k.parse().unwrap();
            if i.is_multiple_of(5) {
                assert!(r.sealed.is_none());
            } else {
                assert_eq!(secret_of(&r), format!("value-{i}").as_bytes());
            }
        }
    };
    check_all(store.clone()).await;
    assert_eq!(
        secret_of(&store.get("r", "0001").await.unwrap().unwrap()),
        b"value-1"
    );
    put(&store, "r", "0001", sealed("d", "value-1")).await;

    if h.durable() {
        drop(store);
        let err = open_err(Store::open(h.config(&old)).await);
        assert!(matches!(err, StoreError::WrongMasterKey(_)), "{err:?}");
        let store = h.open(&new).await;
        check_all(store).await;
    }
}

/// Known plaintexts of sealed values never reach the database files (WAL included), while the
/// plaintext doc of the same records does (showing the grep would find them).
pub async fn plaintext_not_on_disk(h: &Harness) {
    let marker = format!("SEALED-MARKER-{}", std::process::id());
    let doc_marker = format!("DOC-MARKER-{}", std::process::id());
    let store = h.open(&MasterKey::generate()).await;
    for i in 0..50 {
        put(
            &store,
            "secrets",
            &format!("s{i}"),
            sealed(&format!("{doc_marker}-{i}"), &format!("{marker}-{i}")),
        )
        .await;
    }
    let files = match h.kind {
        Kind::Sqlite => {
            // Still open: the values sit in the WAL, not yet checkpointed.
            let files = files_with_prefix(h.dir.path(), "coffer.db");
            assert!(
                files.iter().any(|f| f.to_string_lossy().ends_with("-wal")),
                "expected a WAL file in {files:?}"
            );
            files
        }
        Kind::Postgres => {
            pg::checkpoint(h.pg_url.as_ref().unwrap());
            let mut files = Vec::new();
            all_files(&pg::data_dir(), &mut files);
            files
        }
        Kind::Memory => unreachable!(),
    };
    assert!(
        !grep(&files, doc_marker.as_bytes()).is_empty(),
        "grep found no doc: test is broken"
    );
    assert_eq!(grep(&files, marker.as_bytes()), Vec::<PathBuf>::new());
    drop(store);
}

/// The default data-dir configuration creates a 0600 key file on first start, reuses it, and
/// refuses (rather than inventing a new key) when it disappears.
pub async fn generated_key_file(h: &Harness) {
    use std::os::unix::fs::PermissionsExt;
    let dir = h.dir.path().join("data");
    let store = Store::open(StoreConfig::data_dir(&dir)).await.unwrap();
    put(&store, "t", "k", sealed("d", "v")).await;
    drop(store);
    let key_file = dir.join(coffer_store::MASTER_KEY_FILE);
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let store = Store::open(StoreConfig::data_dir(&dir)).await.unwrap();
    assert_eq!(
        secret_of(&get(&store, "t", "k").await.unwrap().unwrap()),
        b"v"
    );
    drop(store);

    let key = MasterKey::from_base64(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let err = open_err(Store::open(StoreConfig::data_dir(&dir)).await);
    assert!(matches!(err, StoreError::MasterKey(_)), "{err:?}");
    assert!(!key_file.exists());

    // The same key through the other sources.
    let var = format!("COFFER_TEST_KEY_{}", std::process::id());
    std::env::set_var(&var, key.to_base64().as_str());
    let mut config = StoreConfig::data_dir(&dir);
    config.master_key = MasterKeySource::Env(var.clone());
    let store = Store::open(config.clone()).await.unwrap();
    assert_eq!(
        secret_of(&get(&store, "t", "k").await.unwrap().unwrap()),
        b"v"
    );
    drop(store);
    std::env::set_var(&var, MasterKey::generate().to_base64().as_str());
    assert!(matches!(
        open_err(Store::open(config).await),
        StoreError::WrongMasterKey(_)
    ));

    let mut config = StoreConfig::data_dir(&dir);
    config.master_key = MasterKeySource::Command(format!("echo '{}'", key.to_base64().as_str()));
    let store = Store::open(config).await.unwrap();
    assert_eq!(
        secret_of(&get(&store, "t", "k").await.unwrap().unwrap()),
        b"v"
    );
    drop(store);
    let mut config = StoreConfig::data_dir(&dir);
    config.master_key = MasterKeySource::Command("exit 3".to_string());
    assert!(matches!(
        open_err(Store::open(config).await),
        StoreError::MasterKey(_)
    ));

    let file = h.dir.path().join("explicit.key");
    key.write_key_file(&file).unwrap();
    let mut config = StoreConfig::data_dir(&dir);
    config.master_key = MasterKeySource::File(file);
    let store = Store::open(config).await.unwrap();
    assert_eq!(
        secret_of(&get(&store, "t", "k").await.unwrap().unwrap()),
        b"v"
    );
}
