"""cart-status: keeps every open page of a cart told of the cart's count.

One handler for four kinds of event, as deployed to AWS Lambda:

- WebSocket $connect on /ws?cartId=c1: remembers the connection in the connections table.
  A missing or invalid cartId answers status 400, which refuses the upgrade.
- WebSocket $disconnect: forgets the connection.
- WebSocket message {"action": "status"} (route "status"): pushes the cart's current
  {"cartId": ..., "count": ...} to that connection, so a page that (re)connects is up to date.
- A batch of the carts table's DynamoDB stream records: for each cart the batch changed, pushes
  the new count to each of the cart's connections (found through the by-cart index).

Pushes go through API Gateway's management API (PostToConnection). On AWS, set
CONNECTIONS_ENDPOINT to https://{api-id}.execute-api.{region}.amazonaws.com/{stage}; under
rondo leave it unset, and boto3 uses AWS_ENDPOINT_URL, rondo's AWS endpoint, which serves
/@connections. A connection that is gone (GoneException, a closed tab) is forgotten; other
failed pushes are logged and skipped, so one slow client never holds up the rest.
"""

import json
import os

import boto3
import botocore.exceptions

import cart

# Created once per execution environment, at init.
dynamodb = boto3.resource("dynamodb")
carts = dynamodb.Table(os.environ.get("CARTS_TABLE", "carts"))
connections = dynamodb.Table(os.environ.get("CONNECTIONS_TABLE", "cart-connections"))
CONNECTIONS_BY_CART_INDEX = os.environ.get("CONNECTIONS_BY_CART_INDEX", "by-cart")
management = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ.get("CONNECTIONS_ENDPOINT"))


class UnknownRoute(Exception):
    """A WebSocket message on a route this function does not handle."""


def handler(event, context):
    if "Records" in event:
        for cart_id in cart.changed_cart_ids(event["Records"]):
            count = cart.total(cart.read_cart(carts, cart_id))
            for connection_id in connections_of(cart_id):
                push(connection_id, cart_id, count)
        return {}

    request_context = event["requestContext"]
    event_type = request_context["eventType"]
    connection_id = request_context["connectionId"]
    if event_type == "CONNECT":
        return connect(connection_id, event.get("queryStringParameters") or {})
    if event_type == "DISCONNECT":
        forget(connection_id)
        return {"statusCode": 200}
    if event_type == "MESSAGE" and request_context["routeKey"] == "status":
        cart_id = watched_cart(connection_id)
        if cart_id is None:
            print(f"{connection_id} asked for a status but watches no cart")
        else:
            push(connection_id, cart_id, cart.total(cart.read_cart(carts, cart_id)))
        return {"statusCode": 200}
    raise UnknownRoute(f"no handling for the route {json.dumps(request_context['routeKey'])}")


def connect(connection_id, query):
    if "cartId" not in query:
        refusal = "cartId is missing from the query string"
    else:
        try:
            cart_id = cart.check_cart_id(query["cartId"])
        except cart.BadRequest as error:
            refusal = str(error)
        else:
            connections.put_item(Item={"connectionId": connection_id, "cartId": cart_id})
            print(f"{connection_id} watches cart {cart_id}")
            return {"statusCode": 200}
    print(f"refusing {connection_id}: {refusal}")
    return {"statusCode": 400, "body": refusal}


def watched_cart(connection_id):
    """The cart a connection watches, or None for a connection the table does not know."""
    item = connections.get_item(Key={"connectionId": connection_id}, ConsistentRead=True).get("Item")
    return None if item is None else item.get("cartId")


def connections_of(cart_id):
    """The ids of the connections watching the cart, through the by-cart index, page by page."""
    query = {
        "IndexName": CONNECTIONS_BY_CART_INDEX,
        "KeyConditionExpression": "cartId = :cartId",
        "ExpressionAttributeValues": {":cartId": cart_id},
    }
    connection_ids = []
    while True:
        page = connections.query(**query)
        connection_ids.extend(item["connectionId"] for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return connection_ids
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def push(connection_id, cart_id, count):
    """Pushes {"cartId": ..., "count": ...} to one connection; forgets it if it is gone."""
    message = json.dumps({"cartId": cart_id, "count": count}).encode()
    try:
        management.post_to_connection(ConnectionId=connection_id, Data=message)
    except management.exceptions.GoneException:
        print(f"{connection_id} is gone; forgetting it")
        forget(connection_id)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        print(f"push to {connection_id} failed: {error}")


def forget(connection_id):
    """Deletes the connection's item; forgetting a connection twice is harmless."""
    connections.delete_item(Key={"connectionId": connection_id})
