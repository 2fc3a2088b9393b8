//! The writer: one thread appends records with group commit, like the store's SQLite writer (with
//! [`Flush::Write`], one task on the async runtime: see the end).
//!
//! A request hands its serialized event to the thread and waits. Each round takes every record
//! queued, seals them into the chain, appends them with one `write` and makes them durable with
//! one `fdatasync`, and only then answers every request of the round; records arriving meanwhile
//! form the next round, so a round grows with the load and one fsync covers many requests.
//!
//! The file stays open between rounds, but each round first looks at the path (`stat`): when the
//! file there is another one, is gone, or changed owner or mode, the trail is opened again by its
//! path, so a trail that was moved, deleted, or made read-only is noticed at once (the round fails
//! or starts a new file) instead of records going to an unlinked or read-only file. One `stat`
//! per round costs less than opening and closing the file (bench/NOTES.md, "audit trail").
//! A failed round takes back any bytes it wrote, so the file always ends with a whole record, and
//! the chain does not advance: the requests of that round are answered with an error and their
//! records never existed. After a round's commit the file is rotated once it reaches its size
//! limit, and the oldest rotated files beyond the count to keep are deleted.
//!
//! With [`Flush::Write`] a round ends at its `write`: the records are in the operating system's
//! cache, which outlives Coffer (`kill -9`), and their `fdatasync` runs behind the answers, on a
//! blocking thread, at most [`TrailConfig::sync_interval`] later (and before the writer rotates,
//! reopens or stops). Without a flush to wait for, the writer is a task: the requests and the
//! writer then hand records and answers to each other within the runtime, where the thread's
//! hand-offs cost a switch between threads each (1.6 per request on a busy server) — more than
//! the trail's own work (bench/NOTES.md, "Audit trail and request log"). One `fdatasync` behind
//! runs at a time (going on while rounds written during it wait for one), and a record counts as
//! synced only once its sync returned. A failed sync fails the trail until one succeeds: meanwhile
//! rounds are written and synced before their answers, off the workers, and taken back and
//! refused when that sync fails, as with [`Flush::Fsync`]. Rotating, opening
//! the path again and stopping sync the file they let go of on the thread that does them (a
//! runtime worker, once per rotated file).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::AuditError;
use crate::event::Event;
use crate::files::{self, last_line, parent_dir, rotated_path};
use crate::integrity::{append_record, ChainHead, SealedRecord, SigningKey};

/// Records per round at most, so one round's latency stays bounded under a flood.
const MAX_BATCH: usize = 1024;
/// Bytes per round at most.
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An append-only file, rotated by size; durable as [`Flush`] says before a request is
    /// answered.
    File(PathBuf),
    /// Standard output (`--audit-log -`), e.g. for journald or a container's log collector:
    /// written and flushed before a request is answered, kept by whoever reads it. No rotation,
    /// and the chain starts again at each start of the server.
    Stdout,
}

/// How far a record is flushed before its request is answered (`--audit-flush`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flush {
    /// `fdatasync`ed (group-committed): the record survives a power loss or a kernel crash.
    #[default]
    Fsync,
    /// Written to the file (the operating system's cache): the record survives Coffer being killed
    /// (`kill -9`, a crash); it is `fdatasync`ed at most `sync_interval` later, so a power loss or
    /// a kernel crash in that window can lose it.
    Write,
}

/// `--audit-flush write`'s default delay before acknowledged records are `fdatasync`ed.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct TrailConfig {
    pub destination: Destination,
    /// The active file is rotated once it holds this many bytes.
    pub max_file_bytes: u64,
    /// Rotated files kept; older ones are deleted.
    pub keep_rotated: usize,
    pub key: SigningKey,
    pub flush: Flush,
    /// With [`Flush::Write`]: how long written records may wait for their `fdatasync`.
    pub sync_interval: Duration,
}

struct Job {
    event: Vec<u8>,
    reply: oneshot::Sender<Result<(), AuditError>>,
}

