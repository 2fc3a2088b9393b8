//! Invalidates this node's cache when other nodes write (LISTEN on the change channel).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::Config;

use super::{connect, CHANNEL};
use crate::cache::Cache;

pub(super) fn run(
    config: Config,
    cache: Arc<Cache>,
    stop: Arc<AtomicBool>,
    listening: SyncSender<()>,
) {
    while !stop.load(Ordering::Relaxed) {
        let mut client = match connect(&config) {
            Ok(c) => c,
            Err(_) => {
                cache.clear();
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if client.batch_execute(&format!("LISTEN {CHANNEL}")).is_err() {
            cache.clear();
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        // Writes made while nobody was listening may have left stale entries.
        cache.clear();
        let _ = listening.try_send(());
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let next = client
                .notifications()
                .timeout_iter(Duration::from_millis(250))
                .next();
            match next {
                Ok(Some(n)) => apply(&cache, n.payload()),
                Err(_) => break,
                Ok(None) if client.is_closed() => break,
                Ok(None) => {}
            }
        }
        cache.clear();
    }
}

fn apply(cache: &Cache, payload: &str) {
    match serde_json::from_str::<Vec<(String, String)>>(payload) {
        Ok(keys) => cache.invalidate(keys.iter().map(|(t, k)| (t.as_str(), k.as_str()))),
        Err(_) => cache.clear(),
    }
}
