//! The trail as the server and the admin commands use it: written, reopened, rotated, broken,
//! tampered with, verified and searched.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use coffer_audit::files::trail_files;
use coffer_audit::lookup::{lookup, Filter};
use coffer_audit::verify::{verify, ProblemKind, Verification};
use coffer_audit::{
    AuditError, Destination, Event, EventCategory, EventType, Flush, IdentityType, SigningKey,
    Trail, TrailConfig, UserIdentity, DEFAULT_SYNC_INTERVAL,
};
use zeroize::Zeroizing;

fn key(byte: u8) -> SigningKey {
    SigningKey::from_derived(Zeroizing::new([byte; 32]))
}

fn event(n: usize, name: &str, principal: &str) -> Event {
    Event {
        event_version: "1.11".into(),
        user_identity: UserIdentity {
            identity_type: IdentityType::IamUser,
            principal_id: Some("AIDAEXAMPLE".into()),
            arn: Some(principal.into()),
            account_id: Some("123456789012".into()),
            access_key_id: Some("AKIAEXAMPLE".into()),
            user_name: principal.rsplit('/').next().map(String::from),
            session_context: None,
            identity_provider: None,
        },
        event_time: format!("2026-06-14T12:{:02}:00Z", n % 60),
        event_source: "secretsmanager.amazonaws.com".into(),
        event_name: name.into(),
        aws_region: "us-east-1".into(),
        source_ip_address: "127.0.0.1".into(),
        user_agent: "test".into(),
        error_code: None,
        error_message: None,
        request_parameters: Some(serde_json::json!({"secretId": format!("secret-{n}")})),
        response_elements: None,
        request_id: format!("request-{n}"),
        event_id: format!("event-{n}"),
        read_only: true,
        event_type: EventType::AwsApiCall,
        management_event: true,
        recipient_account_id: "123456789012".into(),
        event_category: EventCategory::Management,
        tls_details: None,
    }
}

fn config(path: &Path, max_file_bytes: u64, keep_rotated: usize) -> TrailConfig {
    TrailConfig {
        destination: Destination::File(path.to_path_buf()),
        max_file_bytes,
        keep_rotated,
        key: key(1),
        flush: Flush::Fsync,
        sync_interval: DEFAULT_SYNC_INTERVAL,
    }
}

async fn write(trail: &Trail, range: std::ops::Range<usize>) {
    for n in range {
        trail
            .append(&event(
                n,
                "GetSecretValue",
                "arn:aws:iam::123456789012:user/alice",
            ))
            .await
            .expect("append");
    }
}

fn verified(paths: &[PathBuf]) -> Verification {
    let report = verify(paths, &[key(1)]).expect("readable");
    assert_eq!(report.problem, None, "notes: {:?}", report.notes);
    report
}

