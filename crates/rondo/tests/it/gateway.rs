//! The gateway: routes, payload format 2.0, response mapping, limits and error shapes.

use serde_json::json;

use crate::support::{App, Dev, get, manifest, post, repo, send, test_wasm};

fn handler_app() -> App {
    let manifest = manifest(
        &[("tester", "handler.wasm", ""), ("web", "http.wasm", "")],
        &[
            ("GET /t/{action}", "tester"),
            ("POST /t/{action}", "tester"),
            ("ANY /files/{proxy+}", "tester"),
            ("GET /web/{proxy+}", "web"),
        ],
    );
    App::new(
        &manifest,
        &[
            ("handler.wasm", test_wasm("test_handler.wasm")),
            ("http.wasm", test_wasm("test_http.wasm")),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn hello_example_answers() {
    let app = App::new(
        &std::fs::read_to_string(repo().join("examples/hello/rondo.toml")).expect("manifest"),
        &[("hello.wasm", repo().join("examples/hello/hello.wasm"))],
    );
    let dev = Dev::start(&app);
    let reply = get(&dev.url("/hello/world")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), json!({"message": "Hello, world!"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn handler_receives_payload_format_2() {
    let app = handler_app();
    let dev = Dev::start(&app);
    let request = http::Request::post(dev.url("/t/echo?a=1&a=2&b=x%20y"))
        .header("x-multi", "v1")
        .header("x-multi", "v2")
        .header("cookie", "c1=v1; c2=v2")
        .header("content-type", "application/json")
        .header("user-agent", "rondo-test")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"{\"k\":1}",
        )))
        .expect("request");
    let reply = send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let event = reply.json();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "POST /t/{action}");
    assert_eq!(event["rawPath"], "/t/echo");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%20y");
    assert_eq!(
        event["queryStringParameters"],
        json!({"a": "1,2", "b": "x y"})
    );
    assert_eq!(event["pathParameters"], json!({"action": "echo"}));
    assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(event["headers"]["x-multi"], "v1,v2");
    assert!(
        event["headers"].get("cookie").is_none(),
        "cookies are not headers: {event}"
    );
    assert_eq!(event["body"], "{\"k\":1}");
    assert_eq!(event["isBase64Encoded"], false);
    let context = &event["requestContext"];
    assert_eq!(context["http"]["method"], "POST");
    assert_eq!(context["http"]["path"], "/t/echo");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["http"]["userAgent"], "rondo-test");
    assert_eq!(context["stage"], "$default");
    assert_eq!(context["routeKey"], "POST /t/{action}");
    assert!(context["timeEpoch"].as_u64().is_some());
    assert_eq!(
        reply.header("apigw-requestid"),
        context["requestId"].as_str()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn absent_fields_are_left_out_and_binary_is_base64() {
    let app = handler_app();
    let dev = Dev::start(&app);
    let reply = get(&dev.url("/t/echo")).await;
    let event = reply.json();
    for absent in ["body", "queryStringParameters", "cookies"] {
        assert!(
            event.get(absent).is_none(),
            "{absent} should be absent: {event}"
        );
    }
    let request = http::Request::post(dev.url("/files/a/b/c.bin"))
        .header("content-type", "application/octet-stream")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(&[
            0, 159, 146, 150,
        ])))
        .expect("request");
    // The greedy route hands the rest of the path to `proxy`; the tester reads `action` from the query.
    let reply = send(request).await;
    assert_eq!(
        reply.status,
        500,
        "no action: the tester fails: {}",
        reply.text()
    );
    let request = http::Request::post(dev.url("/files/a/b/c.bin?action=echo"))
        .header("content-type", "application/octet-stream")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(&[
            0, 159, 146, 150,
        ])))
        .expect("request");
    let event = send(request).await.json();
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b/c.bin"}));
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "AJ+Slg==");
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_map_as_api_gateway_maps_them() {
    let app = handler_app();
    let dev = Dev::start(&app);

    let reply = get(&dev.url("/t/status?code=201")).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.header("x-test"), Some("yes"));
    assert_eq!(reply.headers.get_all("set-cookie").iter().count(), 2);
    assert_eq!(reply.text(), "made");

    let reply = get(&dev.url("/t/raw")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["rawPath"], "/t/raw");

    let reply = get(&dev.url("/t/binary")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body.as_ref(),
        (0..=255u8).collect::<Vec<u8>>().as_slice()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_have_api_gateway_shapes() {
    let app = handler_app();
    let dev = Dev::start(&app);

    let reply = get(&dev.url("/nowhere")).await;
    assert_eq!(
        (reply.status, reply.json()),
        (404, json!({"message": "Not Found"}))
    );

    let reply = get(&dev.url("/t/error")).await;
    assert_eq!(
        (reply.status, reply.json()),
        (500, json!({"message": "Internal Server Error"}))
    );

    let reply = get(&dev.url("/t/panic")).await;
    assert_eq!(
        (reply.status, reply.json()),
        (500, json!({"message": "Internal Server Error"}))
    );

    let reply = get(&dev.url("/t/big?bytes=7000000")).await;
    assert_eq!(reply.status, 502, "{}", reply.text());

    // A body declared over the limit is refused before it is sent (as a client would see it
    // while still uploading: the answer arrives and the connection closes).
    let head = raw_exchange(
        &dev.gateway,
        &format!(
            "POST /t/echo HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\nxxxx",
            10 * 1024 * 1024 + 1
        ),
    );
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.ends_with(r#"{"message":"Request Entity Too Large"}"#),
        "{head}"
    );
    // A chunked body that grows past the limit is refused too.
    let chunk = "x".repeat(1024 * 1024);
    let mut request =
        String::from("POST /t/echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n");
    for _ in 0..11 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let head = raw_exchange(&dev.gateway, &request);
    assert!(
        head.starts_with("HTTP/1.1 413"),
        "{}",
        &head[..head.len().min(200)]
    );

    // Exactly at the limit is accepted.
    let reply = post(&dev.url("/t/counter"), vec![b'x'; 10 * 1024 * 1024]).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_invocation_gets_a_fresh_instance() {
    let app = handler_app();
    let dev = Dev::start(&app);
    for _ in 0..5 {
        let reply = get(&dev.url("/t/counter")).await;
        assert_eq!(reply.json(), json!({"count": 1}));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wasi_http_components_get_the_request_itself() {
    let manifest = manifest(&[("web", "http.wasm", "")], &[("$default", "web")]);
    let app = App::new(&manifest, &[("http.wasm", test_wasm("test_http.wasm"))]);
    let dev = Dev::start(&app);
    let reply = get(&dev.url("/")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "Hello, World!\n");
    let request = http::Request::put(dev.url("/echo?q=1"))
        .header("x-test", "yes")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"ping",
        )))
        .expect("request");
    let reply = send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.json();
    assert_eq!(echo["method"], "PUT", "{echo}");
    assert_eq!(echo["path"], "/echo?q=1", "{echo}");
    assert_eq!(echo["body"], "ping", "{echo}");
    let reply = get(&dev.url("/big")).await;
    assert_eq!(reply.status, 502, "a response over 6 MB is refused");
    let reply = get(&dev.url("/panic")).await;
    assert_eq!(
        (reply.status, reply.json()),
        (500, json!({"message": "Internal Server Error"}))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_http_is_denied_unless_allowed() {
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = upstream.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in upstream.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(
                b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let allowed = format!("allowed_outbound_hosts = [\"http://127.0.0.1:{port}\"]");
    let open = App::new(
        &manifest(&[("web", "http.wasm", &allowed)], &[("$default", "web")]),
        &[("http.wasm", test_wasm("test_http.wasm"))],
    );
    let closed = App::new(
        &manifest(&[("web", "http.wasm", "")], &[("$default", "web")]),
        &[("http.wasm", test_wasm("test_http.wasm"))],
    );
    let (open, closed) = (Dev::start(&open), Dev::start(&closed));
    let target = format!("http://127.0.0.1:{port}/");
    let reply = get(&closed.url(&format!("/outbound?url={target}"))).await;
    assert_eq!(reply.status, 502, "{}", reply.text());
    let reply = get(&open.url(&format!("/outbound?url={target}"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().contains("418"), "{}", reply.text());
}

/// Writes `request` on a fresh connection (ignoring a refusal mid-write) and returns the whole answer.
fn raw_exchange(gateway: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect(gateway.trim_start_matches("http://")).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let _ = stream.write_all(request.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}
