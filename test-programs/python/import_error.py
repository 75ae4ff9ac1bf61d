"""A Lambda handler module whose dependency is missing from the deployment package: importing it
fails, and Lambda reports `Runtime.ImportModuleError`."""

import rondo_missing_dependency  # noqa: F401  (missing on purpose)


def handler(event, context):
    return {"unreachable": True}
