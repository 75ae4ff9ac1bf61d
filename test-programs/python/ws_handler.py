"""Lambda handlers for an API Gateway WebSocket API, written exactly as for AWS Lambda.

The end-to-end suite routes `$connect` to `connect`, `$disconnect` to `disconnect`, and
`$default` and the custom route keys to `route`. Functions push to clients through the
`apigatewaymanagementapi` client; rondo sets `AWS_ENDPOINT_URL`, so it needs no endpoint here.

- `connect`: refuses with `{"statusCode": 403}` when the query string has `deny`, raises when it
  has `fail`; otherwise records the event into the table `TABLE_NAME` and accepts, with
  `{"statusCode": 200}`, or with an answer that has no status code when the query has `nostatus`.
- `disconnect`: records the event into the table.
- `route`, by the event's route key:
  - `echo`: posts the message's body back to the sender, unchanged.
  - `$default`: posts `{"default": body, "isBase64Encoded": ...}` back.
  - `gone`: posts to the connection `target` of the message (a made-up id without one) and
    reports what the management API answered: `{"gone": target, "error": code, "status": n}`.
  - `fail`: raises.
  - any other key: posts `{"route": key, "event": event}` back (the whole event).
  Every route answers with a body that API Gateway does not send to the client (there are no
  route responses), so a client that receives it shows a fault.

Recorded events are items `{connectionId, eventType, event}`, the event as JSON text.
"""

import json
import os

import boto3

# Created once per execution environment, at init, as Lambda's best practices say.
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
management = boto3.client("apigatewaymanagementapi")

# A well-formed connection id (16 characters of base64 ending in `=`) that no connection has.
MADE_UP_CONNECTION_ID = "bm90LWEtY29ubiE="


# What every route answers: not for the client.
ROUTE_ANSWER = "a route's answer, which is not sent to the client"


class TestError(Exception):
    """What the failing handlers raise."""


def connect(event, context):
    query = event.get("queryStringParameters") or {}
    if "deny" in query:
        return {"statusCode": 403}
    if "fail" in query:
        raise TestError("asked to fail at $connect")
    record(event)
    if "nostatus" in query:
        return {"body": "accepted without a status code"}
    return {"statusCode": 200}


def disconnect(event, context):
    record(event)
    return {"statusCode": 200}


def route(event, context):
    request = event["requestContext"]
    route_key = request["routeKey"]
    sender = request["connectionId"]
    body = event.get("body")
    if route_key == "echo":
        post(sender, body)
    elif route_key == "$default":
        post(sender, json.dumps({"default": body, "isBase64Encoded": event["isBase64Encoded"]}))
    elif route_key == "gone":
        target = json.loads(body).get("target", MADE_UP_CONNECTION_ID)
        post(sender, json.dumps(post_to_gone(target)))
    elif route_key == "fail":
        raise TestError("asked to fail at " + route_key)
    else:
        post(sender, json.dumps({"route": route_key, "event": event}))
    return {"statusCode": 200, "body": ROUTE_ANSWER}


def post_to_gone(target):
    """Posts to `target`, which should be gone, and says how the management API refused."""
    try:
        management.post_to_connection(ConnectionId=target, Data=b"are you there?")
    except management.exceptions.GoneException as gone:
        return {
            "gone": target,
            "error": gone.response["Error"]["Code"],
            "status": gone.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    return {"gone": target, "error": None, "status": 200}


def post(connection_id, data):
    management.post_to_connection(ConnectionId=connection_id, Data=data.encode())


def record(event):
    request = event["requestContext"]
    table.put_item(
        Item={
            "connectionId": request["connectionId"],
            "eventType": request["eventType"],
            "event": json.dumps(event),
        }
    )
