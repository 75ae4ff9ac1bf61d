//! How asynchronous events live in the store, in the area [`Area::AsyncInvocations`] of its
//! keyspace (`AREA` below).
//!
//! ```text
//! AREA 'e' <enqueued ms u64 BE> <request id> → a pending event: header, then the payload
//! AREA 'o' <enqueued ms u64 BE> <request id> → an invocation record on its way to its
//!                                               destination table (the outbox)
//! ```
//!
//! Keys sort by arrival, so a restart takes the events up in the order they came. An event
//! leaves the `e` area in the transaction that puts its record into the `o` area (or that drops
//! it, with no destination); the record leaves the outbox once it is in its table.
//!
//! Values are a version byte and then fixed-width big-endian integers and length-prefixed
//! UTF-8 strings, in the order of the fields below; the payload is the rest of the value.

use bytes::Bytes;
use manifest::{EventInvokeSpec, TriggerSource};
use store::keyspace::Area;

use crate::limits::{
    ASYNC_ERROR_MESSAGE_BYTES_MAX, ASYNC_ERROR_TYPE_BYTES_MAX, ASYNC_EVENT_HEADER_BYTES_MAX,
};

const AREA: u8 = Area::AsyncInvocations.prefix();
const EVENTS: u8 = b'e';
const OUTBOX: u8 = b'o';
const VERSION: u8 = 1;

/// One pending event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StoredEvent {
    /// Every attempt runs under it, as on Lambda (and the caller was told it).
    pub(super) request_id: String,
    pub(super) function: String,
    pub(super) enqueued_ms: u64,
    /// When the next attempt is due.
    pub(super) due_ms: u64,
    /// Invocations run so far: Lambda's `approximateInvokeCount`.
    pub(super) invocations: u32,
    /// Function errors so far (each but the last is followed by a retry).
    pub(super) failures: u32,
    /// Throttled attempts so far; they are no invocations and use no retry.
    pub(super) throttles: u32,
    /// The function's settings when the event came, for when it has left the app since.
    pub(super) settings: EventInvokeSpec,
    /// The last attempt that failed, for the invocation record.
    pub(super) last_failure: Option<Failure>,
    /// The event, JSON.
    pub(super) payload: Bytes,
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    pub(super) kind: FailureKind,
    /// Lambda's `errorType`, cut to [`ASYNC_ERROR_TYPE_BYTES_MAX`].
    pub(super) error_type: String,
    /// Lambda's `errorMessage`, cut to [`ASYNC_ERROR_MESSAGE_BYTES_MAX`].
    pub(super) error_message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FailureKind {
    /// The function failed: it returned an error, trapped, timed out or ran out of memory.
    Function,
    /// No instance was free to run it.
    Throttled,
    /// The app has no function of that name (any more).
    FunctionGone,
    /// The function takes HTTP requests, not events (a `wasi:http` component).
    NotInvocable,
    /// Throttled by a reserved concurrency of 0: it never runs, so it is not retried.
    Disabled,
}

/// An invocation record waiting in the outbox for its destination table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OutboxEntry {
    pub(super) function: String,
    pub(super) table: String,
    /// `Success`, `RetriesExhausted` or `EventAgeExceeded`.
    pub(super) condition: String,
    /// The record, JSON.
    pub(super) record: Bytes,
}

impl FailureKind {
    /// The status the Invoke API would have answered a synchronous call with.
    pub(super) fn status(self) -> u16 {
        match self {
            FailureKind::Function => 200,
            FailureKind::Throttled => 429,
            FailureKind::FunctionGone => 404,
            FailureKind::NotInvocable => 400,
            FailureKind::Disabled => 429,
        }
    }

    fn code(self) -> u8 {
        match self {
            FailureKind::Function => 0,
            FailureKind::Throttled => 1,
            FailureKind::FunctionGone => 2,
            FailureKind::NotInvocable => 3,
            FailureKind::Disabled => 4,
        }
    }

    fn from_code(code: u8) -> Option<FailureKind> {
        Some(match code {
            0 => FailureKind::Function,
            1 => FailureKind::Throttled,
            2 => FailureKind::FunctionGone,
            3 => FailureKind::NotInvocable,
            4 => FailureKind::Disabled,
            _ => return None,
        })
    }
}

impl Failure {
    /// A failure, its texts cut to their limits.
    pub(super) fn new(kind: FailureKind, error_type: &str, error_message: &str) -> Failure {
        Failure {
            kind,
            error_type: cut(error_type, ASYNC_ERROR_TYPE_BYTES_MAX).to_owned(),
            error_message: cut(error_message, ASYNC_ERROR_MESSAGE_BYTES_MAX).to_owned(),
        }
    }
}