/// The writer, and how records reach it.
enum Writing {
    /// [`Flush::Fsync`]: a thread of its own, as each round blocks on an `fdatasync`.
    Thread {
        jobs: mpsc::Sender<Job>,
        thread: std::thread::JoinHandle<()>,
    },
    /// [`Flush::Write`]: a task on the server's runtime. Records and answers pass between tasks,
    /// with no switch between threads: the thread's hand-offs cost 1.6 switches a request on a
    /// busy server, more than the trail's own work (bench/NOTES.md, "audit trail").
    Task(Arc<Written>),
}

/// The audit trail of a running server. Dropping it writes the records still queued (those of
/// requests that are gone), makes what was written durable, and stops the writer.
pub struct Trail {
    writing: Option<Writing>,
    failing: Arc<AtomicBool>,
    syncs: Arc<AtomicU64>,
}

impl Trail {
    /// Opens the trail: takes its lock, continues the chain from the last record on disk (the
    /// active file's, else the newest rotated file's), and starts the writer. A record that cannot
    /// be read, or that the configured key says was altered, stops the start: the trail needs
    /// a person to look at it (`coffer admin verify-audit`). With [`Flush::Write`] the writer is
    /// a task: the trail must be opened within a Tokio runtime with its time driver enabled.
    pub fn open(config: TrailConfig) -> Result<Trail, AuditError> {
        let (head, file) = match &config.destination {
            Destination::Stdout => (ChainHead::START, None),
            Destination::File(path) => {
                let lock = lock(path)?;
                let head = recover(path, &config.key)?;
                (
                    head,
                    Some(ActiveFile {
                        path: path.clone(),
                        _lock: lock,
                        open: None,
                        let_go_sync_error: None,
                    }),
                )
            }
        };
        let failing = Arc::new(AtomicBool::new(false));
        let syncs = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            file,
            head,
            key: config.key,
            max_file_bytes: config.max_file_bytes.max(1),
            keep_rotated: config.keep_rotated,
            flush: config.flush,
            failing: failing.clone(),
            syncs: syncs.clone(),
            sync_failed: false,
            sync_running: false,
            stopped: false,
        };
        let writing = match config.flush {
            Flush::Fsync => {
                let (jobs, queue) = mpsc::channel();
                let thread = std::thread::Builder::new()
                    .name("coffer-audit".into())
                    .spawn(move || writer.run(queue))
                    .map_err(|e| AuditError::Internal(format!("starting the audit writer: {e}")))?;
                Writing::Thread { jobs, thread }
            }
            Flush::Write => {
                let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
                    AuditError::Internal(
                        "the audit writer of --audit-flush write runs on the async runtime: open the trail within it"
                            .into(),
                    )
                })?;
                let written = Arc::new(Written {
                    queue: Mutex::new(Vec::new()),
                    ready: tokio::sync::Notify::new(),
                    closed: AtomicBool::new(false),
                    writer: Mutex::new(writer),
                    interval: config.sync_interval,
                });
                runtime.spawn(written.clone().run());
                Writing::Task(written)
            }
        };
        Ok(Trail {
            writing: Some(writing),
            failing,
            syncs,
        })
    }

    /// Appends `event` and returns once it is durable as [`Flush`] says (flushed, for standard
    /// output).
    pub async fn append(&self, event: &Event) -> Result<(), AuditError> {
        let bytes = serde_json::to_vec(event)
            .map_err(|e| AuditError::Internal(format!("encoding an audit record: {e}")))?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            event: bytes,
            reply,
        };
        match self.writing.as_ref().ok_or(AuditError::Stopped)? {
            Writing::Thread { jobs, .. } => jobs.send(job).map_err(|_| AuditError::Stopped)?,
            Writing::Task(written) => {
                let mut queue = locked(&written.queue);
                // Set under this lock: no record is queued once nothing will write it.
                if written.closed.load(Ordering::Acquire) {
                    return Err(AuditError::Stopped);
                }
                queue.push(job);
                drop(queue);
                written.ready.notify_one();
            }
        }
        answer.await.map_err(|_| AuditError::Stopped)?
    }

    /// Whether the last round failed, or (with [`Flush::Write`]) the last `fdatasync`: cleared by
    /// the next round that succeeds, and with [`Flush::Write`] only once a sync succeeded again.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// `fdatasync`s of trail files attempted so far, shared: it outlives the trail.
    pub fn sync_counter(&self) -> Arc<AtomicU64> {
        self.syncs.clone()
    }
}

