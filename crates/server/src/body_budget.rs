//! A server-wide budget of request-body bytes held in memory. Every buffer a request body is read
//! into is reserved from it first (its capacity, not only its length), and given back when the
//! request is answered or abandoned; a request that cannot get its bytes within the wait is
//! answered with a throttling error instead of growing the process.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub(crate) struct BodyBudget {
    bytes: Arc<Semaphore>,
    wait: Duration,
}

/// The budget is spent: the request waited `wait` for bytes other requests hold.
#[derive(Debug)]
pub(crate) struct Exhausted;

impl BodyBudget {
    pub(crate) fn new(bytes: usize, wait: Duration) -> BodyBudget {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))),
            wait,
        }
    }

    pub(crate) fn reservation(&self) -> Reservation {
        Reservation {
            bytes: self.bytes.clone(),
            wait: self.wait,
            held: None,
            deadline: None,
        }
    }

    #[cfg(test)]
    fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

/// The bytes one request holds; released when dropped.
pub(crate) struct Reservation {
    bytes: Arc<Semaphore>,
    wait: Duration,
    held: Option<OwnedSemaphorePermit>,
    /// Set at the first wait: the whole request may wait `wait` in total, not per chunk.
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
        let permit = match self.bytes.clone().try_acquire_many_owned(count) {
            Ok(permit) => permit,
            Err(_) => {
                let deadline = *self
                    .deadline
                    .get_or_insert_with(|| Instant::now() + self.wait);
                match tokio::time::timeout_at(
                    deadline,
                    self.bytes.clone().acquire_many_owned(count),
                )
                .await
                {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Exhausted),
                }
            }
        };
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        Ok(())
    }

    /// Gives `bytes` back before the request ends (memory already freed).
    pub(crate) fn release(&mut self, bytes: usize) {
        if let Some(held) = &mut self.held {
            // Dropping the split-off part returns it to the budget.
            drop(held.split(bytes.min(held.num_permits())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_come_back_when_dropped() {
        let budget = BodyBudget::new(1000, Duration::from_secs(5));
        let mut a = budget.reservation();
        a.grow(600).await.unwrap();
        a.grow(300).await.unwrap();
        assert_eq!(budget.available(), 100);
        a.release(200);
        assert_eq!(budget.available(), 300);
        a.release(5000);
        assert_eq!(budget.available(), 1000);
        a.grow(10).await.unwrap();
        drop(a);
        assert_eq!(budget.available(), 1000);
    }

    #[tokio::test]
    async fn a_request_that_cannot_wait_gives_up() {
        let budget = BodyBudget::new(1000, Duration::ZERO);
        let mut holder = budget.reservation();
        holder.grow(900).await.unwrap();
        let mut waiter = budget.reservation();
        assert!(waiter.grow(200).await.is_err());
        // The failed wait took nothing.
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn a_waiting_request_proceeds_when_bytes_are_released() {
        let budget = Arc::new(BodyBudget::new(1000, Duration::from_secs(600)));
        let mut holder = budget.reservation();
        holder.grow(900).await.unwrap();
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move {
                let mut r = budget.reservation();
                r.grow(500).await.map(|_| r)
            })
        };
        tokio::task::yield_now().await;
        drop(holder);
        let r = waiting.await.unwrap().expect("got the bytes once released");
        assert_eq!(budget.available(), 500);
        drop(r);
    }

    #[tokio::test]
    async fn more_than_the_whole_budget_is_refused() {
        let budget = BodyBudget::new(10, Duration::ZERO);
        assert!(budget.reservation().grow(11).await.is_err());
    }
}
