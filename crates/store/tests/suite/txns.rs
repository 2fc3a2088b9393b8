//! CRUD, conflicts, scans, atomicity and concurrency.

use std::sync::Arc;

use coffer_store::{MasterKey, NewRecord, Record, Store, StoreError, Txn};

use super::{get, put, rec, sealed, secret_of};
use crate::support::Harness;

pub async fn crud(h: &Harness) {
    let store = h.open(&MasterKey::generate()).await;
    assert_eq!(get(&store, "t", "k").await.unwrap(), None);

    put(&store, "t", "k", sealed(r#"{"n":1}"#, "s3cret")).await;
    let r = get(&store, "t", "k").await.unwrap().unwrap();
    assert_eq!(r.doc, br#"{"n":1}"#);
    assert_eq!(secret_of(&r), b"s3cret");
    assert_eq!(r.version, 1);

    put(&store, "t", "k", rec(r#"{"n":2}"#)).await;
    let r = get(&store, "t", "k").await.unwrap().unwrap();
    assert_eq!(
        (r.doc.as_slice(), r.sealed.is_none(), r.version),
        (&br#"{"n":2}"#[..], true, 2)
    );

    // Same key in another table is a different record.
    assert_eq!(get(&store, "u", "k").await.unwrap(), None);

    let deleted = store
        .write(|t: &mut dyn Txn| Ok::<_, StoreError>((t.delete("t", "k")?, t.delete("t", "k")?)))
        .await
        .unwrap();
    assert_eq!(deleted, (true, false));
    assert_eq!(get(&store, "t", "k").await.unwrap(), None);

    // A re-created record starts again at version 1; empty doc and empty secret round-trip.
    put(
        &store,
        "t",
        "k",
        NewRecord::new(Vec::new()).with_sealed(Vec::new()),
    )
    .await;
    let r = get(&store, "t", "k").await.unwrap().unwrap();
    assert_eq!((r.doc.len(), secret_of(&r).len(), r.version), (0, 0, 1));

    // Reads inside a write see the write's own changes.
    let seen = store
        .write(|t: &mut dyn Txn| {
            t.put("t", "own", sealed("d", "mine"))?;
            let r = t.get("t", "own")?.unwrap();
            Ok::<_, StoreError>(secret_of(&r))
        })
        .await
        .unwrap();
    assert_eq!(seen, b"mine");
}

pub async fn insert_conflict(h: &Harness) {
    let store = h.open(&MasterKey::generate()).await;
    store
        .write(|t: &mut dyn Txn| t.insert("t", "k", sealed("first", "one")))
        .await
        .unwrap();
    let err = store
        .write(|t: &mut dyn Txn| t.insert("t", "k", sealed("second", "two")))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict {
            table: "t".into(),
            key: "k".into()
        }
    );
    // The closure may handle the conflict and commit other work.
    store
        .write(|t: &mut dyn Txn| {
            let dup = t.insert("t", "k", rec("third"));
            assert!(matches!(dup, Err(StoreError::Conflict { .. })));
            t.put("t", "other", rec("x"))
        })
        .await
        .unwrap();
    let r = get(&store, "t", "k").await.unwrap().unwrap();
    assert_eq!(
        (r.doc.as_slice(), secret_of(&r), r.version),
        (&b"first"[..], b"one".to_vec(), 1)
    );
    assert!(get(&store, "t", "other").await.unwrap().is_some());
}

pub async fn scan(h: &Harness) {
    let store = h.open(&MasterKey::generate()).await;
    let keys = [
        "a/1",
        "a/10",
        "a/2",
        "a/b",
        "a/é",
        "a/z",
        "a0",
        "a",
        "b/1",
        "",
        "a/\u{10000}",
    ];
    store
        .write(move |t: &mut dyn Txn| {
            for k in keys {
                t.put("t", k, sealed(k, &format!("secret-{k}")))?;
            }
            t.put("other", "a/1", rec("other table"))
        })
        .await
        .unwrap();
    let list = |prefix: &'static str, after: Option<&'static str>, limit: usize| {
        let store = store.clone();
        async move {
            store
                .read(move |t: &mut dyn Txn| t.scan("t", prefix, after, limit))
                .await
                .unwrap()
        }
    };
    let keys_of = |rows: Vec<(String, coffer_store::Record)>| {
        rows.into_iter()
            .map(|(k, r)| {
                assert_eq!(r.doc, k.as_bytes(), "record under the wrong key");
                assert_eq!(secret_of(&r), format!("secret-{k}").as_bytes());
                k
            })
            .collect::<Vec<_>>()
    };
    // Byte order: "1" < "10" < "2" < "b" < "z" < "é" (0xC3) < U+10000 (0xF0).
    let expected = ["a/1", "a/10", "a/2", "a/b", "a/z", "a/é", "a/\u{10000}"];
    assert_eq!(keys_of(list("a/", None, 100).await), expected);
    assert_eq!(keys_of(list("a/", None, 3).await), expected[..3]);
    assert_eq!(keys_of(list("a/", Some("a/10"), 2).await), ["a/2", "a/b"]);
    assert_eq!(
        keys_of(list("a/", Some("a/\u{10000}"), 10).await),
        Vec::<String>::new()
    );
    // A cursor before the prefix range starts at the prefix; after it, nothing.
    assert_eq!(keys_of(list("a/", Some("0"), 2).await), ["a/1", "a/10"]);
    assert_eq!(keys_of(list("a/", Some("b"), 10).await).len(), 0);
    assert_eq!(list("a/", None, 0).await.len(), 0);
    // Empty prefix lists the whole table, including the empty key, in order.
    let all = keys_of(list("", None, 100).await);
    let mut sorted: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
    sorted.sort();
    assert_eq!(all, sorted);
    // Paginating with the last key as cursor visits everything exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let c = cursor.clone();
        let page = store
            .read(move |t: &mut dyn Txn| t.scan("t", "", c.as_deref(), 4))
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|(k, _)| k.clone());
        seen.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(seen, sorted);
    assert_eq!(keys_of(list("a/1", None, 10).await), ["a/1", "a/10"]);

    // Backwards: the same keys in the opposite order, strictly before the cursor.
    let back = |prefix: &'static str, before: Option<&'static str>, limit: usize| {
        let store = store.clone();
        async move {
            store
                .read(move |t: &mut dyn Txn| t.scan_rev("t", prefix, before, limit))
                .await
                .unwrap()
        }
    };
    let reversed: Vec<&str> = expected.iter().rev().copied().collect();
    assert_eq!(keys_of(back("a/", None, 100).await), reversed);
    assert_eq!(keys_of(back("a/", None, 2).await), reversed[..2]);
    assert_eq!(keys_of(back("a/", Some("a/b"), 2).await), ["a/2", "a/10"]);
    assert_eq!(keys_of(back("a/", Some("a/1"), 10).await).len(), 0);
    // A cursor after the prefix range starts at its end (not at "a0", which follows it); one
    // before it, or at the prefix itself, leaves nothing.
    assert_eq!(
        keys_of(back("a/", Some("b"), 2).await),
        ["a/\u{10000}", "a/é"]
    );
    assert_eq!(keys_of(back("a/", Some("a/"), 10).await).len(), 0);
    assert_eq!(keys_of(back("a/", Some("0"), 10).await).len(), 0);
    assert_eq!(back("a/", None, 0).await.len(), 0);
    // Another table's keys, and keys sharing only part of the prefix, are not listed.
    assert_eq!(keys_of(back("a/1", None, 10).await), ["a/10", "a/1"]);
    assert_eq!(keys_of(back("b/", None, 10).await), ["b/1"]);
    // The empty prefix lists the whole table backwards, and paging by the last key visits
    // everything exactly once.
    let mut descending = sorted.clone();
    descending.reverse();
    assert_eq!(keys_of(back("", None, 100).await), descending);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let c = cursor.clone();
        let page = store
            .read(move |t: &mut dyn Txn| t.scan_rev("t", "", c.as_deref(), 3))
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|(k, _)| k.clone());
        seen.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(seen, descending);
}

pub async fn atomicity(h: &Harness) {
    let store = h.open(&MasterKey::generate()).await;
    put(&store, "t", "keep", sealed("orig", "orig-secret")).await;

    let err = store
        .write(|t: &mut dyn Txn| {
            t.put("t", "new", rec("x"))?;
            t.put("t", "keep", sealed("changed", "changed"))?;
            t.delete("t", "keep")?;
            Err::<(), _>(StoreError::Backend("closure gave up".into()))
        })
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Backend("closure gave up".into()));
    assert_eq!(get(&store, "t", "new").await.unwrap(), None);
    let r = get(&store, "t", "keep").await.unwrap().unwrap();
    assert_eq!((r.doc.as_slice(), r.version), (&b"orig"[..], 1));

    // A panicking closure is rolled back and the store keeps working.
    let err = store
        .write(|t: &mut dyn Txn| {
            t.put("t", "new", rec("x"))?;
            if t.get("t", "keep")?.is_some() {
                panic!("closure bug");
            }
            Ok::<(), StoreError>(())
        })
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Panicked);
    assert_eq!(get(&store, "t", "new").await.unwrap(), None);
    put(&store, "t", "after", rec("ok")).await;
    assert!(get(&store, "t", "after").await.unwrap().is_some());

    // Read transactions cannot write.
    let err = store
        .read(|t: &mut dyn Txn| t.put("t", "x", rec("x")))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::ReadOnly);

    // Caller-defined error types work through `From<StoreError>`.
    #[derive(Debug, PartialEq)]
    enum AppError {
        Store(StoreError),
        Invalid,
    }
    impl From<StoreError> for AppError {
        fn from(e: StoreError) -> Self {
            AppError::Store(e)
        }
    }
    let err = store
        .write(|t: &mut dyn Txn| {
            t.put("t", "app", rec("x"))?;
            Err::<(), AppError>(AppError::Invalid)
        })
        .await
        .unwrap_err();
    assert_eq!(err, AppError::Invalid);
    let err = store
        .write(|t: &mut dyn Txn| {
            t.insert("t", "keep", rec("x"))?;
            Ok::<(), AppError>(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Store(StoreError::Conflict { .. })));
    assert_eq!(get(&store, "t", "app").await.unwrap(), None);
}

async fn increment(store: &Store, fail: bool) -> Result<u64, StoreError> {
    store
        .write(move |t: &mut dyn Txn| {
            let n: u64 = match t.get("t", "counter")? {
                Some(r) => String::from_utf8(r.doc).unwrap().parse().unwrap(),
                None => 0,
            };
            t.put("t", "counter", rec(&(n + 1).to_string()))?;
            t.put(
                "t",
                &format!("log/{:06}", n + 1),
                sealed("", &format!("v{}", n + 1)),
            )?;
            if fail {
                return Err(StoreError::Backend("planned failure".into()));
            }
            Ok(n + 1)
        })
        .await
}

/// Concurrent read-modify-write on one record loses no update; failing closures interleaved with
/// successful ones (in the same group commit on SQLite) leave no trace.
pub async fn concurrency(h: &Harness) {
    let store = Arc::new(h.open(&MasterKey::generate()).await);
    let mut tasks = Vec::new();
    for task in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = Vec::new();
            for i in 0..8 {
                let fail = (task + i) % 4 == 0;
                match increment(&store, fail).await {
                    Ok(n) => {
                        assert!(!fail);
                        ok.push(n);
                    }
                    Err(e) => assert!(fail, "unexpected failure {e}"),
                }
            }
            ok
        }));
    }
    let mut values = Vec::new();
    for t in tasks {
        values.extend(t.await.unwrap());
    }
    values.sort();
    let expected: Vec<u64> = (1..=values.len() as u64).collect();
    assert_eq!(
        values, expected,
        "every successful increment saw a distinct value"
    );
    assert_eq!(values.len(), 32 * 8 - 32 * 8 / 4);
    let r = get(&store, "t", "counter").await.unwrap().unwrap();
    assert_eq!(r.doc, values.len().to_string().as_bytes());
    assert_eq!(r.version, values.len() as u64);
    let log = store
        .read(|t: &mut dyn Txn| t.scan("t", "log/", None, 10_000))
        .await
        .unwrap();
    assert_eq!(log.len(), values.len());
    for (i, (_, r)) in log.iter().enumerate() {
        assert_eq!(secret_of(r), format!("v{}", i + 1).as_bytes());
    }
}