impl Drop for Trail {
    fn drop(&mut self) {
        match self.writing.take() {
            // Closing the queue ends the writer once it has written what is queued.
            Some(Writing::Thread { jobs, thread }) => {
                drop(jobs);
                let _ = thread.join();
            }
            Some(Writing::Task(written)) => written.close(),
            None => {}
        }
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A round that panicked left the writer as consistent as a failed round does.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The records of one round of the thread.
struct Batch {
    jobs: Vec<Job>,
    bytes: usize,
}

impl Batch {
    fn new(first: Job) -> Batch {
        Batch {
            bytes: first.event.len(),
            jobs: vec![first],
        }
    }

    fn is_full(&self) -> bool {
        self.jobs.len() >= MAX_BATCH || self.bytes >= MAX_BATCH_BYTES
    }

    /// Takes queued jobs while there is room; answers whether it took any.
    fn take(&mut self, mut next: impl FnMut() -> Option<Job>) -> bool {
        let before = self.jobs.len();
        while !self.is_full() {
            let Some(job) = next() else { break };
            self.bytes += job.event.len();
            self.jobs.push(job);
        }
        self.jobs.len() > before
    }
}

/// What the requests and the writer task of [`Flush::Write`] share. Locks are taken writer first,
/// then queue.
struct Written {
    /// Records waiting for the next round.
    queue: Mutex<Vec<Job>>,
    /// Wakes the task: a record was queued, or the trail is closing.
    ready: tokio::sync::Notify,
    closed: AtomicBool,
    writer: Mutex<Writer>,
    /// How long written records may wait for their `fdatasync`.
    interval: Duration,
}

impl Written {
    /// The writer task: rounds as the thread's, each answered once written, and an `fdatasync`
    /// behind them at most `interval` after the first record it covers.
    async fn run(self: Arc<Self>) {
        // However the task ends (the trail closed, the runtime shut down, a round panicked), what
        // is queued is written and no request waits for a writer that is gone.
        let _closing = CloseOnDrop(self.clone());
        // Since when written records wait for their fdatasync.
        let mut unsynced_since: Option<tokio::time::Instant> = None;
        loop {
            if self.closed.load(Ordering::Acquire) {
                break;
            }
            if locked(&self.queue).is_empty() {
                // A record queued after the check leaves a permit: the wait ends at once.
                let queued = self.ready.notified();
                match unsynced_since {
                    None => queued.await,
                    Some(since) => {
                        if tokio::time::timeout_at(since + self.interval, queued)
                            .await
                            .is_err()
                        {
                            self.sync_behind();
                            unsynced_since = None;
                        }
                    }
                }
                continue;
            }
            // Requests ready to run on this worker queue their records once it yields: one write
            // covers them all. On an idle server the round starts after one yield.
            let mut queued = locked(&self.queue).len();
            loop {
                tokio::task::yield_now().await;
                let now = locked(&self.queue).len();
                if now == queued || now >= MAX_BATCH {
                    break;
                }
                queued = now;
            }
            if locked(&self.writer).sync_failed {
                // After a failed sync, rounds are answered as with `Flush::Fsync` (written and
                // synced, or taken back and refused) until one sync succeeds: a disk that cannot
                // sync fails requests, not just a log line. Off the workers, as it waits on the disk.
                let written = self.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    let mut writer = locked(&written.writer);
                    let batch = written.take_batch();
                    if !batch.is_empty() {
                        writer.round_synced(batch);
                    }
                })
                .await;
                continue;
            }
            let succeeded = {
                let mut writer = locked(&self.writer);
                let batch = self.take_batch();
                // Empty when `close` wrote it meanwhile.
                !batch.is_empty() && writer.round(batch)
            };
            if succeeded {
                let since = *unsynced_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= self.interval {
                    self.sync_behind();
                    unsynced_since = None;
                }
            }
        }
    }

