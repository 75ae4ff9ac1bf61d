//! The node's open WebSocket connections, by id: what `@connections` and the `connections`
//! import reach.
//!
//! The registry outlives snapshots (a reload keeps every client connected). It is sharded so that
//! posts to different connections do not contend: each operation locks one shard for a map lookup
//! and never waits on a client while holding it.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use runtime::{ConnectionError, ConnectionInfo, ConnectionService};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;

use super::WebSocketLimits;
use crate::limits::WEBSOCKET_MESSAGE_BYTES_MAX;

/// Shards of the registry: enough that concurrent posts rarely meet on one lock.
const SHARDS: usize = 32;

/// Bytes of randomness in a connection id: 11 bytes are 16 base64 characters ending in `=`, the
/// shape of API Gateway's ids (`L0SM9cOFvHcCIhw=`), which clients must URL-encode.
const CONNECTION_ID_RANDOM_BYTES: usize = 11;

/// The open connections of a node. Cheap to clone; every clone is the same registry.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<Inner>,
}

/// One shard: connection id → connection.
type Shard = Mutex<HashMap<String, Arc<Connection>>>;

struct Inner {
    shards: Box<[Shard]>,
    hasher: RandomState,
    open: AtomicUsize,
    limits: WebSocketLimits,
    /// Every connection's task: the registry owns them (reaped as new ones start; closed, then
    /// aborted past the drain, by [`Connections::close_all`]). Each task holds the registry, so
    /// they end by closing, not by the registry dropping.
    tasks: Mutex<JoinSet<()>>,
    /// Set once the node shuts down: every connection closes with 1001.
    stopping: watch::Sender<bool>,
}

/// One open connection as the registry holds it: how to reach its writer, and what
/// `GetConnection` reports.
pub(crate) struct Connection {
    outbox: mpsc::Sender<Bytes>,
    /// Bytes in `outbox` (posted, not yet taken by the connection's task).
    outbox_bytes: AtomicUsize,
    /// Told when the connection is to be closed from the server's side (`DeleteConnection`).
    closing: Notify,
    connected_at: SystemTime,
    /// Milliseconds since the Unix epoch of the last message either way.
    last_active_ms: AtomicU64,
    source_ip: String,
    user_agent: String,
}

/// The receiving end of a registered connection: what its task writes to the client.
pub(crate) struct Registered {
    pub(crate) connection: Arc<Connection>,
    pub(crate) outbox: mpsc::Receiver<Bytes>,
}

/// Refused: the node holds its most connections already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the node has {0} open WebSocket connections, its limit")]
pub(crate) struct TooManyConnections(pub usize);

impl Connections {
    /// An empty registry with the production limits ([`WebSocketLimits::production`]).
    pub fn new() -> Connections {
        Connections::with_limits(WebSocketLimits::production())
    }

    /// An empty registry whose connections have these limits.
    pub fn with_limits(limits: WebSocketLimits) -> Connections {
        assert!(
            limits.outbox_bytes_max >= WEBSOCKET_MESSAGE_BYTES_MAX
                && limits.outbox_messages_max > 0,
            "an empty outbox takes a message of the largest size"
        );
        Connections {
            inner: Arc::new(Inner {
                shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
                hasher: RandomState::new(),
                open: AtomicUsize::new(0),
                limits,
                tasks: Mutex::new(JoinSet::new()),
                stopping: watch::Sender::new(false),
            }),
        }
    }

    /// The limits every connection of this registry has.
    pub fn limits(&self) -> &WebSocketLimits {
        &self.inner.limits
    }

