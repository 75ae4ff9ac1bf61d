"""add-to-cart: POST /carts/{cartId}/items with {"itemId": "tea", "quantity": 2} puts two more
teas in the cart and answers {"cartId": ..., "count": ...}, the cart's new total.

An API Gateway HTTP API (payload format 2.0) handler, as deployed to AWS Lambda.
The write is one UpdateItem with ADD, so two adds of the same item at once both count.
A request that breaks a rule gets 400 {"message": ...} naming the field, and nothing is written.
"""

import os

import boto3

import cart

# Created once per execution environment, at init.
carts = boto3.resource("dynamodb").Table(os.environ.get("CARTS_TABLE", "carts"))


def handler(event, context):
    try:
        cart_id, item_id, quantity = cart.parse_add(event)
    except cart.BadRequest as error:
        return cart.bad_request(error)
    carts.update_item(
        Key={"cartId": cart_id, "itemId": item_id},
        UpdateExpression="ADD quantity :q",
        ExpressionAttributeValues={":q": quantity},
    )
    count = cart.total(cart.read_cart(carts, cart_id))
    print(f"cart {cart_id}: +{quantity} {item_id}, {count} in all")
    return cart.json_response(200, {"cartId": cart_id, "count": count})