    /// The next round's records, oldest first (taken under the writer's lock).
    fn take_batch(&self) -> Vec<Job> {
        let mut queue = locked(&self.queue);
        let (mut count, mut bytes) = (0, 0);
        while count < queue.len() && count < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            bytes += queue[count].event.len();
            count += 1;
        }
        queue.drain(..count).collect()
    }

    /// Hands the written records' `fdatasync` to a blocking thread, off the runtime's workers;
    /// one at a time, and that one goes on while rounds written during its sync wait for one (a
    /// slow disk does not leave them unsynced until the next request). Their requests are
    /// answered already, so a failure is logged and fails the trail until a sync succeeds again.
    fn sync_behind(self: &Arc<Self>) {
        let target = {
            let mut writer = locked(&self.writer);
            if writer.sync_running {
                return;
            }
            let target = writer.unsynced_file();
            writer.sync_running = target.is_some();
            target
        };
        let Some((mut file, mut writes)) = target else {
            return;
        };
        let written = self.clone();
        tokio::task::spawn_blocking(move || loop {
            let synced = file.sync_data();
            let failed = synced.is_err();
            let mut writer = locked(&written.writer);
            writer.synced(&file, writes, synced);
            match writer.unsynced_file() {
                Some(next) if !failed && !writer.stopped => (file, writes) = next,
                _ => {
                    writer.sync_running = false;
                    return;
                }
            }
        });
    }

    /// The trail is dropped: writes the records of requests that are gone (their futures
    /// dropped, as the thread would), makes every written record durable, and lets go of the
    /// file and its lock now, not whenever the task runs next.
    fn close(&self) {
        let mut writer = self.write_queued();
        writer.sync_written();
        writer.stopped = true;
        writer.file = None;
    }

    /// Refuses further records, wakes the task to end, and writes what is queued.
    fn write_queued(&self) -> std::sync::MutexGuard<'_, Writer> {
        {
            let _queue = locked(&self.queue);
            self.closed.store(true, Ordering::Release);
        }
        self.ready.notify_one();
        let mut writer = locked(&self.writer);
        loop {
            let batch = self.take_batch();
            if batch.is_empty() {
                break writer;
            }
            writer.round(batch);
        }
    }
}

/// Ends the writer task's trail however the task ends: see [`Written::run`].
struct CloseOnDrop(Arc<Written>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        drop(self.0.write_queued());
    }
}

struct ActiveFile {
    path: PathBuf,
    /// Held for the life of the writer: one process appends to a trail.
    _lock: File,
    /// The file as opened last, kept between rounds while the path still names it unchanged.
    open: Option<OpenTrail>,
    /// Why the sync of a file let go of (moved, re-permissioned) failed, for the writer to note.
    let_go_sync_error: Option<AuditError>,
}

/// An open trail file and what identified it when it was opened.
struct OpenTrail {
    /// Shared with the `fdatasync` behind the answers ([`Flush::Write`]).
    file: Arc<File>,
    identity: FileIdentity,
    /// Rounds written to it, and how many of them an `fdatasync` covers.
    writes: u64,
    synced: u64,
}

/// What must not change under an open trail: which file the path names, and who may write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

impl FileIdentity {
    fn of(meta: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }
}

struct Writer {
    file: Option<ActiveFile>,
    head: ChainHead,
    key: SigningKey,
    max_file_bytes: u64,
    keep_rotated: usize,
    flush: Flush,
    failing: Arc<AtomicBool>,
    syncs: Arc<AtomicU64>,
    /// [`Flush::Write`]: the last `fdatasync` failed; rounds wait for one to succeed.
    sync_failed: bool,
    /// [`Flush::Write`]: an `fdatasync` behind the answers is running.
    sync_running: bool,
    /// The trail was dropped while its task still ran ([`Flush::Write`]).
    stopped: bool,
}