/// `Store::get` (the cached path) always reflects committed writes of this process.
pub async fn cached_get(h: &Harness) {
    let store = h.open(&MasterKey::generate()).await;
    assert_eq!(store.get("t", "k").await.unwrap(), None);
    put(&store, "t", "k", sealed("1", "one")).await;
    for _ in 0..3 {
        let r = store.get("t", "k").await.unwrap().unwrap();
        assert_eq!((secret_of(&r), r.version), (b"one".to_vec(), 1));
    }
    put(&store, "t", "k", sealed("2", "two")).await;
    let r = store.get("t", "k").await.unwrap().unwrap();
    assert_eq!((secret_of(&r), r.version), (b"two".to_vec(), 2));
    store
        .write(|t: &mut dyn Txn| t.delete("t", "k"))
        .await
        .unwrap();
    assert_eq!(store.get("t", "k").await.unwrap(), None);

    // Concurrent writers and cached readers: a reader never sees a value older than one it saw.
    put(&store, "t", "c", rec("0")).await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 1..=100u64 {
                put(&store, "t", "c", rec(&i.to_string())).await;
            }
        })
    };
    let mut last = 0;
    let mut readers_done = false;
    while !readers_done {
        readers_done = writer.is_finished();
        let r = store.get("t", "c").await.unwrap().unwrap();
        let n: u64 = String::from_utf8(r.doc).unwrap().parse().unwrap();
        assert!(n >= last, "cached read went back from {last} to {n}");
        last = n;
    }
    writer.await.unwrap();
    let r = store.get("t", "c").await.unwrap().unwrap();
    assert_eq!(r.doc, b"100");
}

