"""What the cart's three handlers share: limits, checks, reading a cart, and responses.

Plain Python with no AWS calls of its own: the handlers pass in their boto3 tables.
The rules and messages are the same as examples/cart's Rust functions (examples/cart/shared).
"""

import base64
import json
import re
from decimal import Decimal

# The longest cart id, in characters.
CART_ID_CHARS_MAX = 128
# The longest item id, in characters.
ITEM_ID_CHARS_MAX = 128
# The most of one item a single add may put in the cart.
QUANTITY_PER_ADD_MAX = 1000
# The largest body POST /carts/{cartId}/items accepts, in bytes.
ADD_BODY_BYTES_MAX = 4096

_CART_ID_CHARACTER = re.compile(r"[A-Za-z0-9_-]")


class BadRequest(Exception):
    """A request that breaks a rule; its message is the 400's `message`."""


def check_cart_id(text):
    """Returns `text` if it is a valid cart id, else raises BadRequest saying why."""
    if not text:
        raise BadRequest("cartId must not be empty")
    if len(text) > CART_ID_CHARS_MAX:
        raise BadRequest(f"cartId must be at most {CART_ID_CHARS_MAX} characters, got {len(text)}")
    for character in text:
        if not _CART_ID_CHARACTER.fullmatch(character):
            raise BadRequest(f"cartId may hold only A-Z, a-z, 0-9, _ and -, got {_quote_char(character)}")
    return text


def parse_add(event):
    """The (cartId, itemId, quantity) of an API Gateway HTTP API event for
    POST /carts/{cartId}/items; raises BadRequest naming the first field that is wrong."""
    cart_id = check_cart_id((event.get("pathParameters") or {}).get("cartId", ""))
    not_an_object = BadRequest('the body must be a JSON object like {"itemId": "tea", "quantity": 1}')
    body = event.get("body") or ""
    try:
        body = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except ValueError:
        raise not_an_object from None
    if len(body) > ADD_BODY_BYTES_MAX:
        raise BadRequest(f"the body must be at most {ADD_BODY_BYTES_MAX} bytes, got {len(body)}")
    try:
        fields = json.loads(body, parse_constant=_refuse_constant)
    except ValueError:
        raise not_an_object from None
    if not isinstance(fields, dict):
        raise not_an_object

    item_id = fields.get("itemId")
    if not isinstance(item_id, str) or not item_id:
        raise BadRequest(_item_id_message(_describe(fields, "itemId")))
    if len(item_id) > ITEM_ID_CHARS_MAX:
        raise BadRequest(_item_id_message(f"{len(item_id)} characters"))

    quantity = fields.get("quantity")
    # bool is a subclass of int in Python; JSON's true is not a number.
    is_whole = isinstance(quantity, int) and not isinstance(quantity, bool)
    if not is_whole or not 1 <= quantity <= QUANTITY_PER_ADD_MAX:
        raise BadRequest(
            f"quantity must be a whole number from 1 to {QUANTITY_PER_ADD_MAX}, "
            f"got {_describe(fields, 'quantity')}"
        )
    return cart_id, item_id, quantity


def read_cart(carts, cart_id):
    """Every line of the cart as [{"itemId", "quantity"}], in itemId order, page by page.
    An unknown cart has none."""
    lines = []
    query = {
        "KeyConditionExpression": "cartId = :cartId",
        "ExpressionAttributeValues": {":cartId": cart_id},
        "ConsistentRead": True,
    }
    while True:
        page = carts.query(**query)
        for item in page.get("Items", []):
            line = line_from_item(item)
            if line is None:
                print(f"cart {cart_id}: skipping a line without itemId or a whole quantity: {item}")
            else:
                lines.append(line)
        if "LastEvaluatedKey" not in page:
            return lines
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def line_from_item(item):
    """The {"itemId", "quantity"} of an item of the carts table (as boto3's resource API gives
    it, numbers as Decimal), or None when it lacks a string itemId or a whole quantity >= 0."""
    item_id = item.get("itemId")
    quantity = item.get("quantity")
    if not isinstance(item_id, str) or not isinstance(quantity, Decimal):
        return None
    if quantity != quantity.to_integral_value() or quantity < 0:
        return None
    return {"itemId": item_id, "quantity": int(quantity)}


def total(lines):
    """The number of things in the cart: the sum of its lines' quantities."""
    return sum(line["quantity"] for line in lines)


def changed_cart_ids(records):
    """The valid cart ids a DynamoDB stream batch's records name, each once, in order."""
    cart_ids = []
    for record in records:
        cart_id = record.get("dynamodb", {}).get("Keys", {}).get("cartId", {}).get("S")
        try:
            check_cart_id(cart_id)
        except BadRequest as error:
            # No page can watch such a cart: $connect refuses its id.
            print(f"skipping a change: {error}")
            continue
        if cart_id not in cart_ids:
            cart_ids.append(cart_id)
    return cart_ids


def json_response(status_code, body):
    """An API Gateway HTTP API (payload 2.0) response with a JSON body."""
    return {
        "statusCode": status_code,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def bad_request(error):
    """API Gateway's error shape: status 400 and {"message": ...}."""
    return json_response(400, {"message": str(error)})


def _item_id_message(got):
    return f"itemId must be a non-empty string of at most {ITEM_ID_CHARS_MAX} characters, got {got}"


def _describe(fields, name):
    """A field's value as error messages show it: its JSON text, or `nothing` when missing."""
    if name not in fields:
        return "nothing"
    return json.dumps(fields[name], separators=(",", ":"), ensure_ascii=False)


def _quote_char(character):
    """A character quoted the way Rust's `{:?}` quotes it, so both variants say the same."""
    escapes = {"'": "\\'", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
    if character in escapes:
        return f"'{escapes[character]}'"
    if character.isprintable():
        return f"'{character}'"
    return "'\\u{" + format(ord(character), "x") + "}'"


def _refuse_constant(name):
    # Python's json accepts NaN and Infinity, which are not JSON.
    raise ValueError(f"{name} is not JSON")
