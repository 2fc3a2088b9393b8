//! A server-wide budget of request-body bytes held in memory. Every piece of memory a request body
//! is read into is reserved from it first, and given back when the request is answered or
//! abandoned; a request that cannot get its bytes within the wait is answered with a throttling
//! error instead of growing the process.
//!
//! Requests that do not present a known access key before their body is read (unsigned, SigV2 in
//! the body, unknown keys) share only a quarter of the budget, so that nobody without credentials
//! can hold all of it and starve the callers who have them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub(crate) struct BodyBudget {
    /// Every request's bytes.
    all: Arc<Semaphore>,
    /// Also taken, first, by requests without a known key.
    unverified: Arc<Semaphore>,
    wait: Duration,
}

/// The budget is spent: the request waited `wait` for bytes other requests hold.
#[derive(Debug)]
pub(crate) struct Exhausted;

/// The share of the budget callers without a known key can hold together.
const UNVERIFIED_SHARE: usize = 4;

impl BodyBudget {
    pub(crate) fn new(bytes: usize, wait: Duration) -> BodyBudget {
        let bytes = bytes.min(Semaphore::MAX_PERMITS);
        BodyBudget {
            all: Arc::new(Semaphore::new(bytes)),
            unverified: Arc::new(Semaphore::new(bytes / UNVERIFIED_SHARE)),
            wait,
        }
    }

    /// An empty reservation for one request; `verified` when it presented a known access key.
    pub(crate) fn reservation(&self, verified: bool) -> Reservation {
        Reservation {
            all: Pool::new(&self.all),
            unverified: (!verified).then(|| Pool::new(&self.unverified)),
            wait: self.wait,
            deadline: None,
        }
    }

    #[cfg(test)]
    fn available(&self) -> (usize, usize) {
        (
            self.all.available_permits(),
            self.unverified.available_permits(),
        )
    }
}

/// What a reservation holds of one semaphore.
struct Pool {
    semaphore: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
}

impl Pool {
    fn new(semaphore: &Arc<Semaphore>) -> Pool {
        Pool {
            semaphore: semaphore.clone(),
            held: None,
        }
    }

    async fn take(&mut self, count: u32, wait: Duration, deadline: &mut Option<Instant>) -> bool {
        let permit = match self.semaphore.clone().try_acquire_many_owned(count) {
            Ok(permit) => permit,
            Err(_) => {
                let until = *deadline.get_or_insert_with(|| Instant::now() + wait);
                match tokio::time::timeout_at(
                    until,
                    self.semaphore.clone().acquire_many_owned(count),
                )
                .await
                {
                    Ok(Ok(permit)) => permit,
                    _ => return false,
                }
            }
        };
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        true
    }

    fn give_back(&mut self, bytes: usize) {
        if let Some(held) = &mut self.held {
            // Dropping the split-off part returns it to the semaphore.
            drop(held.split(bytes.min(held.num_permits())));
        }
    }
}

/// The bytes one request holds; released when dropped.
pub(crate) struct Reservation {
    all: Pool,
    unverified: Option<Pool>,
    wait: Duration,
    /// Set at the first wait: the whole request may wait `wait` in total, not per piece.
    deadline: Option<Instant>,
}

impl Reservation {
    /// Reserves `more` bytes, waiting for other requests to give theirs back until the request's
    /// deadline.
    pub(crate) async fn grow(&mut self, more: usize) -> Result<(), Exhausted> {
        if more == 0 {
            return Ok(());
        }
        let count = u32::try_from(more).map_err(|_| Exhausted)?;
        if let Some(share) = &mut self.unverified {
            if !share.take(count, self.wait, &mut self.deadline).await {
                return Err(Exhausted);
            }
        }
        if !self.all.take(count, self.wait, &mut self.deadline).await {
            // Whatever the share gave for this piece goes back with it.
            if let Some(share) = &mut self.unverified {
                share.give_back(more);
            }
            return Err(Exhausted);
        }
        Ok(())
    }

    /// Gives `bytes` back before the request ends (memory already freed).
    pub(crate) fn release(&mut self, bytes: usize) {
        self.all.give_back(bytes);
        if let Some(share) = &mut self.unverified {
            share.give_back(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_come_back_when_released_or_dropped() {
        let budget = BodyBudget::new(1000, Duration::from_secs(5));
        let mut a = budget.reservation(true);
        a.grow(600).await.unwrap();
        a.grow(300).await.unwrap();
        assert_eq!(budget.available(), (100, 250));
        a.release(200);
        assert_eq!(budget.available(), (300, 250));
        a.release(5000);
        assert_eq!(budget.available(), (1000, 250));
        a.grow(10).await.unwrap();
        drop(a);
        assert_eq!(budget.available(), (1000, 250));
    }

    #[tokio::test]
    async fn callers_without_a_known_key_share_a_quarter() {
        let budget = BodyBudget::new(1000, Duration::ZERO);
        let mut anonymous = budget.reservation(false);
        anonymous.grow(200).await.unwrap();
        assert_eq!(budget.available(), (800, 50));
        let mut other = budget.reservation(false);
        assert!(other.grow(100).await.is_err());
        // The failed attempt took nothing from either pool.
        assert_eq!(budget.available(), (800, 50));
        // Verified callers still have the rest.
        let mut verified = budget.reservation(true);
        verified.grow(800).await.unwrap();
        assert_eq!(budget.available(), (0, 50));
        // And when they hold it all, the share alone is not enough.
        assert!(other.grow(10).await.is_err());
        assert_eq!(budget.available(), (0, 50));
        anonymous.release(150);
        drop(verified);
        assert_eq!(budget.available(), (950, 200));
        drop((anonymous, other));
        assert_eq!(budget.available(), (1000, 250));
    }

    #[tokio::test]
    async fn a_request_that_cannot_wait_gives_up() {
        let budget = BodyBudget::new(1000, Duration::ZERO);
        let mut holder = budget.reservation(true);
        holder.grow(900).await.unwrap();
        let mut waiter = budget.reservation(true);
        assert!(waiter.grow(200).await.is_err());
        assert_eq!(budget.available().0, 100);
    }

    #[tokio::test]
    async fn a_waiting_request_proceeds_when_bytes_are_released() {
        let budget = Arc::new(BodyBudget::new(1000, Duration::from_secs(600)));
        let mut holder = budget.reservation(true);
        holder.grow(900).await.unwrap();
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move {
                let mut r = budget.reservation(true);
                r.grow(500).await.map(|_| r)
            })
        };
        tokio::task::yield_now().await;
        drop(holder);
        let r = waiting.await.unwrap().expect("got the bytes once released");
        assert_eq!(budget.available().0, 500);
        drop(r);
    }

    #[tokio::test]
    async fn more_than_the_whole_budget_is_refused() {
        let budget = BodyBudget::new(10, Duration::ZERO);
        assert!(budget.reservation(true).grow(11).await.is_err());
    }
}
