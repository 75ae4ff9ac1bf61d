"""Unit tests of functions/cart.py, the handlers' shared checks; no AWS needed.

Run from the repository root: python3 -m unittest discover -s examples/cart-python/tests
The messages are the Rust variant's (examples/cart/functions/add-to-cart/src/tests.rs).
"""

import base64
import json
import os
import sys
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "functions"))

import cart  # noqa: E402


def add_event(cart_id, body, is_base64_encoded=False):
    return {
        "version": "2.0",
        "routeKey": "POST /carts/{cartId}/items",
        "rawPath": f"/carts/{cart_id}/items",
        "pathParameters": {"cartId": cart_id},
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }


class ParseAdd(unittest.TestCase):
    def check(self, cart_id, body, expect, is_base64_encoded=False):
        """expect: the 400's message, or the (cartId, itemId, quantity) parsed."""
        event = add_event(cart_id, body, is_base64_encoded)
        if isinstance(expect, tuple):
            self.assertEqual(cart.parse_add(event), expect)
            return
        with self.assertRaises(cart.BadRequest) as caught:
            cart.parse_add(event)
        self.assertEqual(str(caught.exception), expect)
        response = cart.bad_request(caught.exception)
        self.assertEqual(response["statusCode"], 400)
        self.assertEqual(json.loads(response["body"]), {"message": expect})

    def test_valid_adds(self):
        self.check("c1", '{"itemId": "tea", "quantity": 1}', ("c1", "tea", 1))
        self.check("c1", '{"itemId": "tea", "quantity": 1000}', ("c1", "tea", 1000))
        self.check("c1", '{"quantity": 2, "itemId": "caf\\u00e9", "note": "x"}', ("c1", "café", 2))
        longest = json.dumps({"itemId": "é" * 128, "quantity": 1})
        self.check("c" * 128, longest, ("c" * 128, "é" * 128, 1))
        encoded = base64.b64encode(b'{"itemId": "tea", "quantity": 3}').decode()
        self.check("c1", encoded, ("c1", "tea", 3), is_base64_encoded=True)

    def test_the_path_cart_id_is_checked_first(self):
        self.check("a b", "not even JSON", "cartId may hold only A-Z, a-z, 0-9, _ and -, got ' '")
        self.check("c" * 129, "{}", "cartId must be at most 128 characters, got 129")

    def test_the_body_must_be_a_small_json_object(self):
        message = 'the body must be a JSON object like {"itemId": "tea", "quantity": 1}'
        for body in [None, "", "itemId=tea", '[{"itemId": "tea", "quantity": 1}]', "null", "NaN"]:
            self.check("c1", body, message)
        self.check("c1", "not base64!", message, is_base64_encoded=True)
        megabyte = json.dumps({"itemId": "tea", "quantity": 1, "pad": "x" * (1 << 20)})
        self.check("c1", megabyte, f"the body must be at most 4096 bytes, got {len(megabyte)}")

    def test_item_id_must_be_a_short_non_empty_string(self):
        def message(got):
            return f"itemId must be a non-empty string of at most 128 characters, got {got}"

        self.check("c1", '{"quantity": 1}', message("nothing"))
        self.check("c1", '{"itemId": "", "quantity": 1}', message('""'))
        self.check("c1", '{"itemId": 7, "quantity": 1}', message("7"))
        self.check("c1", '{"itemId": null, "quantity": 1}', message("null"))
        self.check("c1", json.dumps({"itemId": "t" * 129, "quantity": 1}), message("129 characters"))

    def test_quantity_must_be_a_whole_number_in_range(self):
        def message(got):
            return f"quantity must be a whole number from 1 to 1000, got {got}"

        self.check("c1", '{"itemId": "tea"}', message("nothing"))
        for text in ["0", "-1", "1001", "1.5", "2.0", '"2"', "true", "[1]"]:
            self.check("c1", f'{{"itemId": "tea", "quantity": {text}}}', message(text))


class CartIds(unittest.TestCase):
    def test_rule(self):
        for valid in ["a", "Cart_42-b", "x" * 128]:
            self.assertEqual(cart.check_cart_id(valid), valid)
        cases = {
            "": "cartId must not be empty",
            "x" * 129: "cartId must be at most 128 characters, got 129",
            "café": "cartId may hold only A-Z, a-z, 0-9, _ and -, got 'é'",
            "a/b": "cartId may hold only A-Z, a-z, 0-9, _ and -, got '/'",
            "a'b": "cartId may hold only A-Z, a-z, 0-9, _ and -, got '\\''",
            "a\nb": "cartId may hold only A-Z, a-z, 0-9, _ and -, got '\\n'",
        }
        for text, message in cases.items():
            with self.assertRaises(cart.BadRequest) as caught:
                cart.check_cart_id(text)
            self.assertEqual(str(caught.exception), message)


class Lines(unittest.TestCase):
    def test_lines_and_totals(self):
        items = [
            {"cartId": "c1", "itemId": "tea", "quantity": Decimal("2")},
            {"cartId": "c1", "itemId": "cake", "quantity": Decimal("1000")},
            {"cartId": "c1", "itemId": "half", "quantity": Decimal("1.5")},
            {"cartId": "c1", "itemId": "minus", "quantity": Decimal("-1")},
            {"cartId": "c1", "itemId": "text", "quantity": "3"},
            {"cartId": "c1", "quantity": Decimal("4")},
        ]
        lines = [line for line in map(cart.line_from_item, items) if line is not None]
        self.assertEqual(lines, [{"itemId": "tea", "quantity": 2}, {"itemId": "cake", "quantity": 1000}])
        self.assertEqual(cart.total(lines), 1002)
        self.assertEqual(cart.total([]), 0)

    def test_read_cart_follows_pages(self):
        pages = [
            {"Items": [{"itemId": "a", "quantity": Decimal(1)}], "LastEvaluatedKey": {"cartId": "c1", "itemId": "a"}},
            {"Items": []},
        ]
        queries = []

        class FakeTable:
            def query(self, **query):
                queries.append(dict(query))
                return pages[len(queries) - 1]

        self.assertEqual(cart.read_cart(FakeTable(), "c1"), [{"itemId": "a", "quantity": 1}])
        self.assertEqual(len(queries), 2)
        self.assertTrue(queries[0]["ConsistentRead"])
        self.assertNotIn("ExclusiveStartKey", queries[0])
        self.assertEqual(queries[1]["ExclusiveStartKey"], {"cartId": "c1", "itemId": "a"})


class StreamBatches(unittest.TestCase):
    def test_each_cart_once_in_order(self):
        def record(cart_id):
            keys = {"cartId": {"S": cart_id}, "itemId": {"S": "tea"}}
            return {"eventName": "MODIFY", "dynamodb": {"Keys": keys, "StreamViewType": "KEYS_ONLY"}}

        records = [record(cart_id) for cart_id in ["c1", "c2", "c1", "bad id", "c3", "c2"]]
        self.assertEqual(cart.changed_cart_ids(records), ["c1", "c2", "c3"])
        self.assertEqual(cart.changed_cart_ids([]), [])


if __name__ == "__main__":
    unittest.main()