impl Writer {
    /// The writer thread of [`Flush::Fsync`].
    fn run(mut self, queue: Receiver<Job>) {
        while let Ok(first) = queue.recv() {
            let mut batch = Batch::new(first);
            // Requests being answered right now on other threads (or on this core, when the
            // server is pinned to one) would otherwise wait for the next round and its fsync:
            // give up the CPU, take what they queued, and go on while that brings more. No
            // timer: on an idle server the round starts at once.
            batch.take(|| queue.try_recv().ok());
            while !batch.is_full() {
                std::thread::yield_now();
                if !batch.take(|| queue.try_recv().ok()) {
                    break;
                }
            }
            self.round(batch.jobs);
        }
    }

    /// Commits a round and answers its requests; answers whether it succeeded.
    fn round(&mut self, batch: Vec<Job>) -> bool {
        let outcome = self.commit(&batch, self.flush == Flush::Fsync);
        self.answer(batch, outcome)
    }

    /// A round of [`Flush::Write`] after a failed sync: synced before it is answered, and
    /// taken back and refused when that sync fails. Its success ends the failure.
    fn round_synced(&mut self, batch: Vec<Job>) -> bool {
        let outcome = self.commit(&batch, true);
        if outcome.is_ok() {
            self.sync_failed = false;
        }
        self.answer(batch, outcome)
    }

    /// Answers a round's requests with its outcome; answers whether it succeeded.
    fn answer(&mut self, batch: Vec<Job>, outcome: Result<(), AuditError>) -> bool {
        if let Err(e) = &outcome {
            tracing::error!(error = %e, records = batch.len(), "audit trail write failed");
        }
        self.failing
            .store(outcome.is_err() || self.sync_failed, Ordering::Relaxed);
        let succeeded = outcome.is_ok();
        for job in batch {
            let _ = job.reply.send(outcome.clone());
        }
        succeeded
    }

    /// `fdatasync`s what [`Flush::Write`] rounds wrote, here and now (on the calling thread).
    fn sync_written(&mut self) {
        let Some(file) = &mut self.file else {
            return;
        };
        let synced = file.sync_written(&self.syncs);
        self.note_sync(synced.err());
    }

    /// The open file and its round count when rounds were written since its last sync.
    fn unsynced_file(&self) -> Option<(Arc<File>, u64)> {
        let open = self.file.as_ref()?.open.as_ref()?;
        (open.synced < open.writes).then(|| (open.file.clone(), open.writes))
    }

