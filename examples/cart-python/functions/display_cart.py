"""display-cart: GET /carts/{cartId} answers the cart's lines and total:
{"cartId": "c1", "items": [{"itemId": "tea", "quantity": 2}], "count": 2}.

An API Gateway HTTP API (payload format 2.0) handler, as deployed to AWS Lambda.
An unknown cart is an empty cart: "items": [] and "count": 0.
"""

import os

import boto3

import cart

# Created once per execution environment, at init.
carts = boto3.resource("dynamodb").Table(os.environ.get("CARTS_TABLE", "carts"))


def handler(event, context):
    try:
        cart_id = cart.check_cart_id((event.get("pathParameters") or {}).get("cartId", ""))
    except cart.BadRequest as error:
        return cart.bad_request(error)
    lines = cart.read_cart(carts, cart_id)
    return cart.json_response(200, {"cartId": cart_id, "items": lines, "count": cart.total(lines)})