    /// The ids of the open connections (for diagnostics and tests).
    pub fn ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for shard in &self.inner.shards {
            let shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            ids.extend(shard.keys().cloned());
        }
        ids
    }

    /// Runs a connection's task, owned by the registry. Finished tasks are reaped here.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Resolves when the node shuts down.
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }

    /// Closes every connection (1001, "Going away") and waits for their tasks, which run
    /// `$disconnect`, at most `drain`; tasks still running then are aborted. Returns whether all
    /// finished in time. For the node's shutdown, after its listeners stopped accepting.
    pub async fn close_all(&self, drain: Duration) -> bool {
        self.inner.stopping.send_replace(true);
        let mut tasks = std::mem::take(
            &mut *self
                .inner
                .tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let drained =
            tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} })
                .await
                .is_ok();
        tasks.shutdown().await;
        drained
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes one of the node's connection places for a connection about to be accepted; the
    /// place is given back when the returned guard drops (the connection closes).
    pub(crate) fn reserve(&self) -> Result<Place, TooManyConnections> {
        let inner = &self.inner;
        let taken = inner.open.fetch_add(1, Ordering::AcqRel);
        let max = inner.limits.connections_max;
        if taken >= max {
            inner.open.fetch_sub(1, Ordering::AcqRel);
            return Err(TooManyConnections(max));
        }
        Ok(Place {
            connections: self.clone(),
        })
    }

    /// Adds an accepted connection under `id`, reachable until [`Connections::remove`].
    pub(crate) fn register(
        &self,
        id: &str,
        connected_at: SystemTime,
        source_ip: String,
        user_agent: String,
    ) -> Registered {
        let (sender, receiver) = mpsc::channel(self.inner.limits.outbox_messages_max);
        let connection = Arc::new(Connection {
            outbox: sender,
            outbox_bytes: AtomicUsize::new(0),
            closing: Notify::new(),
            connected_at,
            last_active_ms: AtomicU64::new(epoch_ms(connected_at)),
            source_ip,
            user_agent,
        });
        self.shard(id)
            .insert(id.to_owned(), Arc::clone(&connection));
        Registered {
            connection,
            outbox: receiver,
        }
    }

    /// Forgets a connection: from now on it is gone to `@connections`.
    pub(crate) fn remove(&self, id: &str) {
        self.shard(id).remove(id);
    }

    fn find(&self, id: &str) -> Result<Arc<Connection>, ConnectionError> {
        self.shard(id)
            .get(id)
            .cloned()
            .ok_or_else(|| ConnectionError::Gone(id.to_owned()))
    }

    fn shard(&self, id: &str) -> MutexGuard<'_, HashMap<String, Arc<Connection>>> {
        let shards = &self.inner.shards;
        let index =
            usize::try_from(self.inner.hasher.hash_one(id)).unwrap_or_default() % shards.len();
        // A panic while holding a shard leaves a plain map behind; it is still consistent.
        shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for Connections {
    fn default() -> Connections {
        Connections::new()
    }
}

impl ConnectionService for Connections {
    fn post(&self, connection_id: &str, data: Bytes) -> Result<(), ConnectionError> {
        if data.len() > WEBSOCKET_MESSAGE_BYTES_MAX {
            return Err(ConnectionError::PayloadTooLarge {
                size: data.len(),
                limit: WEBSOCKET_MESSAGE_BYTES_MAX,
            });
        }
        let connection = self.find(connection_id)?;
        let size = data.len();
        let limits = &self.inner.limits;
        let bytes_max = limits.outbox_bytes_max;
        let has_room =
            connection
                .outbox_bytes
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                    (queued + size <= bytes_max).then_some(queued + size)
                });
        if has_room.is_err() {
            return Err(ConnectionError::LimitExceeded(format!(
                "the connection {connection_id} has {bytes_max} bytes of messages waiting; the client is not reading"
            )));
        }
        match connection.outbox.try_send(data) {
            Ok(()) => {
                connection.touch();
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                connection.taken(size);
                Err(ConnectionError::LimitExceeded(format!(
                    "the connection {connection_id} has {} messages waiting; the client is not reading",
                    limits.outbox_messages_max
                )))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                connection.taken(size);
                Err(ConnectionError::Gone(connection_id.to_owned()))
            }
        }
    }

    fn get(&self, connection_id: &str) -> Result<ConnectionInfo, ConnectionError> {
        let connection = self.find(connection_id)?;
        Ok(ConnectionInfo {
            connected_at: connection.connected_at,
            last_active_at: UNIX_EPOCH
                + Duration::from_millis(connection.last_active_ms.load(Ordering::Relaxed)),
            source_ip: connection.source_ip.clone(),
            user_agent: connection.user_agent.clone(),
        })
    }

    fn delete(&self, connection_id: &str) -> Result<(), ConnectionError> {
        let connection = self.find(connection_id)?;
        self.remove(connection_id);
        // A stored permit: the connection's task sees it even if it is busy right now.
        connection.closing.notify_one();
        Ok(())
    }
}

impl Connection {
    /// `size` bytes left the outbox (taken by the connection's task, or never queued).
    pub(crate) fn taken(&self, size: usize) {
        self.outbox_bytes.fetch_sub(size, Ordering::AcqRel);
    }

    /// Records activity now (a message either way).
    pub(crate) fn touch(&self) {
        self.last_active_ms
            .store(epoch_ms(SystemTime::now()), Ordering::Relaxed);
    }

    /// Resolves when the server side asked to close the connection.
    pub(crate) async fn closing(&self) {
        self.closing.notified().await;
    }
}