    /// Notes an `fdatasync` of `file` run elsewhere, covering its first `writes` rounds.
    fn synced(&mut self, file: &Arc<File>, writes: u64, synced: std::io::Result<()>) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        let Some(active) = &mut self.file else {
            return;
        };
        let current = active
            .open
            .as_mut()
            .filter(|open| Arc::ptr_eq(&open.file, file));
        match (synced, current) {
            (Ok(()), Some(open)) => {
                open.synced = open.synced.max(writes);
                // Only a sync of the file being written ends a failure (not of one let go of).
                self.note_sync(None);
            }
            (Ok(()), None) => {}
            (Err(e), current) => {
                if current.is_some() {
                    // Opened again by the next round: a failed fsync is not retried on the same
                    // file, whose pages the kernel may have dropped.
                    active.open = None;
                }
                let error = AuditError::io("syncing", &active.path, e);
                self.note_sync(Some(error));
            }
        }
    }

    /// Keeps the trail failing from a failed `fdatasync` until one succeeds.
    fn note_sync(&mut self, error: Option<AuditError>) {
        match error {
            None => self.sync_failed = false,
            Some(e) => {
                tracing::error!(error = %e, "syncing the audit trail failed: records written since the last sync may not survive a power loss");
                self.sync_failed = self.flush == Flush::Write;
                self.failing.store(true, Ordering::Relaxed);
            }
        }
    }

    fn commit(&mut self, batch: &[Job], sync: bool) -> Result<(), AuditError> {
        if self.stopped {
            return Err(AuditError::Stopped);
        }
        let mut records = Vec::with_capacity(batch.iter().map(|j| j.event.len() + 200).sum());
        let mut head = self.head;
        for job in batch {
            head = append_record(&mut records, &job.event, &head, &self.key);
        }
        let size = match &mut self.file {
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(&records)
                    .and_then(|()| out.flush())
                    .map_err(|e| AuditError::Stdout(e.to_string()))?;
                None
            }
            Some(file) => {
                let appended = file.append(&records, sync, &self.syncs);
                // The file it let go of (moved or re-permissioned) was synced first.
                if let Some(failed) = file.let_go_sync_error.take() {
                    self.note_sync(Some(failed));
                }
                Some(appended?)
            }
        };
        self.head = head;
        if size.is_some_and(|size| size >= self.max_file_bytes) {
            self.rotate();
        }
        Ok(())
    }

    /// Moves the full active file aside; the next round creates a new one. A failure leaves the
    /// file growing and is tried again after the next round: records are never at risk here.
    fn rotate(&mut self) {
        let Some(file) = &mut self.file else {
            return;
        };
        // The next round creates a new file at the path; what was written to this one is made
        // durable first, while it is still open.
        if let Err(e) = file.sync_written(&self.syncs) {
            self.note_sync(Some(e));
            return;
        }
        file.open = None;
        let target = rotated_path(&file.path, self.head.sequence);
        let moved = std::fs::rename(&file.path, &target).and_then(|()| sync_dir(&file.path));
        if let Err(e) = moved {
            tracing::warn!(error = %e, path = %file.path.display(), "rotating the audit trail failed");
            return;
        }
        let rotated = match files::rotated_files(&file.path) {
            Ok(rotated) => rotated,
            Err(e) => {
                tracing::warn!(error = %e, "listing rotated audit files failed");
                return;
            }
        };
        let excess = rotated.len().saturating_sub(self.keep_rotated);
        for old in &rotated[..excess] {
            if let Err(e) = std::fs::remove_file(old) {
                tracing::warn!(error = %e, path = %old.display(), "deleting an old audit file failed");
            }
        }
    }
}

impl ActiveFile {
    /// Appends `records` to the trail (created 0600 when absent) and, with `sync`, syncs them;
    /// returns the file's new size. On failure, the bytes written are taken back and the file is
    /// closed, so the next round opens it again by its path.
    fn append(&mut self, records: &[u8], sync: bool, syncs: &AtomicU64) -> Result<u64, AuditError> {
        let before = self.current(syncs)?;
        let Some(open) = &mut self.open else {
            return Err(AuditError::Internal("the audit file is not open".into()));
        };
        let written = (&*open.file).write_all(records).and_then(|()| {
            open.writes += 1;
            if sync {
                syncs.fetch_add(1, Ordering::Relaxed);
                open.file.sync_data()?;
                open.synced = open.writes;
            }
            Ok(())
        });
        if let Err(e) = written {
            if let Err(undo) = open
                .file
                .set_len(before)
                .and_then(|()| open.file.sync_data())
            {
                tracing::error!(error = %undo, path = %self.path.display(),
                    "could not take back a failed audit write: the file may end with records of requests that were refused");
            }
            self.open = None;
            return Err(AuditError::io("writing", &self.path, e));
        }
        Ok(before + records.len() as u64)
    }

    /// `fdatasync`s the open file when records were written to it since its last sync.
    fn sync_written(&mut self, syncs: &AtomicU64) -> Result<(), AuditError> {
        let Some(open) = &mut self.open else {
            return Ok(());
        };
        if open.synced == open.writes {
            return Ok(());
        }
        syncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = open.file.sync_data() {
            self.open = None;
            return Err(AuditError::io("syncing", &self.path, e));
        }
        open.synced = open.writes;
        Ok(())
    }