fn problem(paths: &[PathBuf]) -> ProblemKind {
    verify(paths, &[key(1)])
        .expect("readable")
        .problem
        .expect("a problem")
        .kind
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn rewrite(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[tokio::test]
async fn records_are_durable_chained_and_continue_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    write(&trail, 0..3).await;
    // Readable as soon as append returns: it is on disk, not in a buffer.
    assert_eq!(lines(&path).len(), 3);
    drop(trail);
    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    write(&trail, 3..5).await;
    drop(trail);

    let report = verified(std::slice::from_ref(&path));
    assert_eq!((report.records, report.first), (5, Some(1)));
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    for (n, line) in lines(&path).iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["requestID"], format!("request-{n}"));
        assert_eq!(value["cofferIntegrity"]["sequence"], n as u64 + 1);
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn concurrent_requests_each_get_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    concurrent_requests(config(&path, 1 << 30, 10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_written_requests_each_get_one_record_on_a_multi_threaded_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    concurrent_requests(written_config(&path, 1 << 30, Duration::from_millis(1))).await;
}

/// 200 requests at once: each gets exactly one record, and the chain verifies.
async fn concurrent_requests(config: TrailConfig) {
    let Destination::File(path) = config.destination.clone() else {
        unreachable!()
    };
    let trail = Arc::new(Trail::open(config).unwrap());
    let tasks: Vec<_> = (0..200)
        .map(|n| {
            let trail = trail.clone();
            tokio::spawn(async move {
                trail
                    .append(&event(n, "GetSecretValue", "arn:aws:iam::1:user/u"))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut ids: Vec<String> = lines(&path)
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["requestID"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    let mut expected: Vec<String> = (0..200).map(|n| format!("request-{n}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(verified(&[path]).records, 200);
}

#[tokio::test]
async fn an_incomplete_last_record_is_cut_off_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    write(&trail, 0..2).await;
    drop(trail);
    let mut content = std::fs::read(&path).unwrap();
    content.extend_from_slice(br#"{"eventVersion":"1.11","userIden"#);
    std::fs::write(&path, &content).unwrap();
    let before = verify(std::slice::from_ref(&path), &[key(1)]).unwrap();
    assert!(before.problem.is_none());
    assert!(before.notes.iter().any(|n| n.contains("incomplete record")));

    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    write(&trail, 2..3).await;
    drop(trail);
    assert_eq!(verified(&[path]).records, 3);
}

#[tokio::test]
async fn a_trail_that_cannot_be_continued_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, "this is not a record\n").unwrap();
    match Trail::open(config(&path, 1 << 30, 10)) {
        Err(AuditError::Corrupt { reason, .. }) => assert!(reason.contains("not an audit record")),
        other => panic!("{:?}", other.err()),
    }

    let trail_path = dir.path().join("other.log");
    let trail = Trail::open(config(&trail_path, 1 << 30, 10)).unwrap();
    write(&trail, 0..2).await;
    drop(trail);
    let mut all = lines(&trail_path);
    all[1] = all[1].replace("secret-1", "secret-X");
    rewrite(&trail_path, &all);
    match Trail::open(config(&trail_path, 1 << 30, 10)) {
        Err(AuditError::Corrupt { reason, .. }) => assert!(reason.contains("signature")),
        other => panic!("{:?}", other.err()),
    }
    // Under another master key, the chain continues (verify-audit then needs both keys).
    let mut other_key = config(&trail_path, 1 << 30, 10);
    other_key.key = key(2);
    all[1] = all[1].replace("secret-X", "secret-1");
    rewrite(&trail_path, &all);
    let trail = Trail::open(other_key).unwrap();
    write(&trail, 2..3).await;
    drop(trail);
    let both = verify(std::slice::from_ref(&trail_path), &[key(1), key(2)]).unwrap();
    assert_eq!((both.problem, both.records), (None, 3));
    assert!(matches!(
        verify(&[trail_path], &[key(1)])
            .unwrap()
            .problem
            .unwrap()
            .kind,
        ProblemKind::UnknownKey { sequence: 3, .. }
    ));
}

#[tokio::test]
async fn one_process_writes_a_trail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    assert!(matches!(
        Trail::open(config(&path, 1 << 30, 10)),
        Err(AuditError::Locked { .. })
    ));
    drop(trail);
    Trail::open(config(&path, 1 << 30, 10)).unwrap();
}

#[tokio::test]
async fn a_failed_write_fails_the_request_and_leaves_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    failed_round_in_the_middle(config(&path, 1 << 30, 10), &dir).await;
}

/// Two records, a round that cannot be written, one more: the failed round's request is refused,
/// the trail fails until a round succeeds, and the file holds the other three, chained without a
/// gap. Answers the fdatasyncs counted when the failed round was refused.
async fn failed_round_in_the_middle(config: TrailConfig, dir: &tempfile::TempDir) -> u64 {
    let Destination::File(path) = config.destination.clone() else {
        unreachable!()
    };
    let trail = Trail::open(config).unwrap();
    write(&trail, 0..2).await;
    // The trail's path stops being a writable file (here: a directory takes its place, which
    // even root cannot write; the end-to-end tests make it read-only).
    let aside = dir.path().join("aside.log");
    std::fs::rename(&path, &aside).unwrap();
    std::fs::create_dir(&path).unwrap();
    let refused = trail
        .append(&event(2, "GetSecretValue", "arn:aws:iam::1:user/u"))
        .await;
    assert!(matches!(refused, Err(AuditError::Io { .. })), "{refused:?}");
    assert!(trail.is_failing());
    let syncs_at_failure = syncs(&trail);
    std::fs::remove_dir(&path).unwrap();
    std::fs::rename(&aside, &path).unwrap();
    write(&trail, 3..4).await;
    assert!(!trail.is_failing());
    drop(trail);
    let report = verified(std::slice::from_ref(&path));
    assert_eq!(report.records, 3);
    let ids: Vec<String> = lines(&path)
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["requestID"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["request-0", "request-1", "request-3"]);
    syncs_at_failure
}

#[tokio::test]
async fn rotation_keeps_the_newest_files_and_the_chain_runs_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    // About three records per file.
    let record_size = {
        let probe = dir.path().join("probe.log");
        let trail = Trail::open(config(&probe, 1 << 30, 10)).unwrap();
        write(&trail, 0..1).await;
        std::fs::metadata(&probe).unwrap().len()
    };
    let trail = Trail::open(config(&path, record_size * 3, 100)).unwrap();
    write(&trail, 0..20).await;
    drop(trail);
    let files = trail_files(&path).unwrap();
    assert!(files.len() >= 6, "{files:?}");
    let report = verified(&files);
    assert_eq!((report.records, report.first), (20, Some(1)));
    // In any order given.
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(verified(&reversed).records, 20);
    // A rotated file missing from the middle is a gap.
    let mut without = files.clone();
    without.remove(2);
    assert!(matches!(problem(&without), ProblemKind::Missing { .. }));

    // Keeping two rotated files deletes the older ones; what is left still verifies.
    let kept = dir.path().join("kept.log");
    let trail = Trail::open(config(&kept, record_size * 3, 2)).unwrap();
    write(&trail, 0..20).await;
    drop(trail);
    let files = trail_files(&kept).unwrap();
    assert!(files.len() <= 3, "{files:?}");
    let report = verified(&files);
    assert!(report.first > Some(1));
    assert!(report.notes.iter().any(|n| n.contains("start at sequence")));
    // And a restart continues from the newest rotated file when the active one is gone.
    if kept.exists() {
        std::fs::remove_file(&kept).unwrap();
    }
    let trail = Trail::open(config(&kept, 1 << 30, 2)).unwrap();
    write(&trail, 20..21).await;
    drop(trail);
    let files = trail_files(&kept).unwrap();
    let last: serde_json::Value =
        serde_json::from_str(lines(files.last().unwrap()).last().unwrap()).unwrap();
    assert!(last["cofferIntegrity"]["sequence"].as_u64().unwrap() > 18);
}

#[tokio::test]
async fn verification_finds_edited_deleted_reordered_copied_and_foreign_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    write(&trail, 0..6).await;
    drop(trail);
    let original = lines(&path);
    let paths = [path.clone()];
    let located = |paths: &[PathBuf]| verify(paths, &[key(1)]).unwrap().problem.unwrap();

    let mut edited = original.clone();
    edited[2] = edited[2].replace("\"secret-2\"", "\"secret-9\"");
    rewrite(&path, &edited);
    let found = located(&paths);
    assert!(found
        .to_string()
        .contains("audit.log:3: record 3 was altered"));
    assert_eq!(
        (found.line, found.kind),
        (3, ProblemKind::Altered { sequence: 3 })
    );

    let mut deleted = original.clone();
    deleted.remove(3);
    rewrite(&path, &deleted);
    assert_eq!(
        located(&paths).kind,
        ProblemKind::Missing {
            sequence: 5,
            from: 4,
            to: 4
        }
    );

    let mut reordered = original.clone();
    reordered.swap(1, 2);
    rewrite(&path, &reordered);
    let found = located(&paths);
    assert_eq!(
        (found.line, found.kind),
        (
            2,
            ProblemKind::OutOfOrder {
                sequence: 3,
                after: 1
            }
        )
    );

    let mut moved_back = original.clone();
    let first = moved_back.remove(0);
    moved_back.push(first);
    rewrite(&path, &moved_back);
    assert!(matches!(
        located(&paths).kind,
        ProblemKind::OutOfOrder { sequence: 1, .. }
    ));

    let mut copied = original.clone();
    copied.push(original[4].clone());
    rewrite(&path, &copied);
    assert_eq!(located(&paths).kind, ProblemKind::Duplicate { sequence: 5 });

    let mut foreign = original.clone();
    foreign.insert(2, r#"{"eventName":"Forged"}"#.to_string());
    rewrite(&path, &foreign);
    let found = located(&paths);
    assert_eq!(found.line, 3);
    assert!(matches!(found.kind, ProblemKind::NotARecord { .. }));

    // Re-signing an edited record needs the key: another key's signature is unknown.
    rewrite(&path, &original);
    assert!(matches!(
        verify(&paths, &[key(9)]).unwrap().problem.unwrap().kind,
        ProblemKind::UnknownKey { sequence: 1, .. }
    ));
    assert_eq!(verified(&paths).records, 6);
}

#[tokio::test]
async fn lookup_selects_by_principal_event_secret_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    trail
        .append(&event(1, "CreateSecret", "arn:aws:iam::1:user/alice"))
        .await
        .unwrap();
    trail
        .append(&event(2, "GetSecretValue", "arn:aws:iam::1:user/bob"))
        .await
        .unwrap();
    let mut by_arn = event(3, "GetSecretValue", "arn:aws:iam::1:user/alice");
    by_arn.request_parameters = Some(serde_json::json!({
        "secretId": "arn:aws:secretsmanager:us-east-1:1:secret:secret-1-AbCdEf"
    }));
    trail.append(&by_arn).await.unwrap();
    drop(trail);

    let run = |filter: Filter| {
        let mut out = Vec::new();
        let summary = lookup(std::slice::from_ref(&path), &filter, &mut out).unwrap();
        let ids: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["requestID"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(summary.matched as usize, ids.len());
        ids
    };
    assert_eq!(run(Filter::default()).len(), 3);
    assert_eq!(
        run(Filter {
            principal: Some("arn:aws:iam::1:user/alice".into()),
            ..Filter::default()
        }),
        ["request-1", "request-3"]
    );
    assert_eq!(
        run(Filter {
            principal: Some("bob".into()),
            ..Filter::default()
        }),
        ["request-2"]
    );
    assert_eq!(
        run(Filter {
            event_name: Some("GetSecretValue".into()),
            secret: Some("secret-1".into()),
            ..Filter::default()
        }),
        ["request-3"]
    );
    assert_eq!(
        run(Filter {
            secret: Some("arn:aws:secretsmanager:us-east-1:1:secret:secret-1-AbCdEf".into()),
            ..Filter::default()
        }),
        ["request-1", "request-3"]
    );
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    assert_eq!(
        run(Filter {
            start_time: Some(at("2026-06-14T12:02:00Z")),
            end_time: Some(at("2026-06-14T12:02:59Z")),
            ..Filter::default()
        }),
        ["request-2"]
    );
}

#[tokio::test]
async fn a_new_trail_may_begin_a_file_but_not_the_middle_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.log");
    let second = dir.path().join("second.log");
    for (path, range) in [(&first, 0..3), (&second, 10..13)] {
        let trail = Trail::open(config(path, 1 << 30, 10)).unwrap();
        write(&trail, range).await;
    }
    // Both start at sequence 1: the second file is taken as a trail started afresh.
    let report = verify(&[first.clone(), second.clone()], &[key(1)]).unwrap();
    assert_eq!((report.problem, report.records), (None, 6));
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains("a new trail starts")));

    // The same records run together in one file: the second trail's first record is out of order.
    let mut joined = lines(&first);
    joined.extend(lines(&second));
    let together = dir.path().join("together.log");
    rewrite(&together, &joined);
    assert!(matches!(
        problem(&[together]),
        ProblemKind::OutOfOrder {
            sequence: 1,
            after: 3
        }
    ));

    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let report = verify(&[empty], &[key(1)]).unwrap();
    assert_eq!(
        (report.problem, report.records, report.head),
        (None, 0, None)
    );
}

#[tokio::test]
async fn a_trail_moved_or_deleted_while_open_gets_the_next_records_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    write(&trail, 0..2).await;
    // The writer keeps the file open between rounds: a move must not leave it writing to the
    // moved file.
    let moved = dir.path().join("moved.log");
    std::fs::rename(&path, &moved).unwrap();
    write(&trail, 2..3).await;
    assert_eq!(lines(&moved).len(), 2);
    assert_eq!(lines(&path).len(), 1);
    // Nor to a deleted one.
    std::fs::remove_file(&path).unwrap();
    write(&trail, 3..5).await;
    assert_eq!(lines(&path).len(), 2);
    drop(trail);
    // The chain runs on across the files, and the deleted file's record shows as missing.
    assert_eq!(verified(std::slice::from_ref(&moved)).records, 2);
    let gap = problem(&[moved, path]);
    assert!(matches!(gap, ProblemKind::Missing { .. }), "{gap:?}");
}

