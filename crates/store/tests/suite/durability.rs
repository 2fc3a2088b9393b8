//! Persistence, schema versions, backup and restore.

use coffer_store::{MasterKey, Store, StoreError, Txn};

use super::{get, put, rec, sealed, secret_of};
use crate::support::Harness;

pub async fn persistence(h: &Harness) {
    let key = MasterKey::generate();
    let store = h.open(&key).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            put(
                &store,
                "t",
                &format!("k{i:02}"),
                sealed("d", &format!("v{i}")),
            )
            .await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    put(&store, "t", "k00", sealed("d2", "v0-new")).await;
    store
        .write(|t: &mut dyn Txn| t.delete("t", "k01"))
        .await
        .unwrap();
    drop(store);

    let store = h.open(&key).await;
    let rows = store
        .read(|t: &mut dyn Txn| t.scan("t", "", None, 100))
        .await
        .unwrap();
    assert_eq!(rows.len(), 19);
    let r = get(&store, "t", "k00").await.unwrap().unwrap();
    assert_eq!(
        (r.doc.as_slice(), secret_of(&r), r.version),
        (&b"d2"[..], b"v0-new".to_vec(), 2)
    );
    assert_eq!(get(&store, "t", "k01").await.unwrap(), None);
    assert_eq!(
        secret_of(&get(&store, "t", "k19").await.unwrap().unwrap()),
        b"v19"
    );
}

pub async fn schema_too_new(h: &Harness) {
    let key = MasterKey::generate();
    let store = h.open(&key).await;
    put(&store, "t", "k", rec("x")).await;
    drop(store);
    h.set_schema_version(99);
    let err = match Store::open(h.config(&key)).await {
        Ok(_) => panic!("newer schema accepted"),
        Err(e) => e,
    };
    assert_eq!(
        err,
        StoreError::SchemaTooNew {
            found: 99,
            supported: 1
        }
    );
    assert!(err.to_string().contains("newer than this build supports"));
    h.set_schema_version(1);
    let store = h.open(&key).await;
    assert!(get(&store, "t", "k").await.unwrap().is_some());
}

async fn fill(store: &Store) {
    store
        .write(|t: &mut dyn Txn| {
            for i in 0..1500 {
                t.put(
                    &format!("table{}", i % 3),
                    &format!("acct/{i:05}"),
                    sealed(&format!("{{\"i\":{i}}}"), &format!("secret {i}")),
                )?;
            }
            t.put("plain", "only-doc", rec("{}"))?;
            t.put("plain", "only-doc", rec("{\"v\":2}"))
        })
        .await
        .unwrap();
}

async fn dump(store: &Store) -> Vec<(String, String, coffer_store::Record)> {
    let mut out = Vec::new();
    for table in ["table0", "table1", "table2", "plain"] {
        let rows = store
            .read(move |t: &mut dyn Txn| t.scan(table, "", None, 10_000))
            .await
            .unwrap();
        out.extend(rows.into_iter().map(|(k, r)| (table.to_string(), k, r)));
    }
    out
}

/// Backup of a live store restores identically (versions included) into an empty store; restore
/// refuses non-empty targets and stores with another master key.
pub async fn backup_restore(h: &Harness) {
    let key = MasterKey::generate();
    let store = h.open(&key).await;
    fill(&store).await;
    let file = h.dir.path().join("store.backup");
    let report = store.backup(&file).await.unwrap();
    assert_eq!(report.records, 1501);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("secret 1"), "backup holds plaintext secrets");

    let target_h = h.sibling();
    let target = target_h.open(&key).await;
    assert_eq!(target.restore(&file).await.unwrap().records, 1501);
    let (a, b) = (dump(&store).await, dump(&target).await);
    assert_eq!(a.len(), 1501);
    assert!(a == b, "restored contents differ");
    assert_eq!(b.last().unwrap().2.version, 2);

    // The restored store keeps working and does not see writes made to the source afterwards.
    put(&store, "table0", "acct/00000", sealed("changed", "changed")).await;
    put(&target, "table0", "new", sealed("n", "n")).await;
    assert_eq!(
        secret_of(&get(&target, "table0", "acct/00000").await.unwrap().unwrap()),
        b"secret 0"
    );

    assert_eq!(
        target.restore(&file).await.unwrap_err(),
        StoreError::NotEmpty
    );
    let other_h = h.sibling();
    let other = other_h.open(&MasterKey::generate()).await;
    let err = other.restore(&file).await.unwrap_err();
    assert!(matches!(err, StoreError::Backup(_)), "{err:?}");
    assert!(dump(&other).await.is_empty());
    assert!(matches!(
        other.restore(&h.dir.path().join("missing")).await,
        Err(StoreError::Backup(_))
    ));

    // The header alone tells whether a key opens the backup, before anything is written.
    coffer_store::verify_backup_key(&file, &key).unwrap();
    assert!(matches!(
        coffer_store::verify_backup_key(&file, &MasterKey::generate()),
        Err(StoreError::Backup(_))
    ));
    assert!(matches!(
        coffer_store::verify_backup_key(&h.dir.path().join("missing"), &key),
        Err(StoreError::Backup(_))
    ));

    if h.durable() {
        // A clone still open keeps the store from closing; once it is gone, `close` returns with
        // the storage released: for SQLite the WAL is checkpointed into the database file.
        let clone = target.clone();
        assert!(target.close().await.is_err());
        clone.close().await.unwrap();
        if matches!(target_h.kind, crate::support::Kind::Sqlite) {
            let mut wal = target_h.db_path().into_os_string();
            wal.push("-wal");
            assert!(!std::path::Path::new(&wal).exists(), "WAL left after close");
        }
        let target = target_h.open(&key).await;
        assert_eq!(dump(&target).await.len(), 1502);
    }
}

/// A backup taken on the in-memory backend restores into this backend, and back.
pub async fn backup_portable(h: &Harness) {
    let key = MasterKey::generate();
    let mem_h = Harness::memory();
    let mem = mem_h.open(&key).await;
    fill(&mem).await;
    let file = h.dir.path().join("from-memory.backup");
    mem.backup(&file).await.unwrap();
    let store = h.open(&key).await;
    store.restore(&file).await.unwrap();
    assert!(dump(&mem).await == dump(&store).await);

    let back = h.dir.path().join("to-memory.backup");
    store.backup(&back).await.unwrap();
    let mem2 = Harness::memory().open(&key).await;
    mem2.restore(&back).await.unwrap();
    assert!(dump(&mem2).await == dump(&store).await);
}