    /// Makes `open` the file the path names now, as it is now, and returns its size: the open
    /// file when the path still names it unchanged, else the path opened again (which applies
    /// its permissions), else a new file when there is none.
    fn current(&mut self, syncs: &AtomicU64) -> Result<u64, AuditError> {
        let meta = std::fs::metadata(&self.path);
        if let Ok(meta) = &meta {
            if self
                .open
                .as_ref()
                .is_some_and(|o| o.identity == FileIdentity::of(meta))
            {
                return Ok(meta.len());
            }
        }
        // Another file is opened below: what was written to this one is made durable first
        // (moved or deleted, it may still be someone's copy).
        if let Err(e) = self.sync_written(syncs) {
            self.let_go_sync_error = Some(e);
        }
        let path = &self.path;
        match meta {
            Ok(_) => {
                self.open = None;
                let file = OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| AuditError::io("opening", path, e))?;
                let meta = file
                    .metadata()
                    .map_err(|e| AuditError::io("reading", path, e))?;
                self.open = Some(OpenTrail {
                    file: Arc::new(file),
                    identity: FileIdentity::of(&meta),
                    writes: 0,
                    synced: 0,
                });
                Ok(meta.len())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.open = None;
                let file = OpenOptions::new()
                    .append(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| AuditError::io("creating", path, e))?;
                // The new name must survive a crash before any record is acknowledged in it.
                sync_dir(path).map_err(|e| AuditError::io("syncing the directory of", path, e))?;
                let meta = file
                    .metadata()
                    .map_err(|e| AuditError::io("reading", path, e))?;
                self.open = Some(OpenTrail {
                    file: Arc::new(file),
                    identity: FileIdentity::of(&meta),
                    writes: 0,
                    synced: 0,
                });
                Ok(meta.len())
            }
            Err(e) => {
                self.open = None;
                Err(AuditError::io("reading", path, e))
            }
        }
    }
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(parent_dir(path))?.sync_all()
}

/// Takes `.<name>.lock` beside the trail, so that two processes never interleave one chain.
fn lock(path: &Path) -> Result<File, AuditError> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(|e| AuditError::io("creating", dir, e))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let lock_path = dir.join(format!(".{name}.lock"));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| AuditError::io("opening", &lock_path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Locked {
            trail: path.to_path_buf(),
            lock: lock_path,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(AuditError::io("locking", &lock_path, e)),
    }
}

