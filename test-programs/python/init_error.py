"""A Lambda handler module that fails while it is imported (Lambda's init phase): the
environment never serves an invocation, and each invocation reports `InitFailure`."""


class InitFailure(Exception):
    """Raised at import; Lambda reports the class name as `errorType`."""


raise InitFailure("failed at import")


def handler(event, context):
    return {"unreachable": True}
