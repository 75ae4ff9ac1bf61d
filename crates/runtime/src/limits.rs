//! Every limit the runtime enforces, in one place, with units in the names.

/// Largest memory a wasm function may declare (a wasm32 linear memory cannot grow past 4 GiB).
pub const WASM_MEMORY_MB_MAX: u32 = 4096;

/// Instances that may be alive at once across the node (the pooling allocator's slots).
/// Over it, an invocation is refused as throttled rather than queued without bound.
pub const INSTANCES_MAX: u32 = 1000;

/// Core wasm instances per component instance (a Rust `wasm32-wasip2` component has a handful).
pub const CORE_INSTANCES_PER_COMPONENT_MAX: u32 = 32;

/// Linear memories and tables per component instance.
pub const MEMORIES_PER_COMPONENT_MAX: u32 = 4;
pub const TABLES_PER_COMPONENT_MAX: u32 = 8;

/// Instances whose memory is returned to the kernel together. Measured on the 2-core machine
/// (docs/benchmarks.md): 64 gave the best throughput; 1 (no batching) costs about 20%.
pub const DECOMMIT_BATCH_SIZE: usize = 64;

/// Elements a single wasm table may grow to.
pub const TABLE_ELEMENTS_MAX: usize = 100_000;

/// Bytes of log output (stdout, stderr and the `log` import together) kept per invocation;
/// past it the rest is dropped and one truncation line says so.
pub const INVOCATION_LOG_BYTES_MAX: usize = 256 * 1024;

/// Longest line of stdout or stderr output: a longer line (or output that never ends its line)
/// is cut into lines of at most this many bytes, so unterminated output held while it waits for
/// its newline stays bounded. Shared by wasm and process functions.
pub const LOG_LINE_BYTES_MAX: usize = 64 * 1024;

/// Resolution of timeouts: the engine's epoch advances this often while any invocation runs.
pub const EPOCH_TICK_MS: u64 = 1;

/// Extra time granted to the host side of an invocation past its timeout before it is abandoned
/// (covers guests blocked in a host call, where epoch interruption cannot reach them).
pub const TIMEOUT_GRACE_MS: u64 = 50;

/// Largest function response (Lambda's synchronous response limit).
pub const RESPONSE_BYTES_MAX: usize = 6 * 1024 * 1024;

/// Largest request a guest may pass to the `tables` import: DynamoDB's own request maximum
/// (BatchWriteItem and BatchGetItem take at most 16 MB).
pub const TABLES_REQUEST_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Largest response the `tables` import hands back to a guest. DynamoDB's largest answers carry
/// 16 MB of item data (BatchGetItem); their JSON text is bigger (type tags, quoting, base64 for
/// binary values grows by a third), so the cap leaves half as much again.
pub const TABLES_RESPONSE_BYTES_MAX: usize = 24 * 1024 * 1024;

/// Largest message a guest may post to a WebSocket connection through the `connections` import:
/// API Gateway's WebSocket message payload limit (128 KB). Larger ones are refused before they
/// reach the connection service (`payload-too-large`).
pub const CONNECTIONS_MESSAGE_BYTES_MAX: usize = 128 * 1024;

/// Longest connection id the `connections` import passes on. No connection has a longer id, so a
/// longer one answers `gone` without asking the connection service.
pub const CONNECTION_ID_BYTES_MAX: usize = 128;

/// Size of the wasm stack and of the host fiber stack that runs it.
pub const WASM_STACK_BYTES_MAX: usize = 512 * 1024;
pub const ASYNC_STACK_BYTES: usize = 2 * 1024 * 1024;

// How the limits relate, checked at compile time.
const _: () = assert!(
    WASM_STACK_BYTES_MAX < ASYNC_STACK_BYTES,
    "the fiber stack must hold the wasm stack"
);
const _: () = assert!(
    WASM_MEMORY_MB_MAX as u64 * 1024 * 1024 <= 1 << 32,
    "a wasm32 memory is at most 4 GiB"
);
const _: () = assert!(TIMEOUT_GRACE_MS >= 10 * EPOCH_TICK_MS);
const _: () = assert!(
    DECOMMIT_BATCH_SIZE < INSTANCES_MAX as usize,
    "a batch never holds every slot"
);
const _: () = assert!(INVOCATION_LOG_BYTES_MAX < RESPONSE_BYTES_MAX);
const _: () = assert!(
    LOG_LINE_BYTES_MAX <= INVOCATION_LOG_BYTES_MAX,
    "a whole line fits in an invocation's log"
);
const _: () = assert!(
    TABLES_REQUEST_BYTES_MAX <= TABLES_RESPONSE_BYTES_MAX,
    "a response holds the 16 MB of item data a BatchGetItem may answer"
);
const _: () = assert!(
    (TABLES_RESPONSE_BYTES_MAX as u64) < WASM_MEMORY_MB_MAX as u64 * 1024 * 1024,
    "a tables response fits in a guest's memory"
);
const _: () = assert!(
    CONNECTIONS_MESSAGE_BYTES_MAX < RESPONSE_BYTES_MAX,
    "a WebSocket message is smaller than a synchronous response"
);
