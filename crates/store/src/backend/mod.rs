use crate::error::StoreError;
use crate::job::Job;
use crate::record::RawRecord;

pub(crate) mod memory;
pub(crate) mod postgres;
pub(crate) mod sqlite;

/// Memory to free off the caller's path.
pub(crate) type Garbage = Box<dyn std::any::Any + Send>;

/// A storage engine: runs transaction jobs on threads it owns and calls `Job::finish` exactly once
/// per job (dropping a job unfinished reports `StoreError::Closed` to its caller).
pub(crate) trait Backend: Send + Sync {
    /// Runs the job in a serializable read-write transaction, retrying retryable aborts.
    fn write(&self, job: Box<dyn Job>);
    /// Runs the job in a read-only snapshot.
    fn read(&self, job: Box<dyn Job>);
    /// Reads one record on the caller's thread when that cannot block (an engine in memory);
    /// `None` sends the read through a job instead.
    fn get_now(&self, _table: &str, _key: &str) -> Option<Result<Option<RawRecord>, StoreError>> {
        None
    }
    /// Deletes every record at once when the engine can do it without a transaction job (an
    /// engine in memory), returning how many there were and what is left to free; `None` sends
    /// it through a write job instead.
    fn clear_records(&self) -> Option<Result<(u64, Garbage), StoreError>> {
        None
    }
    /// Stops taking jobs and returns once the engine released its storage (every connection
    /// closed), so that files can be moved. Blocks: call it off the async runtime.
    fn close(self: Box<Self>) {}
}