/// Caches built over whole tables learn of every write to them, and only to them.
pub async fn table_generations(h: &Harness) {
    let store = h.open(&MasterKey::generate()).await;
    // Nothing has written `a` or `b` yet, so no notification of an earlier write to them can
    // still arrive (PostgreSQL delivers a node's own notifications too, asynchronously).
    let before = store.tables_generation(&["a", "b"]);
    put(&store, "other", "k", rec("x")).await;
    assert_eq!(store.tables_generation(&["a", "b"]), before);
    put(&store, "b", "k", rec("x")).await;
    let after_b = store.tables_generation(&["a", "b"]);
    assert_ne!(after_b, before);
    put(&store, "a", "k", rec("x")).await;
    let after_a = store.tables_generation(&["a", "b"]);
    assert_ne!(after_a, after_b);
    store
        .write(|t: &mut dyn Txn| t.delete("a", "k"))
        .await
        .unwrap();
    assert_ne!(store.tables_generation(&["a", "b"]), after_a);
}

/// `Store::get_decoded` decodes a record once and serves the decoded value until the record
/// changes; a write or delete is seen by the next call, never an older value.
pub async fn decoded_get(h: &Harness) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let store = h.open(&MasterKey::generate()).await;
    let decodes = AtomicUsize::new(0);
    let decode = |r: Record| -> Result<(String, Vec<u8>), StoreError> {
        decodes.fetch_add(1, Ordering::SeqCst);
        Ok((String::from_utf8(r.doc.clone()).unwrap(), secret_of(&r)))
    };
    assert!(store.get_decoded("t", "k", decode).await.unwrap().is_none());
    let before = store.tables_generation(&["t"]);
    put(&store, "t", "k", sealed("1", "one")).await;
    if store.staleness_bound().is_some() {
        // PostgreSQL delivers a node's own change notification too, a moment after the write, and
        // it drops the cached entry once more. Wait for that event (the table's second bump, after
        // the write's own) rather than for an amount of time.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while store.tables_generation(&["t"]).wrapping_sub(before) < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the write's own notification never arrived"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
    let v = store.get_decoded("t", "k", decode).await.unwrap().unwrap();
    assert_eq!(*v, ("1".to_string(), b"one".to_vec()));
    // Reads of the unchanged record decode nothing more.
    let settled = decodes.load(Ordering::SeqCst);
    assert_eq!(settled, 1);
    for _ in 0..3 {
        let v = store.get_decoded("t", "k", decode).await.unwrap().unwrap();
        assert_eq!(*v, ("1".to_string(), b"one".to_vec()));
    }
    assert_eq!(
        decodes.load(Ordering::SeqCst),
        settled,
        "decoded again while unchanged"
    );
    put(&store, "t", "k", sealed("2", "two")).await;
    let v = store.get_decoded("t", "k", decode).await.unwrap().unwrap();
    assert_eq!(*v, ("2".to_string(), b"two".to_vec()));
    assert_eq!(decodes.load(Ordering::SeqCst), settled + 1);
    store
        .write(|t: &mut dyn Txn| t.delete("t", "k"))
        .await
        .unwrap();
    assert!(store.get_decoded("t", "k", decode).await.unwrap().is_none());
    // A decode error is returned, and nothing is remembered for the record.
    put(&store, "t", "k", sealed("3", "three")).await;
    let failing = |_: Record| -> Result<String, StoreError> {
        Err(StoreError::Corrupt("undecodable".into()))
    };
    assert!(store.get_decoded("t", "k", failing).await.is_err());
    let v = store.get_decoded("t", "k", decode).await.unwrap().unwrap();
    assert_eq!(v.0, "3");
}

