//! The table of open connections: admission against the global and per-client caps, and which
//! connection to give up when a new client needs a place.
//!
//! Under pressure Coffer keeps serving newcomers rather than the connections that are doing
//! nothing: a connection with no request in progress is idle (whether it is in its TLS handshake,
//! has not sent a byte yet, is half-way through its headers or is a keep-alive connection between
//! requests), and when a cap is reached the idle connection with the oldest activity is closed to
//! make room. Only when every connection is busy is the newcomer refused, at once, instead of
//! waiting in the kernel's accept queue behind connections that may never speak.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Whom the per-client cap counts together: one IPv4 address, or one IPv6 /64 (the block a
/// single site is normally given, so one host cannot pose as millions of clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    V4(Ipv4Addr),
    V6Prefix(u64),
}

impl ClientKey {
    pub(crate) fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4),
                None => ClientKey::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The client holds its maximum of connections and every one of them is busy.
    ClientFull,
    /// The server holds its maximum of connections and every one of them is busy.
    ServerFull,
}

/// State of one connection shared by its task, its requests and the table.
pub(crate) struct Tracker {
    id: u64,
    client: ClientKey,
    epoch: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `epoch` of the last sign of life: admission, the end of the TLS
    /// handshake, a byte of request data, the end of a request.
    last_active_ms: AtomicU64,
    /// Whether any request byte has arrived (the first-byte timer stops then).
    received: AtomicBool,
    /// Told to close at once: the connection was chosen to make room for a newcomer.
    pub(crate) shed: Notify,
}

impl Tracker {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub(crate) fn touch(&self) {
        self.last_active_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn on_data(&self) {
        self.touch();
        if !self.received.load(Ordering::Relaxed) {
            self.received.store(true, Ordering::Relaxed);
        }
    }

    /// Marks a request as in progress until the guard is dropped (also when the request is
    /// abandoned, e.g. an HTTP/2 stream reset).
    pub(crate) fn request_started(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        RequestGuard(self.clone())
    }

    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// When the connection should be closed for saying nothing, or `None` while a request is in
    /// progress (its own timeouts govern it then).
    pub(crate) fn deadline(&self, first_byte: Duration, idle: Duration) -> Option<Instant> {
        if !self.is_idle() {
            return None;
        }
        let since = Duration::from_millis(self.last_active_ms.load(Ordering::Relaxed));
        let allowed = if self.received.load(Ordering::Relaxed) {
            idle
        } else {
            first_byte
        };
        Some(self.epoch + since + allowed)
    }

    /// Whether the connection has sent any request data yet.
    pub(crate) fn has_received(&self) -> bool {
        self.received.load(Ordering::Relaxed)
    }
}

pub(crate) struct RequestGuard(Arc<Tracker>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Default)]
struct Table {
    next_id: u64,
    live: HashMap<u64, Arc<Tracker>>,
    per_client: HashMap<ClientKey, usize>,
}

impl Table {
    fn remove(&mut self, id: u64) -> Option<Arc<Tracker>> {
        let tracker = self.live.remove(&id)?;
        if let Some(count) = self.per_client.get_mut(&tracker.client) {
            *count -= 1;
            if *count == 0 {
                self.per_client.remove(&tracker.client);
            }
        }
        Some(tracker)
    }

    /// Closes the idle connection (among those `eligible`) whose last activity is the oldest; of
    /// two equally old, the one admitted first.
    fn shed_oldest_idle(&mut self, eligible: impl Fn(&Tracker) -> bool) -> bool {
        let victim = self
            .live
            .values()
            .filter(|t| eligible(t) && t.is_idle())
            .min_by_key(|t| (t.last_active_ms.load(Ordering::Relaxed), t.id))
            .map(|t| t.id);
        match victim.and_then(|id| self.remove(id)) {
            Some(tracker) => {
                tracker.shed.notify_one();
                true
            }
            None => false,
        }
    }
}

pub(crate) struct ConnectionTable {
    max_connections: usize,
    max_per_client: usize,
    epoch: Instant,
    table: Mutex<Table>,
    /// Woken when the last connection leaves (shutdown waits for it).
    drained: Notify,
}

