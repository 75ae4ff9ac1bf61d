use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use super::{RequestInfo, request_event, response_from_function};

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Builder {
    let builder = http::Request::builder().method(method).uri(uri);
    headers.iter().fold(builder, |builder, (name, value)| {
        builder.header(*name, *value)
    })
}

/// The request's event with a fixed `RequestInfo`, apart from the client address and host.
fn event(
    builder: http::request::Builder,
    body: &[u8],
    source_ip: IpAddr,
    domain_name: &str,
) -> Value {
    let (parts, ()) = builder
        .body(())
        .expect("test requests are valid")
        .into_parts();
    let path_parameters = [("id".to_owned(), "42".to_owned())];
    let info = RequestInfo {
        request_id: "JKJaXmPLvHcESHA=",
        route_key: "GET /carts/{id}",
        path_parameters: &path_parameters,
        source_ip,
        time: UNIX_EPOCH + Duration::from_millis(1_583_348_638_390),
        domain_name,
        api_id: "abc123",
        account_id: "123456789012",
    };
    let bytes = request_event(&parts, body, &info);
    serde_json::from_slice(&bytes).expect("the event is json")
}

/// Checks the whole event for a request with a fixed `RequestInfo`.
fn check_event(builder: http::request::Builder, body: &[u8], expect: Value) {
    let source_ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let domain_name = "abc123.execute-api.localhost";
    assert_eq!(event(builder, body, source_ip, domain_name), expect);
}

/// Checks only the event's `body` and `isBase64Encoded` for a POST with this content-type.
fn check_body(content_type: Option<&str>, body: &[u8], expect: Value) {
    let headers: Vec<(&str, &str)> = content_type
        .map(|ct| ("content-type", ct))
        .into_iter()
        .collect();
    let source_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let event = event(
        request("POST", "/carts/42", &headers),
        body,
        source_ip,
        "localhost",
    );
    let mut actual = serde_json::Map::new();
    for key in ["body", "isBase64Encoded"] {
        if let Some(value) = event.get(key) {
            actual.insert(key.to_owned(), value.clone());
        }
    }
    assert_eq!(Value::Object(actual), expect);
}

/// Renders the response as `status`, `name: value` lines, a blank line, then the body.
fn check_response(output: &str, expect: &str) {
    let response = response_from_function(output.as_bytes()).expect("output is a valid response");
    let mut actual = format!("{}\n", response.status().as_u16());
    for (name, value) in response.headers() {
        let value = value.to_str().expect("test header values are text");
        writeln!(actual, "{name}: {value}").expect("writing to a string cannot fail");
    }
    write!(actual, "\n{:?}", response.body()).expect("writing to a string cannot fail");
    assert_eq!(actual, expect.trim_start_matches('\n'));
}

fn check_response_error(output: &str, expect: &str) {
    let error = response_from_function(output.as_bytes()).expect_err("output is not a response");
    assert_eq!(error.to_string(), expect);
}

#[test]
fn get_with_repeated_query_cookies_and_headers() {
    let builder = request(
        "GET",
        "/carts/42?a=1&b=x%20y&a=2&c=p+q&flag&&=e",
        &[
            ("host", "abc123.execute-api.localhost"),
            ("user-agent", "curl/8.5.0"),
            ("X-Multi", "v1"),
            ("x-multi", "v2"),
            ("cookie", "c1=v1; c2=v2"),
            ("cookie", "c3=v3"),
        ],
    );
    let expect = json!({
        "version": "2.0",
        "routeKey": "GET /carts/{id}",
        "rawPath": "/carts/42",
        "rawQueryString": "a=1&b=x%20y&a=2&c=p+q&flag&&=e",
        "cookies": ["c1=v1", "c2=v2", "c3=v3"],
        "headers": {
            "host": "abc123.execute-api.localhost",
            "user-agent": "curl/8.5.0",
            "x-multi": "v1,v2",
        },
        "queryStringParameters": {"a": "1,2", "b": "x y", "c": "p q", "flag": "", "": "e"},
        "pathParameters": {"id": "42"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.localhost",
            "domainPrefix": "abc123",
            "http": {
                "method": "GET",
                "path": "/carts/42",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "GET /carts/{id}",
            "stage": "$default",
            "time": "04/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1_583_348_638_390_u64,
        },
        "isBase64Encoded": false,
    });
    check_event(builder, b"", expect);
}

#[test]
fn bare_request_leaves_out_absent_fields() {
    let builder = request("DELETE", "/carts/42", &[]).version(http::Version::HTTP_2);
    let source_ip = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 7).to_ipv6_mapped());
    let event = event(builder, b"", source_ip, "localhost");
    let mut keys: Vec<&str> = event
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let expect_keys = [
        "headers",
        "isBase64Encoded",
        "pathParameters",
        "rawPath",
        "rawQueryString",
        "requestContext",
        "routeKey",
        "version",
    ];
    assert_eq!(keys, expect_keys);
    assert_eq!(event["headers"], json!({}));
    assert_eq!(event["rawQueryString"], "");
    let expect_http = json!({
        "method": "DELETE",
        "path": "/carts/42",
        "protocol": "HTTP/2.0",
        "sourceIp": "10.0.0.7",
        "userAgent": "",
    });
    assert_eq!(event["requestContext"]["http"], expect_http);
}