/// `Store::reset` empties every table, cached copies included, and the store stays usable under
/// the same master key (a durable store reopens with it).
pub async fn reset(h: &Harness) {
    let key = MasterKey::generate();
    let store = h.open(&key).await;
    for i in 0..50 {
        put(&store, "secrets", &format!("k{i}"), sealed("d", "v")).await;
    }
    put(&store, "users", "alice", rec("u")).await;
    // Warm the cache, so the reset must empty it too.
    assert!(store.get("secrets", "k0").await.unwrap().is_some());
    let generation = store.tables_generation(&["secrets"]);

    assert_eq!(store.reset().await.unwrap(), 51);
    assert_eq!(store.get("secrets", "k0").await.unwrap(), None);
    assert_eq!(get(&store, "users", "alice").await.unwrap(), None);
    let left = store
        .read(|t: &mut dyn Txn| t.scan("secrets", "", None, 100))
        .await
        .unwrap();
    assert!(left.is_empty());
    assert_ne!(store.tables_generation(&["secrets"]), generation);
    assert_eq!(store.reset().await.unwrap(), 0);

    // Usable at once, sealing under the same key.
    put(&store, "secrets", "k0", sealed("d", "again")).await;
    let r = store.get("secrets", "k0").await.unwrap().unwrap();
    assert_eq!((secret_of(&r), r.version), (b"again".to_vec(), 1));
    if h.durable() {
        drop(store);
        let reopened = h.open(&key).await;
        let r = reopened.get("secrets", "k0").await.unwrap().unwrap();
        assert_eq!(secret_of(&r), b"again");
        assert_eq!(get(&reopened, "users", "alice").await.unwrap(), None);
    }
}

