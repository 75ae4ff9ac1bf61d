//! Requests signed by AWS's published test suite and by the Rust AWS SDK's own signer
//! (`aws-sigv4`), verified, then tampered with.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use super::{AuthError, AuthPolicy, Service, verify};

/// The keys rondo's operator configured in these tests.
const KEY_ID: &str = "AKIDRONDOEXAMPLE";
const SECRET: &str = "rondo/Secret+Key/EXAMPLE0000000000000000";
/// The key of AWS's signing test suite.
const SUITE_KEY_ID: &str = "AKIDEXAMPLE";
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The key `aws-credential-types` uses in its tests, which signed the suite's `double-encode-path`.
const NOT_REAL_KEY_ID: &str = "ANOTREAL";
const NOT_REAL_SECRET: &str = "notrealrnrELgWzOk3IfjzDKtFBhDby";

const ENDPOINT: &str = "http://127.0.0.1:4566";
/// When the SDK-signed requests are signed: 2026-03-15T10:15:00Z.
const SIGNED_AT_UNIX_S: u64 = 1_773_569_700;
const SIGNED_AT: &str = "20260315T101500Z";

const MISMATCH: &str = "The request signature we calculated does not match the signature you \
     provided. Check your AWS Secret Access Key and signing method. Consult the service \
     documentation for details.";

fn policy() -> AuthPolicy {
    AuthPolicy::Verify(Arc::new(HashMap::from([
        (KEY_ID.to_owned(), SECRET.to_owned()),
        (SUITE_KEY_ID.to_owned(), SUITE_SECRET.to_owned()),
        (NOT_REAL_KEY_ID.to_owned(), NOT_REAL_SECRET.to_owned()),
    ])))
}

/// Verifies a request against [`policy`] as DynamoDB would.
fn check(parts: &Parts, body: &[u8], now: SystemTime) -> Result<(), AuthError> {
    verify(&policy(), Service::DynamoDb, parts, body, now)
}

/// Checks that the request is refused with `code` and returns the message.
fn refused(result: Result<(), AuthError>, code: &str) -> String {
    match result {
        Ok(()) => panic!("expected {code}, but the request passed"),
        Err(error) => {
            assert_eq!(error.code, code, "{error}");
            assert_eq!(error.status, StatusCode::BAD_REQUEST);
            error.message
        }
    }
}

fn seconds_after_signing(seconds: i64) -> SystemTime {
    let signed_at = UNIX_EPOCH + Duration::from_secs(SIGNED_AT_UNIX_S);
    match u64::try_from(seconds) {
        Ok(later) => signed_at + Duration::from_secs(later),
        Err(_) => signed_at - Duration::from_secs(seconds.unsigned_abs()),
    }
}

/// When the test suite's requests are signed: 2015-08-30T12:36:00Z.
fn suite_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_440_938_160)
}

// AWS's test suite ("aws-sig-v4-test-suite", as shipped with the AWS CRT and `aws-sigv4`): the
// requests, as the server receives them, and the signatures the suite gives for them.

/// A request written as on the wire, `METHOD TARGET` and then one `Name:value` header per line.
fn raw_request(text: &str) -> Parts {
    let mut lines = text.lines();
    let request_line = lines.next().expect("a request line");
    let (method, target) = request_line.split_once(' ').expect("a method and a target");
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        let (name, value) = line.split_once(':').expect("a header line");
        builder = builder.header(name, value);
    }
    builder.body(()).expect("a valid request").into_parts().0
}

fn with_authorization(
    mut parts: Parts,
    key_id: &str,
    signed_headers: &str,
    signature: &str,
) -> Parts {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/20150830/us-east-1/service/aws4_request, \
         SignedHeaders={signed_headers}, Signature={signature}"
    );
    parts.headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&authorization).expect("a valid header"),
    );
    parts
}

