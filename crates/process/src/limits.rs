//! Every limit the process runtime enforces, in one place, with units in the names.

pub use runtime::limits::{INVOCATION_LOG_BYTES_MAX, LOG_LINE_BYTES_MAX, RESPONSE_BYTES_MAX};

/// Lambda's memory range for functions, in MB.
pub const MEMORY_MB_MIN: u32 = 128;
pub const MEMORY_MB_MAX: u32 = 10_240;

/// How long an environment may take from spawn to its first `next` (Lambda's init phase limit).
pub const INIT_TIMEOUT_MS: u64 = 10_000;

/// Largest body a runtime may post to `/error` or `/init/error`: an error object with a stack trace.
pub const ERROR_BODY_BYTES_MAX: usize = 1024 * 1024;

/// Characters of an error message kept when a runtime posts an error that is not Lambda's JSON shape.
pub const ERROR_MESSAGE_CHARS_MAX: usize = 4096;

/// Execution environments one function may have at once (a safety cap, not a scaling policy):
/// over it an invocation is throttled.
pub const ENVIRONMENTS_PER_FUNCTION_MAX: u32 = 64;

/// How often the memory watchdog samples the environment's resident memory while an invocation
/// (or an init) runs. Invocations shorter than this are checked once, at their end.
pub const MEMORY_POLL_INTERVAL_MS: u64 = 10;

/// Address space an environment may map beyond its memory size (the `RLIMIT_AS` backstop).
/// Runtimes map far more than they touch: Python with boto3 imported maps about 56 MB, but
/// every thread that allocates gets a glibc malloc arena reserving 64 MB, and a thread stack
/// 8 MB; a tokio runtime has a thread per core. The backstop only stops runaway mappings; the
/// resident limit is the watchdog's (or the cgroup's).
pub const ADDRESS_SPACE_HEADROOM_MB: u64 = 2048;

/// Multiple of the memory size in the address-space limit, on top of the headroom:
/// `memory_mb * ADDRESS_SPACE_MEMORY_FACTOR + ADDRESS_SPACE_HEADROOM_MB`.
pub const ADDRESS_SPACE_MEMORY_FACTOR: u64 = 4;

/// How long a failed environment's output is awaited after its process group was killed, so a
/// crash's last words reach the invocation's log.
pub const LOG_DRAIN_TIMEOUT_MS: u64 = 200;

/// How long installing the runtime tools (`pip install`) may take.
pub const TOOLS_INSTALL_TIMEOUT_MS: u64 = 300_000;

/// Lines of a failed tool install's output quoted in the load error.
pub const TOOLS_INSTALL_ERROR_LINES_MAX: usize = 15;

/// How long asking `python3` for its version and path may take.
pub const PYTHON_PROBE_TIMEOUT_MS: u64 = 10_000;

// How the limits relate, checked at compile time.
const _: () = assert!(MEMORY_MB_MIN <= MEMORY_MB_MAX);
const _: () = assert!(ERROR_BODY_BYTES_MAX < RESPONSE_BYTES_MAX);
const _: () = assert!(
    ERROR_MESSAGE_CHARS_MAX * 4 <= ERROR_BODY_BYTES_MAX,
    "a kept message fits in an error body"
);
const _: () = assert!(
    MEMORY_POLL_INTERVAL_MS * 10 <= INIT_TIMEOUT_MS,
    "the watchdog samples an init many times"
);
const _: () = assert!(LOG_DRAIN_TIMEOUT_MS < INIT_TIMEOUT_MS);
const _: () = assert!(PYTHON_PROBE_TIMEOUT_MS < TOOLS_INSTALL_TIMEOUT_MS);
const _: () = assert!(
    ADDRESS_SPACE_MEMORY_FACTOR >= 2 && ADDRESS_SPACE_HEADROOM_MB >= 16 * MEMORY_MB_MIN as u64,
    "the backstop leaves room for mappings that are never touched"
);

/// Lambda's default and range for a function's `/tmp` (`ephemeral_storage_mb`), in MB.
pub const EPHEMERAL_STORAGE_MB_DEFAULT: u32 = 512;
pub const EPHEMERAL_STORAGE_MB_MIN: u32 = 512;
pub const EPHEMERAL_STORAGE_MB_MAX: u32 = 10_240;

/// Processes and threads one sandboxed environment may have at once (Lambda's limit, 1,024):
/// a fork bomb stops there.
pub const SANDBOX_PROCESSES_MAX: u32 = 1024;

/// File descriptors one sandboxed process may have open (Lambda's limit, 1,024).
pub const SANDBOX_OPEN_FILES_MAX: u32 = 1024;

/// The first user id sandboxed environments run as, and how many there are: each running
/// environment has one of its own, far from the ids of the host's accounts (and below 2^31: the
/// kernel refuses larger ids in a user namespace's map).
pub const SANDBOX_UID_FIRST: u32 = 2_000_000_000;
pub const SANDBOX_UIDS: u32 = 65_536;

/// The port of the Runtime API inside a sandbox with a network of its own (Lambda's).
pub const SANDBOX_RUNTIME_API_PORT: u16 = 9001;

/// Connections one sandboxed environment may have open to rondo's AWS endpoint at once.
pub const SANDBOX_AWS_CONNECTIONS_MAX: usize = 256;

/// How long the check that the host can run sandboxes (one empty sandbox, at the first load) may take.
pub const SANDBOX_PROBE_TIMEOUT_MS: u64 = 10_000;

const _: () = assert!(
    EPHEMERAL_STORAGE_MB_MIN <= EPHEMERAL_STORAGE_MB_DEFAULT
        && EPHEMERAL_STORAGE_MB_DEFAULT <= EPHEMERAL_STORAGE_MB_MAX
);
const _: () = assert!(
    SANDBOX_UID_FIRST as u64 + SANDBOX_UIDS as u64 <= i32::MAX as u64,
    "every sandbox uid can be mapped in a user namespace"
);
const _: () = assert!(
    SANDBOX_UIDS >= ENVIRONMENTS_PER_FUNCTION_MAX * 64,
    "enough uids for many functions' environments"
);