impl ConnectionTable {
    pub(crate) fn new(max_connections: usize, max_per_client: usize) -> Arc<ConnectionTable> {
        Arc::new(ConnectionTable {
            max_connections: max_connections.max(1),
            max_per_client: max_per_client.max(1),
            epoch: Instant::now(),
            table: Mutex::new(Table::default()),
            drained: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `ip`, closing the oldest idle connection (of that client when the
    /// client is at its cap, of anyone when the server is) to make room.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Registration, Refusal> {
        let client = ClientKey::of(ip);
        let mut table = self.lock();
        if table.per_client.get(&client).copied().unwrap_or(0) >= self.max_per_client
            && !table.shed_oldest_idle(|t| t.client == client)
        {
            return Err(Refusal::ClientFull);
        }
        if table.live.len() >= self.max_connections && !table.shed_oldest_idle(|_| true) {
            return Err(Refusal::ServerFull);
        }
        let id = table.next_id;
        table.next_id += 1;
        let tracker = Arc::new(Tracker {
            id,
            client,
            epoch: self.epoch,
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(self.epoch.elapsed().as_millis() as u64),
            received: AtomicBool::new(false),
            shed: Notify::new(),
        });
        table.live.insert(id, tracker.clone());
        *table.per_client.entry(client).or_insert(0) += 1;
        Ok(Registration {
            table: self.clone(),
            tracker,
        })
    }

    /// Frees a file descriptor when accept fails for lack of them; `false` if none is idle.
    pub(crate) fn shed_one_idle(&self) -> bool {
        self.lock().shed_oldest_idle(|_| true)
    }

    /// Resolves once no connection is left.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().live.is_empty() {
                return;
            }
            notified.await;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().live.len()
    }
}

/// A connection's place in the table, given back when dropped.
pub(crate) struct Registration {
    table: Arc<ConnectionTable>,
    tracker: Arc<Tracker>,
}

impl Registration {
    pub(crate) fn tracker(&self) -> &Arc<Tracker> {
        &self.tracker
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut table = self.table.lock();
        // Already gone if it was shed.
        table.remove(self.tracker.id);
        if table.live.is_empty() {
            self.table.drained.notify_waiters();
        }
    }
}

/// The connection's byte stream, noting each arrival of request data on its tracker.
pub(crate) struct Tracked<S> {
    inner: S,
    tracker: Arc<Tracker>,
}

impl<S> Tracked<S> {
    pub(crate) fn new(inner: S, tracker: Arc<Tracker>) -> Tracked<S> {
        Tracked { inner, tracker }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.tracker.on_data();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_v4_as_v4() {
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientKey::of(ip("::ffff:192.0.2.7")),
            ClientKey::of(ip("192.0.2.7"))
        );
    }

    #[tokio::test]
    async fn full_client_sheds_its_own_oldest_idle_connection() {
        let table = ConnectionTable::new(100, 2);
        let first = table.admit(ip("192.0.2.1")).unwrap();
        let second = table.admit(ip("192.0.2.1")).unwrap();
        let other = table.admit(ip("192.0.2.2")).unwrap();
        // Make `first` the more recently active of the two.
        first
            .tracker()
            .last_active_ms
            .store(10_000, Ordering::Relaxed);
        let third = table.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(table.len(), 3);
        // `second` was told to go; nobody else was.
        tokio::time::timeout(Duration::from_secs(5), second.tracker().shed.notified())
            .await
            .expect("the oldest idle connection of the client is shed");
        drop(second);
        assert_eq!(table.len(), 3);
        drop((first, third, other));
        assert_eq!(table.len(), 0);
    }

    #[tokio::test]
    async fn busy_connections_are_never_shed_and_newcomers_are_refused() {
        let table = ConnectionTable::new(2, 2);
        let a = table.admit(ip("192.0.2.1")).unwrap();
        let b = table.admit(ip("192.0.2.2")).unwrap();
        let _busy_a = a.tracker().request_started();
        let busy_b = b.tracker().request_started();
        assert_eq!(
            table.admit(ip("192.0.2.3")).err(),
            Some(Refusal::ServerFull)
        );
        assert_eq!(
            table.admit(ip("192.0.2.1")).err(),
            Some(Refusal::ServerFull)
        );
        // Once b's request is over, b is idle and gives way.
        drop(busy_b);
        let c = table.admit(ip("192.0.2.3")).unwrap();
        tokio::time::timeout(Duration::from_secs(5), b.tracker().shed.notified())
            .await
            .expect("the idle connection is shed");
        drop((a, b, c));
        assert_eq!(table.len(), 0);
    }

    #[tokio::test]
    async fn client_at_its_cap_with_every_connection_busy_is_refused() {
        let table = ConnectionTable::new(100, 1);
        let a = table.admit(ip("192.0.2.1")).unwrap();
        let _busy = a.tracker().request_started();
        assert_eq!(
            table.admit(ip("192.0.2.1")).err(),
            Some(Refusal::ClientFull)
        );
        assert!(table.admit(ip("192.0.2.9")).is_ok());
    }

    #[test]
    fn deadlines_follow_first_byte_then_idle_and_stop_while_busy() {
        let table = ConnectionTable::new(10, 10);
        let reg = table.admit(ip("192.0.2.1")).unwrap();
        let t = reg.tracker().clone();
        let first_byte = Duration::from_secs(3);
        let idle = Duration::from_secs(60);
        let before = t.deadline(first_byte, idle).unwrap();
        assert!(before <= Instant::now() + first_byte);
        t.on_data();
        assert!(t.has_received());
        let after = t.deadline(first_byte, idle).unwrap();
        assert!(after > Instant::now() + Duration::from_secs(30));
        let guard = t.request_started();
        assert_eq!(t.deadline(first_byte, idle), None);
        drop(guard);
        assert!(t.deadline(first_byte, idle).is_some());
    }

    #[tokio::test]
    async fn drained_resolves_when_the_last_connection_leaves() {
        let table = ConnectionTable::new(10, 10);
        let reg = table.admit(ip("192.0.2.1")).unwrap();
        let waiter = {
            let table = table.clone();
            tokio::spawn(async move { table.drained().await })
        };
        drop(reg);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("drained")
            .unwrap();
    }
}