/// The same signature with its last hex digit changed.
fn altered(signature: &str) -> String {
    let (head, last) = signature.split_at(signature.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
const FORM: &str = "Content-Length:13\n\
     x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
const FORM_SIGNED: &str = "content-length;content-type;host;x-amz-content-sha256;x-amz-date";
const VANILLA: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
const UNRESERVED: &str = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The suite's requests signed in the `Authorization` header: (case, request line and headers
/// besides `Host` and `X-Amz-Date`, body, signed headers, signature).
fn suite_header_cases() -> [(
    &'static str,
    String,
    &'static str,
    &'static str,
    &'static str,
); 24] {
    let host_date = "host;x-amz-date";
    let my_header = "host;my-header1;x-amz-date";
    let with_token = "host;x-amz-date;x-amz-security-token";
    [
        ("get-vanilla", "GET /".into(), "", host_date, VANILLA),
        ("get-relative-normalized", "GET /example/..".into(), "", host_date, VANILLA),
        ("get-relative-relative-normalized", "GET /example1/example2/../..".into(), "", host_date, VANILLA),
        ("get-slash-dot-slash-normalized", "GET /./".into(), "", host_date, VANILLA),
        ("get-slash-normalized", "GET //".into(), "", host_date, VANILLA),
        (
            "get-slash-pointless-dot-normalized",
            "GET /./example".into(),
            "",
            host_date,
            "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
        ),
        (
            "get-slashes-normalized",
            "GET //example//".into(),
            "",
            host_date,
            "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
        ),
        (
            "get-unreserved",
            format!("GET /{UNRESERVED}"),
            "",
            host_date,
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        ),
        (
            "get-vanilla-empty-query-key",
            "GET /?Param1=value1".into(),
            "",
            host_date,
            "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
        ),
        (
            "get-vanilla-query-order-encoded",
            "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1".into(),
            "",
            host_date,
            "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
        ),
        (
            "get-vanilla-query-order-key-case",
            "GET /?Param2=value2&Param1=value1".into(),
            "",
            host_date,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        (
            "get-vanilla-query-unreserved",
            format!("GET /?{UNRESERVED}={UNRESERVED}"),
            "",
            host_date,
            "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        ),
        (
            // The suite writes the key as raw UTF-8; on the wire it is percent-encoded.
            "get-vanilla-utf8-query",
            "GET /?%E1%88%B4=bar".into(),
            "",
            host_date,
            "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        ),
        (
            "get-vanilla-with-session-token",
            "GET /\nX-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267".into(),
            "",
            with_token,
            "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
        ),
        (
            "get-header-key-duplicate",
            "GET /\nMy-Header1:value2\nMy-Header1:value2\nMy-Header1:value1".into(),
            "",
            my_header,
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        ),
        (
            "get-header-value-order",
            "GET /\nMy-Header1:value4\nMy-Header1:value1\nMy-Header1:value3\nMy-Header1:value2".into(),
            "",
            my_header,
            "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        ),
        (
            "get-header-value-trim",
            "GET /\nMy-Header1: value1\nMy-Header2: \"a   b   c\"".into(),
            "",
            "host;my-header1;my-header2;x-amz-date",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        ),
        (
            "post-vanilla",
            "POST /".into(),
            "",
            host_date,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "post-header-value-case",
            "POST /\nMy-Header1:VALUE1".into(),
            "",
            my_header,
            "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        ),
        (
            // The session token is sent but not signed; that is accepted.
            "post-sts-header-after",
            format!("POST /\nX-Amz-Security-Token:{SUITE_TOKEN}"),
            "",
            host_date,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "post-sts-header-before",
            format!("POST /\nX-Amz-Security-Token:{SUITE_TOKEN}"),
            "",
            with_token,
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        ),
        (
            "post-vanilla-query",
            "POST /?Param1=value1".into(),
            "",
            host_date,
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        ),
        (
            "post-x-www-form-urlencoded",
            format!("POST /\nContent-Type:application/x-www-form-urlencoded\n{FORM}"),
            "Param1=value1",
            FORM_SIGNED,
            "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
        ),
        (
            "post-x-www-form-urlencoded-parameters",
            format!("POST /\nContent-Type:application/x-www-form-urlencoded; charset=utf-8\n{FORM}"),
            "Param1=value1",
            FORM_SIGNED,
            "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422",
        ),
    ]
}

#[test]
fn aws_test_suite_header_signatures_verify() {
    for (case, head, body, signed_headers, signature) in suite_header_cases() {
        let head = format!("{head}\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z");
        let parts = with_authorization(raw_request(&head), SUITE_KEY_ID, signed_headers, signature);
        assert_eq!(
            check(&parts, body.as_bytes(), suite_time()),
            Ok(()),
            "{case}"
        );

        let parts = with_authorization(
            raw_request(&head),
            SUITE_KEY_ID,
            signed_headers,
            &altered(signature),
        );
        let message = refused(
            check(&parts, body.as_bytes(), suite_time()),
            "InvalidSignatureException",
        );
        assert!(message.starts_with(MISMATCH), "{case}: {message}");
    }
}

#[test]
fn aws_test_suite_double_encoded_path_verifies() {
    // The path as sent is encoded once (`%3D`); SigV4 signs it encoded again (`%253D`).
    let head = "POST /test/@connections/JBDvjfGEIAMCERw%3D\n\
                X-amz-date:20150830T123600Z\n\
                Host:tj9n5r0m12.execute-api.us-east-1.amazonaws.com";
    let signature = "57d157672191bac40bae387e48bbe14b15303c001fdbb01f4abf295dccb09705";
    let parts = with_authorization(
        raw_request(head),
        NOT_REAL_KEY_ID,
        "host;x-amz-date",
        signature,
    );
    assert_eq!(check(&parts, b"", suite_time()), Ok(()));

    // Decoding the path before signing (S3's single encoding) gives another signature.
    let decoded = raw_request(&head.replace("%3D", "="));
    let parts = with_authorization(decoded, NOT_REAL_KEY_ID, "host;x-amz-date", signature);
    refused(
        check(&parts, b"", suite_time()),
        "InvalidSignatureException",
    );
}

#[test]
fn aws_test_suite_presigned_urls_verify() {
    let credential = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
                      &X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request\
                      &X-Amz-Date=20150830T123600Z";
    let host = "X-Amz-SignedHeaders=host&X-Amz-Expires=3600";
    let encoded_token = SUITE_TOKEN
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D");
    // (case, method and path, query before the signature parameters, query after them,
    // extra headers, body, signature)
    let cases = [
        (
            "get-vanilla",
            "GET /",
            "",
            host.to_owned(),
            "",
            "",
            "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
        ),
        (
            "get-unreserved",
            "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            "",
            host.to_owned(),
            "",
            "",
            "95968482db1b9e0fadef6efc1bd24689f77c77d9ef56919c96a28cc92e0d6005",
        ),
        (
            "get-slashes-normalized",
            "GET //example//",
            "",
            host.to_owned(),
            "",
            "",
            "c1834e8fb0307243711f0f907f6ab7311ed300d87f13792d7ee4da89ab93e082",
        ),
        (
            "get-vanilla-query-order-encoded",
            "GET /",
            "Param-3=Value3&Param=Value2&%E1%88%B4=Value1&",
            host.to_owned(),
            "",
            "",
            "c5f1848ceec943ac2ca68ee720460c23aaae30a2300586597ada94c4a65e4787",
        ),
        (
            "get-vanilla-with-session-token",
            "GET /",
            "",
            format!(
                "{host}&X-Amz-Security-Token=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
            ),
            "",
            "",
            "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c",
        ),
        (
            "get-header-value-trim",
            "GET /",
            "",
            "X-Amz-SignedHeaders=host%3Bmy-header1%3Bmy-header2&X-Amz-Expires=3600".to_owned(),
            "\nMy-Header1: value1\nMy-Header2: \"a   b   c\"",
            "",
            "e7bb0fd515e125e1aec2ecc4c0c17484fb06f6846b927c35e46005dd3df3acd4",
        ),
        (
            "post-vanilla-query",
            "POST /",
            "Param1=value1&",
            host.to_owned(),
            "",
            "",
            "a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682",
        ),
        (
            "post-sts-header-before",
            "POST /",
            "",
            format!("{host}&X-Amz-Security-Token={encoded_token}"),
            "",
            "",
            "46c2e3c63c1dbe7d39f8ada16fe7f001c1f56c5791441565323677f96308871c",
        ),
        (
            "post-x-www-form-urlencoded",
            "POST /",
            "",
            "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Expires=3600"
                .to_owned(),
            "\nContent-Type:application/x-www-form-urlencoded\nContent-Length:13",
            "Param1=value1",
            "89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9",
        ),
    ];
    for (case, method_path, query_before, query_after, extra_headers, body, signature) in cases {
        let url = |signature: &str| {
            format!(
                "{method_path}?{query_before}{credential}&{query_after}&X-Amz-Signature={signature}\n\
                 Host:example.amazonaws.com{extra_headers}"
            )
        };
        let parts = raw_request(&url(signature));
        assert_eq!(
            check(&parts, body.as_bytes(), suite_time()),
            Ok(()),
            "{case}"
        );

        let parts = raw_request(&url(&altered(signature)));
        refused(
            check(&parts, body.as_bytes(), suite_time()),
            "InvalidSignatureException",
        );
    }
}

// The Rust AWS SDK's signer.

/// Signs requests the way an AWS SDK client configured with rondo's endpoint does.
struct Signer {
    key_id: &'static str,
    secret: &'static str,
    session_token: Option<&'static str>,
    region: &'static str,
    service: &'static str,
    settings: SigningSettings,
    unsigned_payload: bool,
}

impl Signer {
    fn new() -> Self {
        Signer {
            key_id: KEY_ID,
            secret: SECRET,
            session_token: None,
            region: "us-east-1",
            service: "dynamodb",
            settings: SigningSettings::default(),
            unsigned_payload: false,
        }
    }

    fn presigned(expires_in: Duration) -> Self {
        let mut signer = Signer::new();
        signer.settings.signature_location = SignatureLocation::QueryParams;
        signer.settings.expires_in = Some(expires_in);
        signer
    }

    /// Signs a request whose URI is absolute, as a client holds it.
    fn sign(&self, mut request: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
        let identity = Credentials::new(
            self.key_id,
            self.secret,
            self.session_token.map(str::to_owned),
            None,
            "rondo-tests",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.service)
            .time(seconds_after_signing(0))
            .settings(self.settings.clone())
            .build()
            .expect("complete signing parameters")
            .into();
        let uri = request.uri().to_string();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = value.to_str().expect("test headers are text");
                (name.as_str().to_owned(), value.to_owned())
            })
            .collect();
        let body = request.body().clone();
        let signable_body = if self.unsigned_payload {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(&body)
        };
        let signable = SignableRequest::new(
            request.method().as_str(),
            uri,
            headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
            signable_body,
        )
        .expect("a signable request");
        let (instructions, _signature) = sign(signable, &params)
            .expect("the request signs")
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        request
    }
}

/// What a server sees of a request sent over HTTP/1.1: an origin-form URI and a `Host` header.
fn over_http1(request: http::Request<Vec<u8>>) -> (Parts, Vec<u8>) {
    let (mut parts, body) = request.into_parts();
    let authority = parts.uri.authority().expect("an absolute URI").clone();
    let host = HeaderValue::from_str(authority.as_str()).expect("a valid host");
    parts.headers.insert(http::header::HOST, host);
    let origin_form = parts.uri.path_and_query().expect("a path").as_str();
    parts.uri = origin_form.parse().expect("a valid origin-form URI");
    (parts, body)
}

/// What a server sees of a request sent over HTTP/2: the authority in the URI, no `Host`.
fn over_http2(request: http::Request<Vec<u8>>) -> (Parts, Vec<u8>) {
    request.into_parts()
}

fn dynamodb_request(body: &str) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method("POST")
        .uri(format!("{ENDPOINT}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.GetItem")
        .header("user-agent", "aws-sdk-rust/1.0")
        .body(body.as_bytes().to_vec())
        .expect("a valid request")
}

const GET_ITEM: &str = r#"{"TableName":"carts","Key":{"id":{"S":"42"}}}"#;

fn signed_dynamodb_request() -> (Parts, Vec<u8>) {
    over_http1(Signer::new().sign(dynamodb_request(GET_ITEM)))
}

fn lambda_request(path_and_query: &str, body: &str) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method("POST")
        .uri(format!("{ENDPOINT}{path_and_query}"))
        .header("x-amz-invocation-type", "RequestResponse")
        .body(body.as_bytes().to_vec())
        .expect("a valid request")
}

#[test]
fn sdk_signed_request_verifies_over_http1_and_http2() {
    let signed = Signer::new().sign(dynamodb_request(GET_ITEM));
    let (parts, body) = over_http1(signed.clone());
    assert_eq!(check(&parts, &body, seconds_after_signing(0)), Ok(()));
    let (parts, body) = over_http2(signed);
    assert!(!parts.headers.contains_key(http::header::HOST));
    assert_eq!(check(&parts, &body, seconds_after_signing(0)), Ok(()));
}

#[test]
fn session_token_is_signed_and_accepted() {
    let mut signer = Signer::new();
    signer.session_token = Some("FwoGZXIvYXdzEBYaDHRva2VuLWZvci10ZXN0cw==");
    let (parts, body) = over_http1(signer.sign(dynamodb_request(GET_ITEM)));
    assert!(parts.headers.contains_key("x-amz-security-token"));
    assert_eq!(check(&parts, &body, seconds_after_signing(0)), Ok(()));

    let mut tampered = parts.clone();
    tampered.headers.insert(
        "x-amz-security-token",
        HeaderValue::from_static("another-token"),
    );
    refused(
        check(&tampered, &body, seconds_after_signing(0)),
        "InvalidSignatureException",
    );
}

#[test]
fn query_strings_needing_encoding_verify() {
    let queries = [
        "?Qualifier=%24LATEST",
        "?Qualifier=prod&Marker=a%2Fb%3Dc&MaxItems=10",
        // A space three ways, a literal `+`, an encoded `&`, and an unencoded `$` and `:`.
        "?text=a%20b&plus=a+b&literal=a%2Bb&amp=x%26y&raw=$x:y",
        // Keys that sort differently encoded than decoded, repeated keys, and empty values.
        "?b=2&a=2&a=1&%C3%A9t%C3%A9=summer&empty=&flag&Zeta=last",
        "?caf%C3%A9=%E2%98%95&tilde=~&star=*&quote=%27",
    ];
    for query in queries {
        let path = format!("/2015-03-31/functions/hello/invocations{query}");
        let mut signer = Signer::new();
        signer.service = "lambda";
        let (parts, body) = over_http1(signer.sign(lambda_request(&path, "{}")));
        assert_eq!(
            check(&parts, &body, seconds_after_signing(0)),
            Ok(()),
            "{query}"
        );
    }
}

#[test]
fn paths_with_special_characters_verify() {
    let paths = [
        // A function ARN as the Lambda SDK sends it: each `:` encoded.
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Ahello/invocations",
        // The same ARN with its `:` left as they are, which a path allows.
        "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations",
        "/functions/caf%C3%A9%20cr%C3%A8me/invocations",
        "/a/%2F/b%25c/@/!$&'()*+,;=/",
        "/tilde~/dash-/under_/dot.d",
        "/a/./b/../c//d/",
        "/.well-known/x",
        "/",
    ];
    for path in paths {
        let mut signer = Signer::new();
        signer.service = "lambda";
        let signed = signer.sign(lambda_request(path, r#"{"ok":true}"#));
        for (parts, body) in [over_http1(signed.clone()), over_http2(signed)] {
            assert_eq!(
                check(&parts, &body, seconds_after_signing(0)),
                Ok(()),
                "{path}"
            );
        }
    }
}

#[test]
fn presigned_url_verifies_until_it_expires() {
    let signer = Signer::presigned(Duration::from_secs(300));
    let request = lambda_request(
        "/2015-03-31/functions/hello/invocations?Qualifier=%24LATEST",
        "",
    );
    let (parts, body) = over_http1(signer.sign(request));
    let query = parts.uri.query().expect("a presigned query");
    assert!(query.contains("X-Amz-Signature="), "{query}");
    assert!(!parts.headers.contains_key(http::header::AUTHORIZATION));

    for seconds in [-15 * 60, 0, 300] {
        assert_eq!(
            check(&parts, &body, seconds_after_signing(seconds)),
            Ok(()),
            "{seconds} s"
        );
    }
    let message = refused(
        check(&parts, &body, seconds_after_signing(301)),
        "InvalidSignatureException",
    );
    assert_eq!(
        message,
        format!(
            "Signature expired: {SIGNED_AT} is now earlier than 20260315T101501Z \
             (20260315T102001Z - 300 sec.)"
        )
    );
    let message = refused(
        check(&parts, &body, seconds_after_signing(-15 * 60 - 1)),
        "InvalidSignatureException",
    );
    assert!(
        message.starts_with("Signature not yet current:"),
        "{message}"
    );
}

#[test]
fn presigned_url_with_session_token_verifies() {
    let mut signer = Signer::presigned(Duration::from_secs(3600));
    signer.session_token = Some("IQoJb3JpZ2luX2VjEJ//////////wEaCXVzLWVhc3QtMSJG+token=");
    let (parts, body) = over_http1(signer.sign(lambda_request("/2015-03-31/functions", "")));
    let query = parts.uri.query().expect("a presigned query");
    assert!(query.contains("X-Amz-Security-Token="), "{query}");
    assert_eq!(check(&parts, &body, seconds_after_signing(60)), Ok(()));

    let tampered = parts
        .uri
        .to_string()
        .replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x");
    let mut tampered_parts = parts.clone();
    tampered_parts.uri = tampered.parse().expect("a valid URI");
    refused(
        check(&tampered_parts, &body, seconds_after_signing(60)),
        "InvalidSignatureException",
    );
}

#[test]
fn presigned_url_without_expires_keeps_the_clock_skew() {
    let (mut parts, body) = over_http1(
        Signer::presigned(Duration::from_secs(60))
            .sign(lambda_request("/2015-03-31/functions", "")),
    );
    // Take `X-Amz-Expires` out; the URL no longer verifies, but it is judged by the skew first.
    let without_expires: Vec<&str> = parts
        .uri
        .query()
        .expect("a presigned query")
        .split('&')
        .filter(|pair| !pair.starts_with("X-Amz-Expires="))
        .collect();
    parts.uri = format!("/2015-03-31/functions?{}", without_expires.join("&"))
        .parse()
        .expect("a valid URI");
    let message = refused(
        check(&parts, &body, seconds_after_signing(10 * 60)),
        "InvalidSignatureException",
    );
    assert!(message.starts_with(MISMATCH), "{message}");
    let message = refused(
        check(&parts, &body, seconds_after_signing(15 * 60 + 1)),
        "InvalidSignatureException",
    );
    assert!(message.starts_with("Signature expired:"), "{message}");
}

#[test]
fn unsigned_payload_leaves_the_body_unchecked() {
    let mut signer = Signer::new();
    signer.settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    signer.unsigned_payload = true;
    let (parts, _) = over_http1(signer.sign(dynamodb_request(GET_ITEM)));
    assert_eq!(
        parts.headers.get("x-amz-content-sha256"),
        Some(&HeaderValue::from_static("UNSIGNED-PAYLOAD"))
    );
    for body in [GET_ITEM.as_bytes(), b"another body"] {
        assert_eq!(check(&parts, body, seconds_after_signing(0)), Ok(()));
    }
}

#[test]
fn declared_payload_hash_must_be_the_body_hash() {
    let mut signer = Signer::new();
    signer.settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let (parts, body) = over_http1(signer.sign(dynamodb_request(GET_ITEM)));
    assert!(parts.headers.contains_key("x-amz-content-sha256"));
    assert_eq!(check(&parts, &body, seconds_after_signing(0)), Ok(()));
    // The header still says the old body's hash, and the signature covers it, but the body
    // does not match it.
    refused(
        check(&parts, b"{}", seconds_after_signing(0)),
        "InvalidSignatureException",
    );
}

#[test]
fn tampered_requests_are_refused() {
    let (parts, body) = signed_dynamodb_request();
    let now = seconds_after_signing(0);
    assert_eq!(check(&parts, &body, now), Ok(()));

    let other_body = GET_ITEM.replace("42", "43");
    let mut other_target = parts.clone();
    other_target.headers.insert(
        "x-amz-target",
        HeaderValue::from_static("DynamoDB_20120810.DeleteItem"),
    );
    let mut other_path = parts.clone();
    other_path.uri = "/other".parse().expect("a valid URI");
    let mut other_query = parts.clone();
    other_query.uri = "/?x=1".parse().expect("a valid URI");
    let mut other_method = parts.clone();
    other_method.method = http::Method::PUT;
    let mut other_host = parts.clone();
    other_host.headers.insert(
        http::header::HOST,
        HeaderValue::from_static("127.0.0.1:4567"),
    );
    let cases = [
        ("body", &parts, other_body.as_bytes()),
        ("signed header", &other_target, &body[..]),
        ("path", &other_path, &body[..]),
        ("query", &other_query, &body[..]),
        ("method", &other_method, &body[..]),
        ("host", &other_host, &body[..]),
    ];
    for (case, parts, body) in cases {
        let message = refused(check(parts, body, now), "InvalidSignatureException");
        assert!(message.starts_with(MISMATCH), "{case}: {message}");
    }
}

#[test]
fn unsigned_headers_may_change() {
    let (mut parts, body) = signed_dynamodb_request();
    // aws-sigv4 leaves `user-agent` out of the signature, as proxies change it.
    parts.headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static("a proxy"),
    );
    parts
        .headers
        .insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
    assert_eq!(check(&parts, &body, seconds_after_signing(0)), Ok(()));
}

#[test]
fn mismatch_message_shows_what_was_signed() {
    let (parts, _) = signed_dynamodb_request();
    let message = refused(
        check(&parts, b"{}", seconds_after_signing(0)),
        "InvalidSignatureException",
    );
    let signed_headers = "content-type;host;x-amz-date;x-amz-target";
    let expected_start = format!(
        "{MISMATCH}\n\nThe Canonical String for this request should have been\n'POST\n/\n\n\
         content-type:application/x-amz-json-1.0\nhost:127.0.0.1:4566\nx-amz-date:{SIGNED_AT}\n\
         x-amz-target:DynamoDB_20120810.GetItem\n\n{signed_headers}\n\
         44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'\n\n\
         The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n{SIGNED_AT}\n\
         20260315/us-east-1/dynamodb/aws4_request\n"
    );
    assert!(message.starts_with(&expected_start), "{message}");
    assert!(message.ends_with("'\n"), "{message}");
}

#[test]
fn wrong_secret_is_an_invalid_signature() {
    let mut signer = Signer::new();
    signer.secret = "not the configured secret";
    let (parts, body) = over_http1(signer.sign(dynamodb_request(GET_ITEM)));
    let message = refused(
        check(&parts, &body, seconds_after_signing(0)),
        "InvalidSignatureException",
    );
    assert!(message.starts_with(MISMATCH), "{message}");
}

#[test]
fn unknown_key_id_is_an_unrecognized_client() {
    let mut signer = Signer::new();
    signer.key_id = "AKIDUNKNOWN";
    let (parts, body) = over_http1(signer.sign(dynamodb_request(GET_ITEM)));
    let message = refused(
        check(&parts, &body, seconds_after_signing(0)),
        "UnrecognizedClientException",
    );
    assert_eq!(
        message,
        "The security token included in the request is invalid."
    );
}

#[test]
fn clock_skew_of_fifteen_minutes_either_way() {
    let (parts, body) = signed_dynamodb_request();
    for seconds in [-15 * 60, -60, 60, 15 * 60] {
        assert_eq!(
            check(&parts, &body, seconds_after_signing(seconds)),
            Ok(()),
            "{seconds} s"
        );
    }
    let message = refused(
        check(&parts, &body, seconds_after_signing(15 * 60 + 1)),
        "InvalidSignatureException",
    );
    assert_eq!(
        message,
        format!(
            "Signature expired: {SIGNED_AT} is now earlier than 20260315T101501Z \
             (20260315T103001Z - 15 min.)"
        )
    );
    let message = refused(
        check(&parts, &body, seconds_after_signing(-15 * 60 - 1)),
        "InvalidSignatureException",
    );
    assert_eq!(
        message,
        format!(
            "Signature not yet current: {SIGNED_AT} is still later than 20260315T101459Z \
             (20260315T095959Z + 15 min.)"
        )
    );
}

#[test]
fn no_signature_is_a_missing_authentication_token() {
    let (parts, body) = over_http1(dynamodb_request(GET_ITEM));
    let message = refused(
        check(&parts, &body, seconds_after_signing(0)),
        "MissingAuthenticationTokenException",
    );
    assert_eq!(message, "Request is missing Authentication Token");

    for scheme in [
        "AWS AKIDEXAMPLE:c2lnbmF0dXJl",
        "Bearer abc",
        "aws4-hmac-sha256 x",
    ] {
        let mut parts = parts.clone();
        parts.headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static(scheme),
        );
        refused(
            check(&parts, &body, seconds_after_signing(0)),
            "MissingAuthenticationTokenException",
        );
    }
}

#[test]
fn both_signature_forms_are_refused() {
    let (mut parts, body) = signed_dynamodb_request();
    parts.uri = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        .parse()
        .expect("a valid URI");
    let message = refused(
        check(&parts, &body, seconds_after_signing(0)),
        "InvalidSignatureException",
    );
    assert_eq!(
        message,
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    );
}

/// A DynamoDB request with this `Authorization` header and these extra headers, unsigned.
fn with_header(authorization: &str, headers: &[(&'static str, &str)]) -> Result<(), AuthError> {
    let (mut parts, body) = over_http1(dynamodb_request(GET_ITEM));
    parts.headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(authorization).expect("a valid header"),
    );
    for (name, value) in headers {
        parts
            .headers
            .insert(*name, HeaderValue::from_str(value).expect("a valid header"));
    }
    check(&parts, &body, seconds_after_signing(0))
}

const WELL_FORMED: &str = "AWS4-HMAC-SHA256 Credential=AKIDRONDOEXAMPLE/20260315/us-east-1/dynamodb/aws4_request, \
     SignedHeaders=host;x-amz-date, \
     Signature=0000000000000000000000000000000000000000000000000000000000000000";
const DATED: &[(&str, &str)] = &[("x-amz-date", SIGNED_AT)];

#[test]
fn incomplete_authorization_header_says_what_is_missing() {
    let authorization =
        "AWS4-HMAC-SHA256 Credential=AKIDRONDOEXAMPLE/20260315/us-east-1/dynamodb/aws4_request";
    let message = refused(
        with_header(authorization, &[]),
        "IncompleteSignatureException",
    );
    assert_eq!(
        message,
        format!(
            "Authorization header requires 'Signature' parameter. Authorization header requires \
             'SignedHeaders' parameter. Authorization header requires existence of either a \
             'X-Amz-Date' or a 'Date' header. Authorization={authorization}"
        )
    );

    let message = refused(
        with_header(
            "AWS4-HMAC-SHA256 Credential=, Signature=abc, SignedHeaders=",
            DATED,
        ),
        "IncompleteSignatureException",
    );
    assert_eq!(
        message,
        "Authorization header requires 'Credential' parameter. \
         Authorization=AWS4-HMAC-SHA256 Credential=, Signature=abc, SignedHeaders="
    );

    let authorization = "AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders";
    let message = refused(
        with_header(authorization, DATED),
        "IncompleteSignatureException",
    );
    assert_eq!(
        message,
        format!(
            "'Credential' not a valid key=value pair (missing equal-sign) in Authorization \
             header: '{authorization}'."
        )
    );
}

#[test]
fn dates_must_be_iso_8601_basic() {
    for date in [
        "2026-03-15T10:15:00Z",
        "20260315T101500",
        "+20260315T10150Z",
        "20261315T101500Z",
    ] {
        let message = refused(
            with_header(WELL_FORMED, &[("x-amz-date", date)]),
            "IncompleteSignatureException",
        );
        assert_eq!(
            message,
            format!(
                "Date must be in ISO-8601 'basic format'. Got '{date}'. See \
                 http://en.wikipedia.org/wiki/ISO_8601"
            )
        );
    }
}

#[test]
fn date_header_stands_in_for_x_amz_date() {
    // Only `Date`: it is read, and written in the basic format in the string to sign.
    let authorization = WELL_FORMED.replace("host;x-amz-date", "date;host");
    let message = refused(
        with_header(&authorization, &[("date", "Sun, 15 Mar 2026 10:15:00 GMT")]),
        "InvalidSignatureException",
    );
    assert!(
        message.contains(&format!(
            "'AWS4-HMAC-SHA256\n{SIGNED_AT}\n20260315/us-east-1/dynamodb/aws4_request\n"
        )),
        "{message}"
    );
    // `X-Amz-Date` wins when both are there.
    let message = refused(
        with_header(
            WELL_FORMED,
            &[
                ("date", "Mon, 16 Mar 2026 10:15:00 GMT"),
                ("x-amz-date", SIGNED_AT),
            ],
        ),
        "InvalidSignatureException",
    );
    assert!(message.starts_with(MISMATCH), "{message}");

    let message = refused(
        with_header(&authorization, &[("date", "2026-03-15")]),
        "IncompleteSignatureException",
    );
    assert_eq!(
        message,
        "Date header must be an HTTP date like 'Sun, 30 Aug 2015 12:36:00 GMT'. Got '2026-03-15'."
    );
}

#[test]
fn host_must_be_signed() {
    let authorization = WELL_FORMED.replace("host;x-amz-date", "x-amz-date");
    let message = refused(
        with_header(&authorization, DATED),
        "InvalidSignatureException",
    );
    assert_eq!(
        message,
        "'Host' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn only_hmac_sha256_is_supported() {
    for algorithm in ["AWS4-HMAC-SHA512", "AWS4-ECDSA-P256-SHA256"] {
        let authorization = WELL_FORMED.replace("AWS4-HMAC-SHA256", algorithm);
        let message = refused(
            with_header(&authorization, DATED),
            "IncompleteSignatureException",
        );
        assert_eq!(
            message,
            format!("Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now).")
        );
    }
}

#[test]
fn credential_has_five_elements() {
    let short = WELL_FORMED.replace("/dynamodb/aws4_request", "/dynamodb");
    let message = refused(with_header(&short, DATED), "IncompleteSignatureException");
    assert_eq!(
        message,
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got 'AKIDRONDOEXAMPLE/20260315/us-east-1/dynamodb'"
    );
    let long = WELL_FORMED.replace("/aws4_request", "/aws4_request/extra");
    refused(with_header(&long, DATED), "IncompleteSignatureException");

    // Trailing slashes are ignored; the request then fails only on its signature.
    let trailing = WELL_FORMED.replace("/aws4_request", "/aws4_request//");
    let message = refused(with_header(&trailing, DATED), "InvalidSignatureException");
    assert!(message.starts_with(MISMATCH), "{message}");
}

#[test]
fn credential_scope_needs_the_terminator_and_the_signing_day() {
    let authorization = WELL_FORMED
        .replace("/aws4_request", "/aws5_request")
        .replace("/20260315/", "/20260314/");
    let message = refused(
        with_header(&authorization, DATED),
        "InvalidSignatureException",
    );
    assert_eq!(
        message,
        format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not \
             'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 \
             version of date from HTTP: '20260314' != '20260315', from '{SIGNED_AT}'."
        )
    );
}

#[test]
fn any_region_and_service_may_be_signed_for() {
    for (region, service) in [
        ("eu-west-3", "dynamodb"),
        ("rondo-local", "lambda"),
        ("x", "y"),
    ] {
        let mut signer = Signer::new();
        signer.region = region;
        signer.service = service;
        let (parts, body) = over_http1(signer.sign(dynamodb_request(GET_ITEM)));
        assert_eq!(
            check(&parts, &body, seconds_after_signing(0)),
            Ok(()),
            "{region}/{service}"
        );
    }
}

#[test]
fn incomplete_presigned_url_says_what_is_missing() {
    let (mut parts, body) = over_http1(dynamodb_request(GET_ITEM));
    parts.uri = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=&X-Amz-SignedHeaders=host"
        .parse()
        .expect("a valid URI");
    let message = refused(
        check(&parts, &body, seconds_after_signing(0)),
        "IncompleteSignatureException",
    );
    assert_eq!(
        message,
        "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string \
         parameters must include 'X-Amz-Signature'. AWS query-string parameters must include \
         'X-Amz-Date'. Re-examine the query-string parameters."
    );
}

#[test]
fn presigned_expiry_must_be_a_number_of_seconds_up_to_a_week() {
    let (mut parts, body) = over_http1(
        Signer::presigned(Duration::from_secs(60))
            .sign(lambda_request("/2015-03-31/functions", "")),
    );
    let query = parts.uri.query().expect("a presigned query").to_owned();
    let cases = [
        (
            "604801",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
        ),
        (
            "99999999999",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
        ),
        ("-5", "X-Amz-Expires must be non-negative"),
        ("soon", "X-Amz-Expires should be a number"),
        ("", "X-Amz-Expires should be a number"),
    ];
    for (expires, expected) in cases {
        parts.uri = format!(
            "/2015-03-31/functions?{}",
            query.replace("X-Amz-Expires=60", &format!("X-Amz-Expires={expires}"))
        )
        .parse()
        .expect("a valid URI");
        let message = refused(
            check(&parts, &body, seconds_after_signing(0)),
            "IncompleteSignatureException",
        );
        assert_eq!(message, expected, "{expires}");
    }
}

#[test]
fn accept_any_lets_every_request_through() {
    let (unsigned, body) = over_http1(dynamodb_request(GET_ITEM));
    let mut garbage = unsigned.clone();
    garbage.headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_static("AWS4-HMAC-SHA256 nonsense"),
    );
    let (signed, _) = signed_dynamodb_request();
    let long_ago = UNIX_EPOCH;
    for parts in [&unsigned, &garbage, &signed] {
        for service in [Service::DynamoDb, Service::Lambda] {
            assert_eq!(
                verify(&AuthPolicy::AcceptAny, service, parts, &body, long_ago),
                Ok(())
            );
        }
    }
}

#[test]
fn each_service_answers_with_its_own_status() {
    let (parts, body) = over_http1(dynamodb_request(GET_ITEM));
    let now = seconds_after_signing(0);
    let dynamodb = verify(&policy(), Service::DynamoDb, &parts, &body, now);
    let lambda = verify(&policy(), Service::Lambda, &parts, &body, now);
    let dynamodb = dynamodb.expect_err("unsigned");
    let lambda = lambda.expect_err("unsigned");
    assert_eq!(dynamodb.status, StatusCode::BAD_REQUEST);
    assert_eq!(lambda.status, StatusCode::FORBIDDEN);
    assert_eq!(
        (dynamodb.code, &dynamodb.message),
        (lambda.code, &lambda.message)
    );
    assert_eq!(
        dynamodb.to_string(),
        "MissingAuthenticationTokenException: Request is missing Authentication Token"
    );
}

#[test]
fn a_logged_policy_shows_no_secret() {
    let shown = format!("{:?}", policy());
    assert_eq!(
        shown,
        "Verify { access_key_ids: [\"AKIDEXAMPLE\", \"AKIDRONDOEXAMPLE\", \"ANOTREAL\"], .. }"
    );
    assert_eq!(format!("{:?}", AuthPolicy::AcceptAny), "AcceptAny");
}
