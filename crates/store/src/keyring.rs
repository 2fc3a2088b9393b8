//! Which master keys this node holds and which one seals new values.
//!
//! The database stores a key state under meta `key_state`: the current key's check value and, while a
//! rotation is running, the new key's check value plus each key wrapped under the other. A node holding
//! either key can therefore read everything and seal with the new key during a rotation, and a node
//! restarted with either key after a crash mid-rotation can finish it.

use std::sync::{Arc, Mutex, RwLock};

use subtle::ConstantTimeEq;

use crate::envelope;
use crate::error::StoreError;
use crate::master_key::MasterKey;

pub(crate) const KEY_STATE: &str = "key_state";

#[derive(Clone)]
pub(crate) struct Pending {
    pub new_kcv: [u8; 32],
    pub new_under_old: Vec<u8>,
    pub old_under_new: Vec<u8>,
}

#[derive(Clone)]
pub(crate) struct KeyState {
    pub kcv: [u8; 32],
    pub pending: Option<Pending>,
}

impl KeyState {
    pub fn single(key: &MasterKey) -> Self {
        KeyState {
            kcv: key.check_value(),
            pending: None,
        }
    }

    pub fn rotating(old: &MasterKey, new: &MasterKey) -> Result<Self, StoreError> {
        Ok(KeyState {
            kcv: old.check_value(),
            pending: Some(Pending {
                new_kcv: new.check_value(),
                new_under_old: envelope::wrap_master(old, new)?,
                old_under_new: envelope::wrap_master(new, old)?,
            }),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![1u8];
        out.extend_from_slice(&self.kcv);
        match &self.pending {
            None => out.push(0),
            Some(p) => {
                out.push(1);
                out.extend_from_slice(&p.new_kcv);
                for part in [&p.new_under_old, &p.old_under_new] {
                    out.extend_from_slice(&(part.len() as u16).to_be_bytes());
                    out.extend_from_slice(part);
                }
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt("malformed key_state".to_string());
        let mut r = Reader(bytes);
        if r.take(1).ok_or_else(corrupt)? != [1] {
            return Err(corrupt());
        }
        let kcv: [u8; 32] = r
            .take(32)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(corrupt)?;
        let pending = match r.take(1).ok_or_else(corrupt)? {
            [0] => None,
            [1] => {
                let new_kcv = r
                    .take(32)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(corrupt)?;
                let new_under_old = r.take_prefixed().ok_or_else(corrupt)?;
                let old_under_new = r.take_prefixed().ok_or_else(corrupt)?;
                Some(Pending {
                    new_kcv,
                    new_under_old,
                    old_under_new,
                })
            }
            _ => return Err(corrupt()),
        };
        if !r.0.is_empty() {
            return Err(corrupt());
        }
        Ok(KeyState { kcv, pending })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn take_prefixed(&mut self) -> Option<Vec<u8>> {
        let len = u16::from_be_bytes(self.take(2)?.try_into().ok()?) as usize;
        Some(self.take(len)?.to_vec())
    }
}

fn matching<'k>(known: &'k [MasterKey], kcv: &[u8; 32]) -> Option<&'k MasterKey> {
    known
        .iter()
        .find(|k| bool::from(k.check_value().ct_eq(kcv)))
}

/// The keys usable for one key state.
pub(crate) struct Keyring {
    /// Encoded key state this ring was built from (compared to detect changes by other nodes).
    pub state: Vec<u8>,
    sealer: MasterKey,
    /// Each key with its id, computed once: an id is an HMAC, and every sealed read looks one up.
    keys: Vec<([u8; 8], MasterKey)>,
}

impl Keyring {
    /// Builds the ring for `state_bytes` from the keys this node knows; also returns keys learned by
    /// unwrapping them from a pending rotation.
    pub fn build(
        state_bytes: &[u8],
        known: &[MasterKey],
    ) -> Result<(Keyring, Vec<MasterKey>), StoreError> {
        let state = KeyState::decode(state_bytes)?;
        let mismatch = || {
            StoreError::WrongMasterKey(
                "its key check value matches none of the stored ones".to_string(),
            )
        };
        match &state.pending {
            None => {
                let key = matching(known, &state.kcv).ok_or_else(mismatch)?.clone();
                Ok((
                    Keyring {
                        state: state_bytes.to_vec(),
                        sealer: key.clone(),
                        keys: vec![(key.id(), key)],
                    },
                    Vec::new(),
                ))
            }
            Some(p) => {
                let old = matching(known, &state.kcv).cloned();
                let new = matching(known, &p.new_kcv).cloned();
                let (old, new) = match (old, new) {
                    (Some(o), Some(n)) => (o, n),
                    (Some(o), None) => {
                        let n = envelope::unwrap_master(&o, &p.new_under_old).ok_or_else(|| {
                            StoreError::Corrupt("pending rotation key does not unwrap".to_string())
                        })?;
                        (o, n)
                    }
                    (None, Some(n)) => {
                        let o = envelope::unwrap_master(&n, &p.old_under_new).ok_or_else(|| {
                            StoreError::Corrupt("pending rotation key does not unwrap".to_string())
                        })?;
                        (o, n)
                    }
                    (None, None) => return Err(mismatch()),
                };
                Ok((
                    Keyring {
                        state: state_bytes.to_vec(),
                        sealer: new.clone(),
                        keys: vec![(new.id(), new.clone()), (old.id(), old.clone())],
                    },
                    vec![old, new],
                ))
            }
        }
    }

    pub fn sealer(&self) -> &MasterKey {
        &self.sealer
    }

    pub fn find(&self, id: [u8; 8]) -> Option<&MasterKey> {
        self.keys.iter().find(|(k, _)| *k == id).map(|(_, key)| key)
    }
}

/// The node's keys, shared by every transaction.
pub(crate) struct KeyManager {
    known: Mutex<Vec<MasterKey>>,
    ring: RwLock<Arc<Keyring>>,
}

impl KeyManager {
    pub fn new(ring: Keyring, known: Vec<MasterKey>) -> Self {
        KeyManager {
            known: Mutex::new(known),
            ring: RwLock::new(Arc::new(ring)),
        }
    }

    pub fn ring(&self) -> Arc<Keyring> {
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn known(&self) -> Vec<MasterKey> {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn learn(&self, key: MasterKey) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if !known.iter().any(|k| k.id() == key.id()) {
            known.push(key);
        }
    }

    /// Returns the ring for the stored key state, rebuilding it when another transaction or node changed it.
    pub fn refresh(&self, state_bytes: &[u8]) -> Result<Arc<Keyring>, StoreError> {
        let current = self.ring();
        if current.state == state_bytes {
            return Ok(current);
        }
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (ring, learned) = Keyring::build(state_bytes, &known)?;
        for key in learned {
            self.learn(key);
        }
        let ring = Arc::new(ring);
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = ring.clone();
        Ok(ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_key_opens_a_pending_rotation() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let state = KeyState::rotating(&old, &new).unwrap().encode();
        for start in [&old, &new] {
            let (ring, learned) = Keyring::build(&state, std::slice::from_ref(start)).unwrap();
            assert_eq!(ring.sealer().id(), new.id());
            assert!(ring.find(old.id()).is_some() && ring.find(new.id()).is_some());
            assert_eq!(learned.len(), 2);
        }
        let stranger = MasterKey::generate();
        assert!(matches!(
            Keyring::build(&state, &[stranger]),
            Err(StoreError::WrongMasterKey(_))
        ));
        let single = KeyState::single(&new).encode();
        assert!(Keyring::build(&single, &[old]).is_err());
        assert!(KeyState::decode(&state[..state.len() - 1]).is_err());
    }
}
