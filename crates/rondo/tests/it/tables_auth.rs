//! DynamoDB-compatible tables, credentials: any signed request by default, and SigV4 verified
//! against `--aws-credentials KEYID:SECRET` when given.

use std::time::{Duration, SystemTime};

use crate::support::dynamo::{
    Tables, assert_dynamodb_error, create_table, dynamodb_request, dynamodb_signed_as,
    expect_error, sign, sign_at, unsigned_dynamodb_request,
};
use crate::support::send;

const SERVICE: &str = "com.amazon.coral.service";
const LIST_TABLES: &str = "DynamoDB_20120810.ListTables";

#[tokio::test(flavor = "multi_thread")]
async fn any_signed_request_is_accepted_by_default() {
    let tables = Tables::start("");
    for (key_id, secret) in [("AKIDANYTHING", "any secret"), ("another", "x")] {
        let client = dynamodb_signed_as(&tables.dev, key_id, secret);
        client
            .list_tables()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key_id}: {e:?}"));
    }
    let reply = send(dynamodb_request(&tables.dev.aws, "ListTables", b"{}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_credentials_are_verified() {
    let tables = Tables::start_with(
        "",
        &[
            "--aws-credentials",
            "AKIDONE:secret-one",
            "--aws-credentials",
            "AKIDTWO:secret/two+",
        ],
    );
    let dev = &tables.dev;

    let one = dynamodb_signed_as(dev, "AKIDONE", "secret-one");
    create_table(&one, "guarded", &[("pk", "S")]).await;
    let two = dynamodb_signed_as(dev, "AKIDTWO", "secret/two+");
    let listed = two.list_tables().send().await.expect("the second key");
    assert_eq!(listed.table_names(), ["guarded"]);

    let wrong_secret = dynamodb_signed_as(dev, "AKIDONE", "secret-two");
    expect_error(
        wrong_secret.list_tables().send().await,
        "InvalidSignatureException",
    );
    let swapped = dynamodb_signed_as(dev, "AKIDTWO", "secret-one");
    expect_error(
        swapped.list_tables().send().await,
        "InvalidSignatureException",
    );
    let unknown = dynamodb_signed_as(dev, "AKIDUNKNOWN", "secret-one");
    expect_error(
        unknown.list_tables().send().await,
        "UnrecognizedClientException",
    );
    // The default test client's key is not configured.
    let refused = tables
        .client
        .put_item()
        .table_name("guarded")
        .item("pk", crate::support::dynamo::s("intruder"))
        .send()
        .await;
    expect_error(refused, "UnrecognizedClientException");
    let scan = one.scan().table_name("guarded").send().await.expect("scan");
    assert_eq!(scan.count(), 0, "a refused request wrote nothing");

    let unsigned = unsigned_dynamodb_request(&dev.aws, Some(LIST_TABLES), b"{}");
    let reply = send(unsigned).await;
    assert_dynamodb_error(
        &reply,
        &format!("{SERVICE}#MissingAuthenticationTokenException"),
    );

    let reply = send(signed(&dev.aws, "AKIDONE", "wrong", b"{}")).await;
    assert_dynamodb_error(&reply, &format!("{SERVICE}#InvalidSignatureException"));
    let reply = send(signed(&dev.aws, "AKIDNOBODY", "secret-one", b"{}")).await;
    assert_dynamodb_error(&reply, &format!("{SERVICE}#UnrecognizedClientException"));

    let reply = send(signed(&dev.aws, "AKIDONE", "secret-one", b"{}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // The signature covers the body: a body changed after signing is refused.
    let mut tampered = unsigned_dynamodb_request(&dev.aws, Some(LIST_TABLES), br#"{"Limit": 1}"#);
    sign(&mut tampered, "AKIDONE", "secret-one", br#"{"Limit": 1}"#);
    *tampered.body_mut() = http_body_util::Full::new(bytes::Bytes::from_static(br#"{"Limit": 2}"#));
    let reply = send(tampered).await;
    assert_dynamodb_error(&reply, &format!("{SERVICE}#InvalidSignatureException"));

    // A signature from an hour ago is outside the allowed clock skew (a replay).
    let mut stale = unsigned_dynamodb_request(&dev.aws, Some(LIST_TABLES), b"{}");
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    sign_at(&mut stale, "AKIDONE", "secret-one", b"{}", an_hour_ago);
    let reply = send(stale).await;
    assert_dynamodb_error(&reply, &format!("{SERVICE}#InvalidSignatureException"));
}

/// A raw ListTables request with `body`, signed with the given key.
fn signed(
    endpoint: &str,
    key_id: &str,
    secret: &str,
    body: &[u8],
) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut request = unsigned_dynamodb_request(endpoint, Some(LIST_TABLES), body);
    sign(&mut request, key_id, secret, body);
    request
}
