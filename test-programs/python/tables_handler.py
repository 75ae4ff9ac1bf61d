"""A Lambda handler that uses DynamoDB through boto3, written exactly as for AWS Lambda.

rondo gives every process function `AWS_ENDPOINT_URL` (its own AWS endpoint), `AWS_REGION` and
credentials, so boto3 needs no configuration in the code.

- `handler`: writes `event["item"]` into the table named by `TABLE_NAME`, reads it back by its
  key `id` with a consistent read, and answers `{"item": <the item read>}`.
"""

import os

import boto3

# Created once per execution environment, at init, as Lambda's best practices say.
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    item = event["item"]
    table.put_item(Item=item)
    read = table.get_item(Key={"id": item["id"]}, ConsistentRead=True)
    return {"item": read["Item"]}