#[test]
fn http2_authority_becomes_the_host_header() {
    let builder =
        request("GET", "https://example.test/carts/42", &[]).version(http::Version::HTTP_2);
    let event = event(
        builder,
        b"",
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        "example.test",
    );
    assert_eq!(event["headers"], json!({"host": "example.test"}));
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "::1");
}

#[test]
fn domain_prefix_is_the_first_label() {
    let check = |domain_name: &str, expect_prefix: &str| {
        let source_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let event = event(request("GET", "/", &[]), b"", source_ip, domain_name);
        let context = &event["requestContext"];
        assert_eq!(context["domainName"], domain_name);
        assert_eq!(context["domainPrefix"], expect_prefix, "{domain_name}");
    };
    check("abc123.execute-api.localhost:3000", "abc123");
    check("localhost:3000", "localhost");
    check("localhost", "localhost");
    check("[::1]:3000", "[::1]");
}

#[test]
fn json_body_is_plain_text() {
    let body = br#"{"item":"apple","n":2}"#;
    let expect = json!({"body": r#"{"item":"apple","n":2}"#, "isBase64Encoded": false});
    check_body(
        Some("application/json; charset=utf-8"),
        body,
        expect.clone(),
    );
    check_body(Some("application/vnd.api+json"), body, expect.clone());
    check_body(None, body, expect);
}

#[test]
fn textual_content_types_are_plain_text() {
    let expect = json!({"body": "a=1&b=2", "isBase64Encoded": false});
    check_body(
        Some("application/x-www-form-urlencoded"),
        b"a=1&b=2",
        expect,
    );
    let expect = json!({"body": "<p>héllo</p>", "isBase64Encoded": false});
    check_body(
        Some("Text/HTML; charset=utf-8"),
        "<p>héllo</p>".as_bytes(),
        expect,
    );
    let expect = json!({"body": "<a/>", "isBase64Encoded": false});
    check_body(Some("application/atom+xml"), b"<a/>", expect);
}

#[test]
fn binary_body_is_base64() {
    let body = [0x89, b'P', b'N', b'G', 0x00, 0xff];
    let expect = json!({"body": "iVBORwD/", "isBase64Encoded": true});
    check_body(Some("image/png"), &body, expect.clone());
    check_body(None, &body, expect);
    check_body(
        Some("text/plain"),
        &body,
        json!({"body": "iVBORwD/", "isBase64Encoded": true}),
    );
}

#[test]
fn utf8_body_with_binary_content_type_is_base64() {
    let expect = json!({"body": "aGVsbG8=", "isBase64Encoded": true});
    check_body(Some("application/octet-stream"), b"hello", expect);
}

#[test]
fn empty_body_has_no_body_key() {
    check_body(
        Some("application/json"),
        b"",
        json!({"isBase64Encoded": false}),
    );
    check_body(None, b"", json!({"isBase64Encoded": false}));
}

#[test]
fn structured_response() {
    let output = json!({
        "statusCode": 201,
        "headers": {"Content-Type": "image/png", "x-count": 3, "x-ok": true, "x-none": null},
        "cookies": ["a=b; Path=/", "c=d"],
        "body": "iVBORwD/",
        "isBase64Encoded": true,
    });
    let expect = r#"
201
content-type: image/png
x-count: 3
x-ok: true
set-cookie: a=b; Path=/
set-cookie: c=d

b"\x89PNG\0\xff""#;
    check_response(&output.to_string(), expect);
}

#[test]
fn structured_response_minimal() {
    check_response(r#"{"statusCode": 204}"#, "204\n\nb\"\"");
    check_response(r#"{"statusCode": 200, "body": "hi"}"#, "200\n\nb\"hi\"");
    check_response(
        r#"{"statusCode": 200, "body": null, "headers": null}"#,
        "200\n\nb\"\"",
    );
}

#[test]
fn structured_response_drops_framing_headers() {
    let output =
        r#"{"statusCode": 200, "headers": {"content-length": "99", "x-a": "1"}, "body": "hi"}"#;
    check_response(output, "200\nx-a: 1\n\nb\"hi\"");
}

#[test]
fn unpadded_base64_body_is_accepted() {
    let output = r#"{"statusCode": 200, "body": "aGk", "isBase64Encoded": true}"#;
    check_response(output, "200\n\nb\"hi\"");
}

#[test]
fn object_without_status_code_is_the_json_body() {
    let output = r#"{"message": "Hello from Lambda!"}"#;
    let expect =
        "200\ncontent-type: application/json\n\nb\"{\\\"message\\\": \\\"Hello from Lambda!\\\"}\"";
    check_response(output, expect);
}

#[test]
fn bare_string_is_the_body() {
    let expect = "200\ncontent-type: application/json\n\nb\"Hello from Lambda!\"";
    check_response(r#""Hello from Lambda!""#, expect);
}

#[test]
fn other_json_is_the_body() {
    check_response(
        "[1,2,3]",
        "200\ncontent-type: application/json\n\nb\"[1,2,3]\"",
    );
    check_response("42", "200\ncontent-type: application/json\n\nb\"42\"");
    check_response("null", "200\ncontent-type: application/json\n\nb\"null\"");
}

#[test]
fn invalid_json_is_an_error() {
    check_response_error(
        "hello",
        "function output is not json: expected value at line 1 column 1",
    );
    check_response_error(
        "",
        "function output is not json: EOF while parsing a value at line 1 column 0",
    );
    check_response_error(
        r#"{"statusCode": 200"#,
        "function output is not json: EOF while parsing an object at line 1 column 18",
    );
}

#[test]
fn bad_status_code_is_an_error() {
    check_response_error(
        r#"{"statusCode": 99}"#,
        "statusCode 99 is not an integer from 100 to 599",
    );
    check_response_error(
        r#"{"statusCode": 600}"#,
        "statusCode 600 is not an integer from 100 to 599",
    );
    check_response_error(
        r#"{"statusCode": "200"}"#,
        r#"statusCode "200" is not an integer from 100 to 599"#,
    );
    check_response_error(
        r#"{"statusCode": 200.5}"#,
        "statusCode 200.5 is not an integer from 100 to 599",
    );
    check_response_error(
        r#"{"statusCode": null}"#,
        "statusCode null is not an integer from 100 to 599",
    );
}

#[test]
fn malformed_fields_are_errors() {
    check_response_error(
        r#"{"statusCode": 200, "body": {"a": 1}}"#,
        r#"body must be a string, found {"a":1}"#,
    );
    check_response_error(
        r#"{"statusCode": 200, "body": "!!", "isBase64Encoded": true}"#,
        "body is marked isBase64Encoded but is not base64 (Invalid symbol 33, offset 0.)",
    );
    check_response_error(
        r#"{"statusCode": 200, "isBase64Encoded": "yes"}"#,
        r#"isBase64Encoded must be a boolean, found "yes""#,
    );
    check_response_error(
        r#"{"statusCode": 200, "headers": []}"#,
        "headers must be an object, found []",
    );
    check_response_error(
        r#"{"statusCode": 200, "headers": {"x-a": ["1"]}}"#,
        r#"header `x-a` must be a string, number or boolean, found ["1"]"#,
    );
    check_response_error(
        r#"{"statusCode": 200, "headers": {"bad name": "1"}}"#,
        "header name `bad name` is not a valid http header name",
    );
    check_response_error(
        r#"{"statusCode": 200, "headers": {"x-a": "line\nbreak"}}"#,
        r#"header `x-a` has characters http does not allow: "line\nbreak""#,
    );
    check_response_error(
        r#"{"statusCode": 200, "cookies": "a=b"}"#,
        r#"cookies must be an array of strings, found "a=b""#,
    );
    check_response_error(
        r#"{"statusCode": 200, "cookies": [1]}"#,
        "cookies must be an array of strings, found 1",
    );
}
