//! Online master-key rotation.
//!
//! 1. One transaction records the pending rotation (new key check value, each key wrapped under the
//!    other). From then on every transaction that seals reads that state and seals under the new key,
//!    on every node, whichever of the two keys the node was started with. The rotation then waits a
//!    grace period, so that running nodes which hold only the old key learn the new one from this
//!    state (they re-read it at least every second, see [`Store::refresh_keys`]) before step 3
//!    removes the old key's wrapping of it.
//! 2. Batches of short transactions re-wrap the data keys still under the old key, so writers are
//!    never blocked for long.
//! 3. One final transaction re-wraps any stragglers (written by nodes that sealed before seeing the
//!    pending state) and makes the new key the only one. Under serializable isolation it conflicts
//!    with any concurrent transaction that sealed under the old key, so none can slip in after it.
//!
//! A crash at any point leaves a state that either key can open; `Store::open` finishes the rotation.

use crate::envelope;
use crate::error::StoreError;
use crate::keyring::{KeyState, KEY_STATE};
use crate::master_key::MasterKey;
use crate::record::RawRecord;
use crate::store::Store;
use crate::txn::SealingTxn;

const BATCH: usize = 256;

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    /// Data keys re-wrapped under the new master key.
    pub rewrapped: u64,
}

impl Store {
    /// Re-wraps every data key under `new` while the store stays online. Idempotent: calling it again
    /// with the same key (for example after a crash) finishes or confirms the rotation. Other
    /// processes using the store (servers on the same SQLite file, nodes sharing PostgreSQL) keep
    /// working during and after the rotation as long as they refresh their keys more often than
    /// `grace`; restart them with the new key whenever convenient.
    pub async fn rotate_master_key(
        &self,
        new: MasterKey,
        grace: std::time::Duration,
    ) -> Result<RotationReport, StoreError> {
        self.inner.keys.learn(new.clone());
        let new_kcv = new.check_value();
        let started = self
            .run(true, move |t: &mut SealingTxn<'_>| {
                let ring = t.fresh_ring()?;
                let state = KeyState::decode(&ring.state)?;
                match &state.pending {
                    Some(p) if p.new_kcv == new_kcv => Ok(true),
                    Some(_) => Err(StoreError::RotationInProgress),
                    None if state.kcv == new_kcv => Ok(false),
                    None => {
                        let next = KeyState::rotating(ring.sealer(), &new)?;
                        t.meta_put(KEY_STATE, &next.encode())?;
                        Ok(true)
                    }
                }
            })
            .await?;
        if !started {
            return Ok(RotationReport { rewrapped: 0 });
        }
        tokio::time::sleep(grace).await;
        self.finish_rotation().await
    }

    /// Re-reads the stored key state: a rotation started elsewhere is adopted (and the new key
    /// learned from it) without waiting for this process's next write. Servers call it every second.
    pub async fn refresh_keys(&self) -> Result<(), StoreError> {
        self.run(false, |t: &mut SealingTxn<'_>| t.fresh_ring().map(|_| ()))
            .await
    }

    pub(crate) fn rotation_pending(&self) -> bool {
        KeyState::decode(&self.inner.keys.ring().state).is_ok_and(|s| s.pending.is_some())
    }

    pub(crate) async fn finish_rotation(&self) -> Result<RotationReport, StoreError> {
        let mut rewrapped = 0u64;
        let mut after: Option<(String, String)> = None;
        loop {
            let from = after.clone();
            let (n, last) = self
                .run(true, move |t: &mut SealingTxn<'_>| {
                    if !pending(t)? {
                        return Ok((0, None));
                    }
                    let from = from.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
                    rewrap_page(t, from, BATCH)
                })
                .await?;
            rewrapped += n;
            match last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        let n = self
            .run(true, |t: &mut SealingTxn<'_>| {
                if !pending(t)? {
                    return Ok(0);
                }
                let mut total = 0;
                let mut after: Option<(String, String)> = None;
                loop {
                    let from = after.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
                    let (n, last) = rewrap_page(t, from, 1000)?;
                    total += n;
                    match last {
                        Some(last) => after = Some(last),
                        None => break,
                    }
                }
                let ring = t.fresh_ring()?;
                let done = KeyState::single(ring.sealer()).encode();
                t.meta_put(KEY_STATE, &done)?;
                Ok::<u64, StoreError>(total)
            })
            .await?;
        // Adopt the final state now rather than at the next sealing transaction.
        let ring = self.inner.keys.ring();
        if let Ok(state) = KeyState::decode(&ring.state) {
            if state.pending.is_some() {
                self.inner
                    .keys
                    .refresh(&KeyState::single(ring.sealer()).encode())?;
            }
        }
        Ok(RotationReport {
            rewrapped: rewrapped + n,
        })
    }
}

fn pending(t: &mut SealingTxn<'_>) -> Result<bool, StoreError> {
    let ring = t.fresh_ring()?;
    Ok(KeyState::decode(&ring.state)?.pending.is_some())
}

/// Re-wraps one page of records; returns how many were re-wrapped and the last (table, key) seen,
/// or `None` when the page was the last one.
fn rewrap_page(
    t: &mut SealingTxn<'_>,
    after: Option<(&str, &str)>,
    limit: usize,
) -> Result<(u64, Option<(String, String)>), StoreError> {
    let ring = t.fresh_ring()?;
    let sealer = ring.sealer().clone();
    let rows = t.scan_all(after, limit)?;
    let full = rows.len() == limit;
    let last = rows.last().map(|(tb, k, _)| (tb.clone(), k.clone()));
    let mut n = 0;
    for (table, key, record) in rows {
        let Some(blob) = &record.sealed else { continue };
        let id = envelope::key_id(blob).ok_or_else(|| StoreError::Decrypt {
            table: table.clone(),
            key: key.clone(),
        })?;
        if id == sealer.id() {
            continue;
        }
        let old = ring.find(id).ok_or_else(|| StoreError::Decrypt {
            table: table.clone(),
            key: key.clone(),
        })?;
        let sealed = envelope::rewrap(old, &sealer, &table, &key, blob)?;
        t.put_exact(
            &table,
            &key,
            &RawRecord {
                sealed: Some(sealed),
                ..record
            },
        )?;
        n += 1;
    }
    Ok((n, if full { last } else { None }))
}