/// The chain head on disk: the last record of the active file, else of the newest rotated file,
/// else the start of a new trail. A torn last line (a write cut short by a crash, so never
/// acknowledged) is cut off the active file first.
fn recover(path: &Path, key: &SigningKey) -> Result<ChainHead, AuditError> {
    let mut last = None;
    if path.exists() {
        let (line, torn) = last_line(path).map_err(|e| AuditError::io("reading", path, e))?;
        if torn > 0 {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| AuditError::io("opening", path, e))?;
            let len = file
                .metadata()
                .map_err(|e| AuditError::io("reading", path, e))?
                .len();
            file.set_len(len - torn)
                .and_then(|()| file.sync_data())
                .map_err(|e| AuditError::io("truncating", path, e))?;
            tracing::warn!(path = %path.display(), bytes = torn,
                "removed an incomplete record from the end of the audit trail (a write interrupted by a crash, never acknowledged)");
        }
        last = line.map(|line| (path.to_path_buf(), line));
    }
    if last.is_none() {
        let rotated = files::rotated_files(path)
            .map_err(|e| AuditError::io("listing", parent_dir(path), e))?;
        if let Some(newest) = rotated.last() {
            let (line, _) = last_line(newest).map_err(|e| AuditError::io("reading", newest, e))?;
            last = line.map(|line| (newest.clone(), line));
        }
    }
    let Some((file, line)) = last else {
        return Ok(ChainHead::START);
    };
    let sealed = SealedRecord::parse(&line).map_err(|reason| AuditError::Corrupt {
        path: file.clone(),
        reason: format!("its last line is not an audit record ({reason}); move the file aside to start a new trail"),
    })?;
    if sealed.key_id != key.id_hex() {
        tracing::warn!(path = %file.display(), previous_key = %sealed.key_id, key = %key.id_hex(),
            "the audit trail continues a chain signed with another key (the master key changed): verify-audit needs both keys");
    } else if !key.verifies(&sealed.hash, &sealed.signature) {
        return Err(AuditError::Corrupt {
            path: file,
            reason: "its last record fails its signature check: the trail was altered; run `coffer admin verify-audit`, then move the file aside to start a new trail".into(),
        });
    }
    Ok(ChainHead {
        sequence: sealed.sequence,
        hash: sealed.hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written_writer(path: &Path) -> Writer {
        Writer {
            file: Some(ActiveFile {
                path: path.to_path_buf(),
                _lock: lock(path).unwrap(),
                open: None,
                let_go_sync_error: None,
            }),
            head: ChainHead::START,
            key: SigningKey::from_derived(zeroize::Zeroizing::new([1; 32])),
            max_file_bytes: 1 << 30,
            keep_rotated: 1,
            flush: Flush::Write,
            failing: Arc::default(),
            syncs: Arc::default(),
            sync_failed: false,
            sync_running: false,
            stopped: false,
        }
    }

    fn job() -> Job {
        let (reply, _answer) = oneshot::channel();
        let event = br#"{"eventName":"GetSecretValue"}"#.to_vec();
        Job { event, reply }
    }

    fn round(writer: &mut Writer) -> bool {
        writer.round(vec![job()])
    }

    /// A writer with one round written whose sync behind failed.
    fn failed_sync(path: &Path) -> Writer {
        let mut writer = written_writer(path);
        assert!(round(&mut writer));
        let (file, writes) = writer.unsynced_file().expect("written, not synced");
        writer.synced(&file, writes, Err(std::io::Error::other("EIO")));
        writer
    }

    /// A sync that fails behind the answers cannot fail them, so it fails the trail (operations
    /// that change state are refused, and the writer task syncs before answering) until a sync
    /// succeeds again; a round that merely writes does not clear it.
    #[test]
    fn a_failed_sync_fails_the_trail_until_a_sync_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = failed_sync(&dir.path().join("audit.log"));
        assert!(writer.sync_failed && writer.failing.load(Ordering::Relaxed));
        // Not synced again on the same file: the next round opens the path again.
        assert!(writer.file.as_ref().is_some_and(|f| f.open.is_none()));
        assert!(round(&mut writer));
        assert!(writer.failing.load(Ordering::Relaxed));
        let (file, writes) = writer.unsynced_file().expect("written, not synced");
        writer.synced(&file, writes, Ok(()));
        assert!(!writer.sync_failed);
        assert!(writer.unsynced_file().is_none(), "every round is synced");
        assert!(round(&mut writer));
        assert!(!writer.failing.load(Ordering::Relaxed));
        assert_eq!(writer.syncs.load(Ordering::Relaxed), 2);
    }

    /// After a failed sync a round is synced before it is answered, and its success ends the
    /// failure.
    #[test]
    fn after_a_failed_sync_rounds_are_synced_before_their_answer() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = failed_sync(&dir.path().join("audit.log"));
        assert!(writer.round_synced(vec![job()]));
        assert!(writer.unsynced_file().is_none(), "synced before the answer");
        assert!(!writer.sync_failed && !writer.failing.load(Ordering::Relaxed));
    }

    /// A sync covers the rounds written before it started, not one written while it ran.
    #[test]
    fn a_sync_covers_only_the_rounds_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = written_writer(&dir.path().join("audit.log"));
        assert!(round(&mut writer));
        let (file, writes) = writer.unsynced_file().expect("written, not synced");
        assert!(round(&mut writer));
        writer.synced(&file, writes, Ok(()));
        assert_eq!(writer.unsynced_file().map(|(_, w)| w), Some(2));
    }
}
