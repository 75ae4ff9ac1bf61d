"""Lambda handlers, written exactly as for AWS Lambda's Python runtime, that misbehave on request.

The end-to-end suite declares each handler as its own process function
(`runtime = "python3"`, `handler = "faults.<name>"`) and drives it through a gateway route,
`rondo invoke` and the Lambda Invoke API.

- `echo`: the event and the context's fields, the process id and how many invocations this
  process has run (a warm environment counts on).
- `sleep`: sleeps `ms` milliseconds (default 60000) and answers `{"slept_ms": ms}`.
- `error`: raises `TestError("asked to fail")`.
- `crash`: ends the process at once (`os._exit(1)`) without answering.
- `log`: prints one line to stdout and one to stderr, logs one line through `logging`,
  and answers `{"logged": 3}`.
"""

import logging
import os
import sys
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# Invocations this process has run: module state lives as long as the execution environment.
invocations = 0

SLEEP_MS_DEFAULT = 60_000


class TestError(Exception):
    """The error the `error` handler raises; Lambda reports its class name as `errorType`."""


def echo(event, context):
    global invocations
    invocations += 1
    return {
        "event": event,
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "functionVersion": context.function_version,
        "memoryMb": int(context.memory_limit_in_mb),
        "remainingMs": context.get_remaining_time_in_millis(),
        "invokedFunctionArn": context.invoked_function_arn,
        "env": dict(os.environ),
        "pid": os.getpid(),
        "invocations": invocations,
    }


def sleep(event, context):
    ms = int(param(event, "ms") or SLEEP_MS_DEFAULT)
    time.sleep(ms / 1000)
    return {"slept_ms": ms}


def error(event, context):
    raise TestError("asked to fail")


def crash(event, context):
    os._exit(1)


def log(event, context):
    print(f"stdout line {context.aws_request_id}")
    print(f"stderr line {context.aws_request_id}", file=sys.stderr)
    logger.info("logging line %s", context.aws_request_id)
    return {"logged": 3}


def param(event, name):
    """A top-level field, or a query string parameter of an API Gateway event."""
    if name in event:
        return event[name]
    return (event.get("queryStringParameters") or {}).get(name)
