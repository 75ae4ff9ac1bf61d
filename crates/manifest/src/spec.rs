//! The typed, validated and normalised app model (`AppSpec`).
//!
//! Only this model reaches the rest of rondo; the raw TOML shapes stay inside the crate.
//! Every default is already applied here, and every path is absolute.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::Diagnostic;
use crate::route::RouteKey;

/// Everything declared in one `rondo.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    pub name: String,
    /// The directory holding the manifest; relative paths in it were resolved against it.
    pub dir: PathBuf,
    /// Keyed by function name.
    pub functions: BTreeMap<String, FunctionSpec>,
    /// In declaration order.
    pub routes: Vec<RouteSpec>,
    /// Keyed by table name.
    pub tables: BTreeMap<String, TableSpec>,
    /// In declaration order.
    pub triggers: Vec<TriggerSpec>,
    pub websocket: Option<WebSocketSpec>,
    /// Keyed by queue name. Queues do nothing yet: each one declared is a warning.
    pub queues: BTreeMap<String, QueueSpec>,
    /// Keyed by schedule name. Always empty for now: `parse` refuses schedules until they run.
    pub schedules: BTreeMap<String, ScheduleSpec>,
    /// Static files served by the gateway.
    pub static_files: Option<StaticFilesSpec>,
    pub billing: BillingSpec,
    pub limits: AppLimits,
    /// What the manifest declares that loads but is not acted on yet, in file order, each as
    /// `rondo.toml:LINE:COLUMN: CONTEXT: MESSAGE`. The caller shows them at every load
    /// (`rondo dev` prints `warning: ` and the line); they change nothing else.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub name: String,
    pub code: FunctionCode,
    /// 1..=4096 for wasm functions (a wasm32 memory cannot be larger), 128..=10240 for processes.
    pub memory_mb: u32,
    /// 1..=900_000, default 3000.
    pub timeout_ms: u32,
    /// The function's environment variables (also its `config` for wasm functions).
    pub environment: BTreeMap<String, String>,
    /// Outbound HTTP destinations the function may call, as `scheme://host[:port]`
    /// (`*` allowed as the whole host or as its first label). Empty: no outbound network.
    /// A process function's network is all or nothing: `["*"]` (the host's network) or empty.
    pub allowed_outbound_hosts: Vec<String>,
    /// The size of a process function's `/tmp` in MB (512..=10240, default 512, as Lambda's
    /// ephemeral storage); wasm functions have no filesystem.
    pub ephemeral_storage_mb: u32,
    /// Lambda's reserved concurrency: at most this many invocations at once. `None`: the node-wide pool.
    pub reserved_concurrency: Option<u32>,
    /// How asynchronous invocations (`InvocationType: Event`) are retried and where their
    /// outcomes go (`[function.NAME.async]`).
    pub event_invoke: EventInvokeSpec,
}

/// Lambda's `FunctionEventInvokeConfig`: what happens to a function's asynchronous invocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInvokeSpec {
    /// Retries after a function error: 0..=2, default 2.
    pub maximum_retry_attempts: u32,
    /// An event older than this is given up: 60..=21_600 seconds, default 21_600 (6 hours).
    pub maximum_event_age_s: u32,
    /// The `table:NAME` receiving the invocation record of events given up (no queues yet).
    pub on_failure: Option<TriggerSource>,
    /// The `table:NAME` receiving the invocation record of events that succeeded (no queues yet).
    pub on_success: Option<TriggerSource>,
}