/// `--audit-flush write`: `config` with the records written before the answer and synced behind,
/// at most `sync_interval` later.
fn written_config(path: &Path, max_file_bytes: u64, sync_interval: Duration) -> TrailConfig {
    TrailConfig {
        flush: Flush::Write,
        sync_interval,
        ..config(path, max_file_bytes, 10)
    }
}

const NEVER: Duration = Duration::from_secs(3600);

fn syncs(trail: &Trail) -> u64 {
    trail
        .sync_counter()
        .load(std::sync::atomic::Ordering::Relaxed)
}

#[tokio::test]
async fn by_default_every_round_is_synced_before_its_requests_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(config(&path, 1 << 30, 10)).unwrap();
    // One request at a time: one round, so one fdatasync, each.
    write(&trail, 0..5).await;
    assert_eq!(syncs(&trail), 5);
}

#[tokio::test]
async fn written_records_are_in_the_file_when_answered_and_synced_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(written_config(&path, 1 << 30, NEVER)).unwrap();
    write(&trail, 0..20).await;
    // In the file (the operating system's cache outlives the process) before each answer, and
    // not one fdatasync on the answers' path.
    assert_eq!(lines(&path).len(), 20);
    assert_eq!(syncs(&trail), 0);
    drop(trail);
    verified(std::slice::from_ref(&path));

    // Within the interval, with no request to wake the writer.
    let trail = Trail::open(written_config(&path, 1 << 30, Duration::from_millis(20))).unwrap();
    write(&trail, 20..23).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while syncs(&trail) == 0 {
        assert!(std::time::Instant::now() < deadline, "never synced");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(trail);
    assert_eq!(verified(std::slice::from_ref(&path)).records, 23);
}

