//! Several nodes on one PostgreSQL database.

use std::time::{Duration, Instant};

use coffer_store::{MasterKey, Store, StoreError, Txn};

use super::{get, put, rec, sealed, secret_of};
use crate::support::Harness;

/// A write on one node is visible to the other's transactions at once and to its cache within a
/// second; concurrent increments from both nodes lose nothing.
pub async fn two_nodes(h: &Harness) {
    let key = MasterKey::generate();
    let a = h.open(&key).await;
    let b = h.open(&key).await;

    put(&a, "t", "k", sealed("1", "one")).await;
    assert_eq!(
        secret_of(&get(&b, "t", "k").await.unwrap().unwrap()),
        b"one"
    );
    // Warm b's cache, then change the record on a.
    assert_eq!(secret_of(&b.get("t", "k").await.unwrap().unwrap()), b"one");
    put(&a, "t", "k", sealed("2", "two")).await;
    let start = Instant::now();
    loop {
        let r = b.get("t", "k").await.unwrap().unwrap();
        if secret_of(&r) == b"two" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node b still served the old value after {:?}",
            start.elapsed()
        );
        tokio::task::yield_now().await;
    }

    let increments = |store: Store| async move {
        for _ in 0..25 {
            store
                .write(|t: &mut dyn Txn| {
                    let n: u64 = match t.get("t", "counter")? {
                        Some(r) => String::from_utf8(r.doc).unwrap().parse().unwrap(),
                        None => 0,
                    };
                    t.put("t", "counter", rec(&(n + 1).to_string()))
                })
                .await
                .unwrap();
        }
    };
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(increments(s)));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(get(&a, "t", "counter").await.unwrap().unwrap().doc, b"200");

    // Exactly one of two racing inserts of one name wins.
    let race = |store: Store, who: &'static str| async move {
        store
            .write(move |t: &mut dyn Txn| t.insert("names", "acct/region/db-password", rec(who)))
            .await
    };
    let (ra, rb) = tokio::join!(race(a.clone(), "a"), race(b.clone(), "b"));
    assert!(
        ra.is_ok() != rb.is_ok(),
        "exactly one insert must win: {ra:?} {rb:?}"
    );
    let loser = if ra.is_ok() { rb } else { ra };
    assert!(matches!(loser, Err(StoreError::Conflict { .. })));
}

/// A rotation run on one node: the other node keeps reading and writing throughout, and a node started
/// with the new key reads everything afterwards.
pub async fn rotation_across_nodes(h: &Harness) {
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let a = h.open(&old).await;
    let b = h.open(&old).await;
    for i in 0..300 {
        put(&a, "r", &format!("{i:04}"), sealed("d", &format!("v{i}"))).await;
    }
    let writer = {
        let b = b.clone();
        tokio::spawn(async move {
            for i in 300..400 {
                put(&b, "r", &format!("{i:04}"), sealed("d", &format!("v{i}"))).await;
                let r = get(&b, "r", &format!("{:04}", i - 300))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(secret_of(&r), format!("v{}", i - 300).as_bytes());
            }
        })
    };
    a.rotate_master_key(new.clone(), Duration::ZERO)
        .await
        .unwrap();
    writer.await.unwrap();
    drop((a, b));
    let c = h.open(&new).await;
    let rows = c
        .read(|t: &mut dyn Txn| t.scan("r", "", None, 1000))
        .await
        .unwrap();
    assert_eq!(rows.len(), 400);
    for (k, r) in rows {
        let i: usize = k.parse().unwrap();
        assert_eq!(secret_of(&r), format!("v{i}").as_bytes());
    }
    assert!(Store::open(h.config(&old)).await.is_err());
}

/// Restarting PostgreSQL under load: in-flight and new requests fail with retryable errors, the store
/// recovers by itself (same `Store`, no reopen), and every acknowledged write is present.
pub async fn server_restart() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use coffer_store::{BackendConfig, MasterKeySource, StoreConfig};

    use crate::support::pg::{off_runtime, Cluster};

    let cluster = Arc::new(off_runtime(Cluster::start));
    let url = cluster.database();
    let store = Store::open(StoreConfig::new(
        BackendConfig::Postgres(url),
        MasterKeySource::Key(MasterKey::generate()),
    ))
    .await
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (store, stop, acked) = (store.clone(), stop.clone(), acked_tx.clone());
        writers.push(tokio::spawn(async move {
            let mut errors = 0u32;
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let key = format!("w{w}/{i:06}");
                let k = key.clone();
                match store
                    .write(move |t: &mut dyn Txn| t.put("load", &k, sealed("d", &k)))
                    .await
                {
                    Ok(()) => {
                        let _ = acked.send(key);
                    }
                    Err(e) => {
                        assert!(
                            e.is_retryable(),
                            "non-retryable error during restart: {e:?}"
                        );
                        errors += 1;
                        tokio::task::yield_now().await;
                    }
                }
            }
            errors
        }));
    }
    drop(acked_tx);
    let mut acked = Vec::new();
    while acked.len() < 100 {
        acked.push(acked_rx.recv().await.unwrap());
    }
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart())
        .await
        .unwrap();
    let before_restart_done = acked.len();
    // Recovery: writes are acknowledged again without reopening the store.
    let mut after = 0;
    while after < 100 {
        acked.push(acked_rx.recv().await.unwrap());
        after += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let mut errors = 0;
    for w in writers {
        errors += w.await.unwrap();
    }
    while let Ok(k) = acked_rx.try_recv() {
        acked.push(k);
    }
    assert!(before_restart_done >= 100);
    assert!(errors > 0, "the restart should have failed some requests");
    for key in &acked {
        let r = get(&store, "load", key).await.unwrap();
        assert_eq!(
            secret_of(&r.unwrap_or_else(|| panic!("acknowledged write {key} lost"))),
            key.as_bytes()
        );
    }
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap();
}

/// A write on one node changes the other node's table generation within a second, so caches
/// derived from whole tables (compiled policies) follow writes made elsewhere.
pub async fn table_generations_across_nodes(h: &Harness) {
    let key = MasterKey::generate();
    let a = h.open(&key).await;
    let b = h.open(&key).await;
    let before = b.tables_generation(&["policies"]);
    put(&a, "policies", "p", rec("1")).await;
    let start = Instant::now();
    while b.tables_generation(&["policies"]) == before {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node b did not learn of the write within a second"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(b.staleness_bound(), Some(Duration::from_secs(1)));
}

/// A value decoded on one node is replaced within a second of a write on another.
pub async fn decoded_across_nodes(h: &Harness) {
    let key = MasterKey::generate();
    let a = h.open(&key).await;
    let b = h.open(&key).await;
    let decode = |r: coffer_store::Record| -> Result<Vec<u8>, StoreError> { Ok(secret_of(&r)) };
    put(&a, "t", "k", sealed("1", "one")).await;
    assert_eq!(
        *b.get_decoded("t", "k", decode).await.unwrap().unwrap(),
        b"one"
    );
    put(&a, "t", "k", sealed("2", "two")).await;
    let start = Instant::now();
    while *b.get_decoded("t", "k", decode).await.unwrap().unwrap() != b"two" {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node b still served the old decoded value after {:?}",
            start.elapsed()
        );
        tokio::task::yield_now().await;
    }
}