impl EventInvokeSpec {
    /// Lambda's defaults: two retries, events kept up to six hours, no destinations.
    pub const DEFAULT: EventInvokeSpec = EventInvokeSpec {
        maximum_retry_attempts: 2,
        maximum_event_age_s: 21_600,
        on_failure: None,
        on_success: None,
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionCode {
    /// A WebAssembly component: either the handler world or a `wasi:http` proxy; told apart when loaded.
    Wasm { path: PathBuf },
    /// A native process speaking the Lambda Runtime API.
    Process {
        runtime: ProcessRuntime,
        /// The folder holding the code (Lambda's deployment package, unpacked).
        dir: PathBuf,
        /// `module.function` for interpreted runtimes; `None` for `provided`.
        handler: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRuntime {
    /// An executable named `bootstrap` in the code folder.
    Provided,
    Python3,
    Nodejs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub key: RouteKey,
    /// The route key as written, e.g. `GET /hello/{name}` (it is the event's `routeKey`).
    pub key_text: String,
    pub function: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub name: String,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    pub global_secondary_indexes: Vec<IndexSpec>,
    pub local_secondary_indexes: Vec<IndexSpec>,
    pub stream: Option<StreamViewType>,
    /// The attribute holding an item's expiry time (seconds since the epoch).
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub kind: KeyType,
}

/// A key attribute's scalar type, as DynamoDB names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    S,
    N,
    B,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    pub projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamViewType {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

/// An event-source mapping from a table stream or a queue to a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerSpec {
    pub source: TriggerSource,
    pub function: String,
    /// 1..=10_000, default 100 (Lambda's default for streams; 10 for queues).
    pub batch_size: u32,
    /// 0..=300_000, default 0.
    pub batching_window_ms: u32,
    pub starting_position: StartingPosition,
    /// `None`: retry until the record expires (Lambda's default; rondo warns at load).
    pub maximum_retry_attempts: Option<u32>,
    /// `None`: until the record leaves the stream.
    pub maximum_record_age_s: Option<u32>,
    pub bisect_batch_on_function_error: bool,
    /// 1..=10, default 1.
    pub parallelization_factor: u32,
    pub report_batch_item_failures: bool,
    /// EventBridge-style patterns as JSON text; a record is delivered if any matches.
    pub filter_patterns: Vec<String>,
    /// The `table:NAME` receiving the metadata of batches that failed for good (no queues yet).
    pub on_failure: Option<TriggerSource>,
}

/// A trigger's source, or a destination of failed batches or asynchronous outcomes.
///
/// `parse` refuses `queue:NAME` in every one of these places until queues are built, so an
/// `AppSpec` holds only `Table` today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerSource {
    Table(String),
    Queue(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketSpec {
    /// The path clients connect to, e.g. `/ws`.
    pub path: String,
    /// E.g. `$request.body.action`.
    pub route_selection_expression: String,
    /// Route key (`$connect`, `$disconnect`, `$default` or a custom key) → function name.
    pub routes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    /// 0..=43_200, default 30.
    pub visibility_timeout_s: u32,
    /// 60..=1_209_600, default 345_600 (4 days).
    pub message_retention_s: u32,
    /// After this many receives a message moves to `dead_letter_queue`.
    pub max_receive_count: Option<u32>,
    pub dead_letter_queue: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub name: String,
    /// `rate(5 minutes)` or a six-field `cron(...)` expression, as EventBridge writes them (UTC).
    pub expression: String,
    pub function: String,
    /// The event's JSON text; default `{}`.
    pub input: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticFilesSpec {
    /// URL path prefix, default `/`.
    pub path: String,
    pub dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSpec {
    /// Billed duration is rounded up to a multiple of this: 1 (Lambda today) or 100 (classic). Default 1.
    pub granularity_ms: u32,
    /// Price per GB-second, in billionths of a dollar (default Lambda x86: 16_666.667 → 16_667).
    pub price_per_gb_second_nano_usd: u64,
    /// Price per request, in billionths of a dollar (default $0.20 per million → 200).
    pub price_per_request_nano_usd: u64,
}

/// App-wide limits; each has a documented default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLimits {
    /// Node-wide concurrent invocations (Lambda's account concurrency). Default 1000.
    pub concurrency_max: u32,
    /// Largest request body the gateway accepts. Default 10 MiB (API Gateway).
    pub request_body_bytes_max: u64,
    /// Largest function response. Default 6 MiB (Lambda synchronous).
    pub response_bytes_max: u64,
    /// How long a synchronous invocation over a concurrency limit waits in its function's queue
    /// for a slot before it is refused (Lambda's `TooManyRequestsException`, the gateway's 429).
    /// 0..=10_000, default 100.
    pub throttle_wait_ms: u32,
    /// How many callers may wait for a slot of one function at once; more are refused at once.
    /// 0..=100_000, default 1000.
    pub throttle_queue_max: u32,
    /// How many instances (wasm instances or process execution environments) a function may add
    /// beyond its warm level every 10 seconds, refilled continuously (Lambda's scaling rate).
    /// 1..=1_000_000, default 1000.
    pub scale_up_per_10s: u32,
}
