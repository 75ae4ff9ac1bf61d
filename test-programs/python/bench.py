"""The Python handler of `cargo xtask bench lambda`: answers at once.

It imports boto3 at module level, as a typical Lambda handler does, so its cold start is compared
with `python3 -c "import awslambdaric, boto3"`.
"""

import boto3  # noqa: F401  (imported for its start-up cost, as real handlers do)


def handler(event, context):
    return {"pong": True}
