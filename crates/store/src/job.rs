//! Type-erased transaction closures, so backends run them on their own threads without generics.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::cache::Cache;
use crate::error::StoreError;
use crate::keyring::KeyManager;
use crate::txn::{RawTxn, SealingTxn};

/// How one run of a closure ended.
pub(crate) enum Attempt {
    /// The closure returned `Ok`: keep its changes.
    Commit,
    /// The closure returned `Err`: discard its changes, report its error.
    Rollback,
    /// The backend failed (or the closure panicked): discard; retry if the error is retryable.
    Abort(StoreError),
}

pub(crate) trait Job: Send {
    /// Runs the closure once against `raw`. May be called again after `Abort`.
    fn run(&mut self, raw: &mut dyn RawTxn) -> Attempt;
    /// (table, key) pairs written by the last run.
    fn touched(&self) -> &[(String, String)];
    /// Reports the outcome; `Ok` means the last run's changes are durable (or were rolled back by
    /// `Rollback`). Invalidates cached copies of touched keys before answering.
    fn finish(self: Box<Self>, outcome: Result<(), StoreError>);
}

pub(crate) struct TypedJob<R, E, F> {
    f: F,
    keys: Arc<KeyManager>,
    cache: Arc<Cache>,
    writable: bool,
    touched: Vec<(String, String)>,
    result: Option<Result<R, E>>,
    reply: oneshot::Sender<Answer<R, E>>,
}

/// A job's result, and the storage's own failure (not an error the closure returned) for the
/// store's observer.
pub(crate) type Answer<R, E> = (Result<R, E>, Option<StoreError>);

impl<R, E, F> TypedJob<R, E, F>
where
    F: FnMut(&mut SealingTxn<'_>) -> Result<R, E> + Send + 'static,
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    pub fn boxed(
        f: F,
        keys: Arc<KeyManager>,
        cache: Arc<Cache>,
        writable: bool,
    ) -> (Box<dyn Job>, oneshot::Receiver<Answer<R, E>>) {
        let (reply, rx) = oneshot::channel();
        let job = TypedJob {
            f,
            keys,
            cache,
            writable,
            touched: Vec::new(),
            result: None,
            reply,
        };
        (Box::new(job), rx)
    }
}

impl<R, E, F> Job for TypedJob<R, E, F>
where
    F: FnMut(&mut SealingTxn<'_>) -> Result<R, E> + Send + 'static,
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run(&mut self, raw: &mut dyn RawTxn) -> Attempt {
        self.touched.clear();
        self.result = None;
        let mut txn = SealingTxn::new(raw, &self.keys, self.writable, &mut self.touched);
        let f = &mut self.f;
        // A panicking closure must not take the shared writer thread (and every queued write) down.
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut txn)));
        let failure = txn.failure.take();
        match (failure, outcome) {
            (_, Err(_)) => Attempt::Abort(StoreError::Panicked),
            (Some(e), _) => Attempt::Abort(e),
            (None, Ok(Ok(v))) => {
                self.result = Some(Ok(v));
                Attempt::Commit
            }
            (None, Ok(Err(e))) => {
                self.result = Some(Err(e));
                Attempt::Rollback
            }
        }
    }

    fn touched(&self) -> &[(String, String)] {
        &self.touched
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        let this = *self;
        if !this.touched.is_empty() {
            this.cache
                .invalidate(this.touched.iter().map(|(t, k)| (t.as_str(), k.as_str())));
        }
        let answer = match outcome {
            Ok(()) => match this.result {
                Some(result) => (result, None),
                None => {
                    let e = StoreError::Backend("transaction produced no result".to_string());
                    (Err(E::from(e.clone())), Some(e))
                }
            },
            Err(e) => (Err(E::from(e.clone())), Some(e)),
        };
        // The caller may have stopped waiting (request cancelled); the outcome stands either way.
        let _ = this.reply.send(answer);
    }
}

/// A job for the store's own bootstrap work, before any key is known: the closure sees the raw
/// backend transaction and its errors are store errors.
pub(crate) struct RawJob<R, F> {
    f: F,
    result: Option<R>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<R, F> RawJob<R, F>
where
    F: FnMut(&mut dyn RawTxn) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    pub fn boxed(f: F) -> (Box<dyn Job>, oneshot::Receiver<Result<R, StoreError>>) {
        let (reply, rx) = oneshot::channel();
        (
            Box::new(RawJob {
                f,
                result: None,
                reply,
            }),
            rx,
        )
    }
}

impl<R, F> Job for RawJob<R, F>
where
    F: FnMut(&mut dyn RawTxn) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    fn run(&mut self, raw: &mut dyn RawTxn) -> Attempt {
        self.result = None;
        match (self.f)(raw) {
            Ok(v) => {
                self.result = Some(v);
                Attempt::Commit
            }
            Err(e) => Attempt::Abort(e),
        }
    }

    fn touched(&self) -> &[(String, String)] {
        &[]
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        let this = *self;
        let answer = outcome.and_then(|()| {
            this.result
                .ok_or_else(|| StoreError::Backend("transaction produced no result".to_string()))
        });
        let _ = this.reply.send(answer);
    }
}
