"""A stream trigger's target, written exactly as for AWS Lambda: copies each record of a
DynamoDB stream event into the table named by `COPY_TABLE_NAME`, through boto3.

Each copy is `{id: "<key id>#<sequence number>", key, eventName, newImage}` (`newImage` only when
the record has one); the answer is `{"copied": n}`.
"""

import os

import boto3

# Created once per execution environment, at init.
client = boto3.client("dynamodb")
copy_table = os.environ["COPY_TABLE_NAME"]


def copy_records(event, context):
    records = event["Records"]
    for record in records:
        change = record["dynamodb"]
        key = change["Keys"]["id"]["S"]
        copy = {
            "id": {"S": f"{key}#{change['SequenceNumber']}"},
            "key": {"S": key},
            "eventName": {"S": record["eventName"]},
        }
        if "NewImage" in change:
            copy["newImage"] = {"M": change["NewImage"]}
        client.put_item(TableName=copy_table, Item=copy)
    return {"copied": len(records)}
