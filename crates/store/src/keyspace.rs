//! The registry of the keyspace's areas: the first byte of every key says which part of rondo
//! owns it, and this is the one place where those bytes are assigned.
//!
//! Each owner lays out the rest of its keys itself (its second byte is usually a kind of its
//! own) and documents that layout beside its code, naming its area by the [`Area`] variant, never
//! by the byte. A constant that holds an area's byte is named `AREA` or `…_AREA` and takes its
//! value from here (`const AREA: u8 = Area::Ledger.prefix();`); the store's tidy test
//! (`tests/it/keyspace.rs`) fails on one that does not.
//!
//! | Area                            | Byte   | Owner      | What lives there |
//! |---------------------------------|--------|------------|------------------|
//! | [`Area::TablesMeta`]            | `0x01` | `tables`   | the catalog, counters, last ids, stream metadata, transaction tokens (`tables/src/keys.rs`) |
//! | [`Area::TablesData`]            | `0x02` | `tables`   | items, index entries, TTL queues |
//! | [`Area::StreamRecords`]         | `0x03` | `tables`   | stream records |
//! | [`Area::Checkpoints`]           | `0x04` | `events`   | stream triggers' checkpoints (`events/src/checkpoint.rs`) |
//! | [`Area::AsyncInvocations`]      | `0x05` | `events`   | pending asynchronous invocations and their outbox (`events/src/async_invoke/stored.rs`) |
//! | [`Area::Ledger`]                | `0x06` | `metering` | the usage ledger (`metering/src/codec.rs`) |
//!
//! Reserved for what is not built yet, in this order: `0x07` releases (the control plane's
//! deployed state), `0x08` queues, `0x09` schedules, `0x0A` buckets (object storage), `0x0B`
//! connections (WebSocket connections that outlive a node). A new area takes its byte here, as a
//! variant, when its first key is written. `0x00` is never assigned.
//!
//! A byte, once assigned, never changes and is never reused: it is part of the on-disk format.

/// One area of the store's keyspace: all keys starting with its [`prefix`](Area::prefix).
///
/// The discriminant is the byte, so two areas cannot share one (the compiler refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Area {
    /// `tables`: the catalog, per-table counters, the last table and stream ids, streams'
    /// metadata and last sequence numbers, TransactWriteItems tokens, garbage markers.
    TablesMeta = 0x01,
    /// `tables`: items, index entries and TTL expiry queues, by table id.
    TablesData = 0x02,
    /// `tables`: stream records, by stream, shard and sequence number.
    StreamRecords = 0x03,
    /// `events`: where each stream trigger is in each shard.
    Checkpoints = 0x04,
    /// `events`: asynchronous invocations (`InvocationType: Event`) waiting to run, and their
    /// invocation records on the way to their destination (the outbox).
    AsyncInvocations = 0x05,
    /// `metering`: usage records, hourly buckets and the ledger's counters.
    Ledger = 0x06,
}

impl Area {
    /// Every area, in byte order.
    pub const ALL: [Area; 6] = [
        Area::TablesMeta,
        Area::TablesData,
        Area::StreamRecords,
        Area::Checkpoints,
        Area::AsyncInvocations,
        Area::Ledger,
    ];

    /// The first byte of every key of this area.
    pub const fn prefix(self) -> u8 {
        self as u8
    }
}