/// One of the node's connection places, held for as long as a connection is open.
pub(crate) struct Place {
    connections: Connections,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.connections.inner.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A new connection id in API Gateway's shape: 16 characters of base64, ending in `=`.
pub(crate) fn new_connection_id() -> String {
    let random = uuid::Uuid::new_v4();
    let bytes = &random.as_bytes()[..CONNECTION_ID_RANDOM_BYTES];
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn epoch_ms(time: SystemTime) -> u64 {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use super::*;

    fn registered(connections: &Connections, id: &str) -> Registered {
        connections.register(
            id,
            SystemTime::now(),
            "127.0.0.1".to_owned(),
            "test".to_owned(),
        )
    }

    #[test]
    fn ids_have_api_gateways_shape() {
        let id = new_connection_id();
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.ends_with('='), "{id}");
        assert_ne!(id, new_connection_id());
    }

    #[tokio::test]
    async fn a_post_reaches_the_connections_outbox() {
        let connections = Connections::new();
        let mut registered = registered(&connections, "a=");
        connections.post("a=", Bytes::from_static(b"hi")).unwrap();
        assert_eq!(
            registered.outbox.recv().await.unwrap(),
            Bytes::from_static(b"hi")
        );
        let info = connections.get("a=").unwrap();
        assert_eq!(info.source_ip, "127.0.0.1");
        assert!(info.last_active_at >= info.connected_at - Duration::from_millis(1));
    }

    #[test]
    fn unknown_and_removed_connections_are_gone() {
        let connections = Connections::new();
        let _registered = registered(&connections, "a=");
        connections.remove("a=");
        for id in ["a=", "never"] {
            let gone = ConnectionError::Gone(id.to_owned());
            assert_eq!(connections.post(id, Bytes::new()), Err(gone.clone()));
            assert_eq!(connections.get(id), Err(gone.clone()));
            assert_eq!(connections.delete(id), Err(gone));
        }
    }

    #[test]
    fn a_closed_outbox_is_gone() {
        let connections = Connections::new();
        drop(registered(&connections, "a="));
        let error = connections.post("a=", Bytes::new()).unwrap_err();
        assert_eq!(error, ConnectionError::Gone("a=".to_owned()));
    }

    #[test]
    fn a_full_outbox_is_limit_exceeded_and_a_large_message_too_large() {
        let connections = Connections::new();
        let _registered = registered(&connections, "a=");
        for _ in 0..connections.limits().outbox_messages_max {
            connections.post("a=", Bytes::from_static(b"x")).unwrap();
        }
        let error = connections
            .post("a=", Bytes::from_static(b"x"))
            .unwrap_err();
        assert!(
            matches!(error, ConnectionError::LimitExceeded(_)),
            "{error:?}"
        );
        let large = Bytes::from(vec![b'x'; WEBSOCKET_MESSAGE_BYTES_MAX + 1]);
        let error = connections.post("a=", large).unwrap_err();
        assert!(
            matches!(error, ConnectionError::PayloadTooLarge { .. }),
            "{error:?}"
        );
    }

    /// Issue 13, defect 5: the outbox is bounded by bytes as well as by messages, and bytes the
    /// connection's task takes out make room again.
    #[tokio::test]
    async fn issue_13_an_outbox_full_of_bytes_is_limit_exceeded() {
        let mut limits = WebSocketLimits::production();
        limits.outbox_bytes_max = 2 * WEBSOCKET_MESSAGE_BYTES_MAX;
        let connections = Connections::with_limits(limits);
        let mut registered = registered(&connections, "a=");
        let large = Bytes::from(vec![b'x'; WEBSOCKET_MESSAGE_BYTES_MAX]);
        connections.post("a=", large.clone()).unwrap();
        connections.post("a=", large.clone()).unwrap();
        let error = connections
            .post("a=", Bytes::from_static(b"x"))
            .unwrap_err();
        assert!(
            matches!(&error, ConnectionError::LimitExceeded(message) if message.contains("bytes")),
            "{error:?}"
        );
        let taken = registered.outbox.recv().await.unwrap();
        registered.connection.taken(taken.len());
        connections.post("a=", large).unwrap();
    }

    #[tokio::test]
    async fn delete_forgets_the_connection_and_tells_its_task() {
        let connections = Connections::new();
        let registered = registered(&connections, "a=");
        connections.delete("a=").unwrap();
        // The permit was stored: the task sees it even though it was not waiting yet.
        registered.connection.closing().await;
        assert!(connections.get("a=").is_err());
    }

    #[test]
    fn places_are_limited_and_given_back() {
        let mut limits = WebSocketLimits::production();
        limits.connections_max = 2;
        let connections = Connections::with_limits(limits);
        let first = connections.reserve().unwrap();
        let _second = connections.reserve().unwrap();
        assert_eq!(connections.reserve().err(), Some(TooManyConnections(2)));
        drop(first);
        assert_eq!(connections.len(), 1);
        assert!(connections.reserve().is_ok());
    }
}
