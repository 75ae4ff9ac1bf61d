use serde_json::json;

use super::{Request, Response};

/// Parses `event` as a [`Request`] and checks what the accessors see.
fn check_request(event: serde_json::Value, expect: serde_json::Value) {
    let request: Request = serde_json::from_value(event).expect("event parses");
    let body = request
        .body_bytes()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let seen = json!({
        "method": request.method(),
        "path": request.path(),
        "name": request.path_param("name"),
        "q": request.query_param("q"),
        "contentType": request.header("Content-Type"),
        "session": request.cookie("session"),
        "body": body.map_err(|err| err.to_string()),
    });
    assert_eq!(seen, expect);
}

fn check_response(response: Response, expect: &str) {
    assert_eq!(
        serde_json::to_string(&response).expect("response serializes"),
        expect
    );
    let parsed: Response = serde_json::from_str(expect).expect("response parses back");
    assert_eq!(parsed, response);
}

#[test]
fn request_with_every_optional_field_absent() {
    check_request(
        json!({}),
        json!({
            "method": "", "path": "", "name": null, "q": null, "contentType": null, "session": null,
            "body": {"Ok": ""},
        }),
    );
}

#[test]
fn request_with_nulls_reads_like_absent_fields() {
    check_request(
        json!({
            "version": "2.0", "rawPath": "/x", "cookies": null, "headers": null,
            "queryStringParameters": null, "pathParameters": null, "body": null,
            "isBase64Encoded": null, "requestContext": {"http": null, "timeEpoch": null},
        }),
        json!({
            "method": "", "path": "/x", "name": null, "q": null, "contentType": null, "session": null,
            "body": {"Ok": ""},
        }),
    );
}

#[test]
fn full_payload_v2_event() {
    check_request(
        json!({
            "version": "2.0",
            "routeKey": "POST /hello/{name}",
            "rawPath": "/hello/ann",
            "rawQueryString": "q=1&q=2",
            "cookies": ["a=b", "session=s1"],
            "headers": {"content-type": "text/plain", "x-multi": "v1,v2"},
            "queryStringParameters": {"q": "1,2"},
            "pathParameters": {"name": "ann"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "localhost",
                "domainPrefix": "localhost",
                "http": {"method": "POST", "path": "/hello/ann", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "curl/8"},
                "requestId": "r1", "routeKey": "POST /hello/{name}", "stage": "$default",
                "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390_i64,
                "authorizer": {"jwt": {"claims": {"sub": "u1"}, "scopes": []}}
            },
            "body": "aGk=",
            "isBase64Encoded": true,
            "someFutureField": 1
        }),
        json!({
            "method": "POST", "path": "/hello/ann", "name": "ann", "q": "1,2", "contentType": "text/plain",
            "session": "s1", "body": {"Ok": "hi"},
        }),
    );
}

#[test]
fn invalid_base64_body_is_an_error() {
    check_request(
        json!({"body": "a", "isBase64Encoded": true}),
        json!({
            "method": "", "path": "", "name": null, "q": null, "contentType": null, "session": null,
            "body": {"Err": "Base64Error: the body is not valid base64 (at byte 0)"},
        }),
    );
}

#[test]
fn responses_serialize_without_nulls_or_empty_fields() {
    check_response(Response::new(204), r#"{"statusCode":204}"#);
    check_response(
        Response::text(201, "made")
            .with_header("X-Test", "yes")
            .with_cookie("a=1"),
        r#"{"statusCode":201,"headers":{"content-type":"text/plain; charset=utf-8","x-test":"yes"},"cookies":["a=1"],"body":"made"}"#,
    );
    let json = Response::json(200, &json!({"message": "hi"})).expect("serializes");
    check_response(
        json,
        r#"{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"message\":\"hi\"}"}"#,
    );
    let binary = Response::binary(200, "application/octet-stream", &[0, 255]);
    assert_eq!(
        binary.body_bytes().expect("valid base64").as_ref(),
        [0, 255]
    );
    check_response(
        binary,
        r#"{"statusCode":200,"headers":{"content-type":"application/octet-stream"},"body":"AP8=","isBase64Encoded":true}"#,
    );
}