#[tokio::test]
async fn written_records_are_synced_before_their_file_is_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(written_config(&path, 1 << 30, NEVER)).unwrap();
    write(&trail, 0..2).await;
    assert_eq!(syncs(&trail), 0);
    // Moved away: the next round syncs the old file, then starts a new one at the path.
    let aside = dir.path().join("aside.log");
    std::fs::rename(&path, &aside).unwrap();
    write(&trail, 2..3).await;
    assert_eq!(syncs(&trail), 1);
    assert_eq!((lines(&aside).len(), lines(&path).len()), (2, 1));
    drop(trail);

    // Rotated: synced before the full file is moved aside.
    let rotating = dir.path().join("rotating.log");
    let record_size = std::fs::metadata(&aside).unwrap().len() / 2;
    let trail = Trail::open(written_config(&rotating, record_size * 3, NEVER)).unwrap();
    write(&trail, 0..2).await;
    assert_eq!(syncs(&trail), 0);
    write(&trail, 2..4).await;
    assert_eq!(syncs(&trail), 1);
    drop(trail);
    let files = trail_files(&rotating).unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(verified(&files).records, 4);
}

#[tokio::test]
async fn a_failed_written_round_fails_its_requests_and_leaves_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let syncs_at_failure =
        failed_round_in_the_middle(written_config(&path, 1 << 30, NEVER), &dir).await;
    // The records acknowledged before were synced when their file was let go.
    assert_eq!(syncs_at_failure, 1);
}