/// The observer hears of every transaction (with the storage's failure, not the closure's own
/// error) and of every cache lookup.
pub async fn observed(h: &Harness) {
    use coffer_store::{CacheKind, StoreObserver, TransactionKind};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Seen {
        transactions: Mutex<Vec<(TransactionKind, Option<String>)>>,
        lookups: Mutex<Vec<(CacheKind, bool)>>,
    }
    impl StoreObserver for Seen {
        fn transaction(
            &self,
            kind: TransactionKind,
            _elapsed: std::time::Duration,
            failure: Option<&StoreError>,
        ) {
            let failure = failure.map(|e| e.kind().to_string());
            self.transactions.lock().unwrap().push((kind, failure));
        }
        fn cache_lookup(&self, cache: CacheKind, hit: bool) {
            self.lookups.lock().unwrap().push((cache, hit));
        }
    }

    let store = h.open(&MasterKey::generate()).await;
    let seen = Arc::new(Seen::default());
    assert!(store.set_observer(seen.clone()));
    assert!(!store.set_observer(Arc::new(Seen::default())));

    let before = store.tables_generation(&["t"]);
    put(&store, "t", "k", rec("1")).await;
    // The closure's own error is not a storage failure.
    let refused: Result<(), StoreError> = store
        .write(|_t: &mut dyn Txn| Err(StoreError::NotEmpty))
        .await;
    assert!(refused.is_err());
    // A closure that panics is rolled back: a storage failure.
    let panicked: Result<(), StoreError> = store
        .read(|_t: &mut dyn Txn| panic!("a closure that panics"))
        .await;
    assert_eq!(panicked, Err(StoreError::Panicked));
    assert_eq!(
        *seen.transactions.lock().unwrap(),
        vec![
            (TransactionKind::Write, None),
            (TransactionKind::Write, None),
            (TransactionKind::Read, Some("panicked".to_string())),
        ]
    );

    if store.staleness_bound().is_some() {
        // PostgreSQL delivers a node's own change notification too, a moment after the write,
        // and it drops a cached entry: wait for it (the table's second bump) so that it cannot
        // turn the second lookup below into a miss.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while store.tables_generation(&["t"]).wrapping_sub(before) < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the write's own notification never arrived"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
    store.get("t", "k").await.unwrap();
    store.get("t", "k").await.unwrap();
    let lookups = seen.lookups.lock().unwrap().clone();
    assert_eq!(
        lookups,
        vec![(CacheKind::Records, false), (CacheKind::Records, true)]
    );
}