/// The longest prefix of `text` of at most `bytes_max` bytes that ends on a character boundary.
fn cut(text: &str, bytes_max: usize) -> &str {
    let mut end = text.len().min(bytes_max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The key of a pending event.
pub(super) fn event_key(enqueued_ms: u64, request_id: &str) -> Vec<u8> {
    key(EVENTS, enqueued_ms, request_id)
}

/// The outbox key of an event's invocation record.
pub(super) fn outbox_key(event_key: &[u8]) -> Vec<u8> {
    debug_assert_eq!(event_key[..2], [AREA, EVENTS]);
    let mut key = event_key.to_vec();
    key[1] = OUTBOX;
    key
}

fn key(space: u8, enqueued_ms: u64, request_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(10 + request_id.len());
    key.extend_from_slice(&[AREA, space]);
    key.extend_from_slice(&enqueued_ms.to_be_bytes());
    key.extend_from_slice(request_id.as_bytes());
    key
}

/// The key range of the pending events: `(start, end)`, end excluded.
pub(super) fn events_range() -> ([u8; 2], [u8; 2]) {
    ([AREA, EVENTS], [AREA, EVENTS + 1])
}

/// The key range of the outbox: `(start, end)`, end excluded.
pub(super) fn outbox_range() -> ([u8; 2], [u8; 2]) {
    ([AREA, OUTBOX], [AREA, OUTBOX + 1])
}

/// A key as text, for messages.
pub(super) fn key_text(key: &[u8]) -> String {
    String::from_utf8_lossy(key.get(10..).unwrap_or_default()).into_owned()
}

impl StoredEvent {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Writer(Vec::with_capacity(256 + self.payload.len()));
        out.u8(VERSION);
        out.u64(self.enqueued_ms);
        out.u64(self.due_ms);
        out.u32(self.invocations);
        out.u32(self.failures);
        out.u32(self.throttles);
        out.str(&self.request_id);
        out.str(&self.function);
        out.u32(self.settings.maximum_retry_attempts);
        out.u32(self.settings.maximum_event_age_s);
        out.str(&destination_text(self.settings.on_failure.as_ref()));
        out.str(&destination_text(self.settings.on_success.as_ref()));
        match &self.last_failure {
            None => out.u8(0),
            Some(failure) => {
                out.u8(1);
                out.u8(failure.kind.code());
                out.str(&failure.error_type);
                out.str(&failure.error_message);
            }
        }
        assert!(
            out.0.len() <= ASYNC_EVENT_HEADER_BYTES_MAX,
            "the header of event {} is {} bytes",
            self.request_id,
            out.0.len()
        );
        out.0.extend_from_slice(&self.payload);
        out.0
    }

    /// Reads a stored event; `None` if the bytes are not one.
    pub(super) fn decode(bytes: &[u8]) -> Option<StoredEvent> {
        let (event, payload_start) = StoredEvent::decode_header(bytes)?;
        Some(StoredEvent {
            payload: Bytes::copy_from_slice(&bytes[payload_start..]),
            ..event
        })
    }

    /// Reads everything but the payload (which is left empty) and says where the payload
    /// starts.
    pub(super) fn decode_header(bytes: &[u8]) -> Option<(StoredEvent, usize)> {
        let mut input = Reader(bytes);
        if input.u8()? != VERSION {
            return None;
        }
        let enqueued_ms = input.u64()?;
        let due_ms = input.u64()?;
        let invocations = input.u32()?;
        let failures = input.u32()?;
        let throttles = input.u32()?;
        let request_id = input.str()?;
        let function = input.str()?;
        let settings = EventInvokeSpec {
            maximum_retry_attempts: input.u32()?,
            maximum_event_age_s: input.u32()?,
            on_failure: destination(&input.str()?)?,
            on_success: destination(&input.str()?)?,
        };
        let last_failure = match input.u8()? {
            0 => None,
            1 => Some(Failure {
                kind: FailureKind::from_code(input.u8()?)?,
                error_type: input.str()?,
                error_message: input.str()?,
            }),
            _ => return None,
        };
        let event = StoredEvent {
            request_id,
            function,
            enqueued_ms,
            due_ms,
            invocations,
            failures,
            throttles,
            settings,
            last_failure,
            payload: Bytes::new(),
        };
        Some((event, bytes.len() - input.0.len()))
    }
}

impl OutboxEntry {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Writer(Vec::with_capacity(64 + self.record.len()));
        out.u8(VERSION);
        out.str(&self.function);
        out.str(&self.table);
        out.str(&self.condition);
        out.0.extend_from_slice(&self.record);
        out.0
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<OutboxEntry> {
        let mut input = Reader(bytes);
        if input.u8()? != VERSION {
            return None;
        }
        Some(OutboxEntry {
            function: input.str()?,
            table: input.str()?,
            condition: input.str()?,
            record: Bytes::copy_from_slice(input.0),
        })
    }
}

/// `table:NAME` or `queue:NAME`, or empty for none.
fn destination_text(destination: Option<&TriggerSource>) -> String {
    match destination {
        None => String::new(),
        Some(TriggerSource::Table(name)) => format!("table:{name}"),
        Some(TriggerSource::Queue(name)) => format!("queue:{name}"),
    }
}

/// Reads what [`destination_text`] wrote; `None` (outer) if it is neither.
fn destination(text: &str) -> Option<Option<TriggerSource>> {
    if text.is_empty() {
        return Some(None);
    }
    match text.split_once(':')? {
        ("table", name) => Some(Some(TriggerSource::Table(name.to_owned()))),
        ("queue", name) => Some(Some(TriggerSource::Queue(name.to_owned()))),
        _ => None,
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    fn str(&mut self, text: &str) {
        let len = u32::try_from(text.len()).expect("stored texts are cut far below 4 GiB");
        self.u32(len);
        self.0.extend_from_slice(text.as_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[byte]| byte)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }

    fn str(&mut self) -> Option<String> {
        let len = usize::try_from(self.u32()?).ok()?;
        if len > self.0.len() {
            return None;
        }
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(text.to_vec()).ok()
    }
}