#[tokio::test]
async fn a_dropped_written_trail_syncs_and_writes_the_records_still_queued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let trail = Trail::open(written_config(&path, 1 << 30, NEVER)).unwrap();
    write(&trail, 0..3).await;
    // A request whose future is dropped once its record is queued (its client went away): the
    // record is written all the same, as the thread of `Flush::Fsync` writes it.
    let record = event(3, "PutSecretValue", "arn:aws:iam::1:user/u");
    let mut gone = Box::pin(trail.append(&record));
    let polled = gone
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    assert!(polled.is_pending(), "answered before the writer ran");
    drop(gone);
    let counter = trail.sync_counter();
    assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), 0);
    drop(trail);
    assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(verified(std::slice::from_ref(&path)).records, 4);
    // And the lock is free at once.
    drop(Trail::open(written_config(&path, 1 << 30, NEVER)).unwrap());
}

#[test]
fn a_written_trail_whose_runtime_is_gone_refuses_records_instead_of_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    let trail = first
        .block_on(async { Trail::open(written_config(&path, 1 << 30, NEVER)) })
        .unwrap();
    first.block_on(write(&trail, 0..2));
    // The writer task goes with its runtime.
    drop(first);
    let refused = runtime().block_on(async {
        tokio::time::timeout(
            Duration::from_secs(30),
            trail.append(&event(2, "GetSecretValue", "arn:aws:iam::1:user/u")),
        )
        .await
    });
    assert!(
        matches!(refused, Ok(Err(AuditError::Stopped))),
        "{refused:?}"
    );
    drop(trail);
    assert_eq!(verified(std::slice::from_ref(&path)).records, 2);
}
