//! The invocation's [`Context`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bindings::rondo::function::types::Context as WitContext;

/// What the platform tells a handler about the invocation it runs; mirrors Lambda's context object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    request_id: String,
    function_name: String,
    function_version: String,
    invoked_function_arn: String,
    memory_limit_mb: u32,
    deadline_ms: u64,
}

impl Context {
    /// A context for calling a handler directly in a host unit test: request id `test-request`,
    /// version `$LATEST`, 128 MiB, and a deadline three seconds from now.
    pub fn for_tests(function_name: &str) -> Context {
        let deadline_ms = now_ms().saturating_add(3_000);
        Context {
            request_id: "test-request".to_owned(),
            function_name: function_name.to_owned(),
            function_version: "$LATEST".to_owned(),
            invoked_function_arn: format!(
                "arn:rondo:lambda:local:000000000000:function:{function_name}"
            ),
            memory_limit_mb: 128,
            deadline_ms,
        }
    }

    pub(crate) fn from_wit(context: WitContext) -> Context {
        Context {
            request_id: context.request_id,
            function_name: context.function_name,
            function_version: context.function_version,
            invoked_function_arn: context.invoked_function_arn,
            memory_limit_mb: context.memory_limit_mb,
            deadline_ms: context.deadline_ms,
        }
    }

    /// The unique id of this invocation (Lambda's `awsRequestId`).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The function's name as declared in the manifest.
    pub fn function_name(&self) -> &str {
        &self.function_name
    }

    /// The function's version: the content hash of its code and configuration.
    pub fn function_version(&self) -> &str {
        &self.function_version
    }

    /// The ARN-like identifier of the invoked function.
    pub fn invoked_function_arn(&self) -> &str {
        &self.invoked_function_arn
    }

    /// The memory limit of this instance, in MiB.
    pub fn memory_limit_mb(&self) -> u32 {
        self.memory_limit_mb
    }

    /// The invocation's deadline, in milliseconds since the Unix epoch.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// The invocation's deadline as a wall-clock time.
    pub fn deadline(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.deadline_ms)
    }

    /// Milliseconds left before the platform stops this invocation; 0 once the deadline has passed.
    pub fn remaining_time_ms(&self) -> u64 {
        self.deadline_ms.saturating_sub(now_ms())
    }
}

fn now_ms() -> u64 {
    // A clock before 1970 reads as the epoch: the remaining time is then overestimated, never negative.
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}
