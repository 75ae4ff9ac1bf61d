use expect_test::{Expect, expect};

use super::RouteKey;

/// Parses a route key and shows either the key and how it prints, or the error.
fn check(text: &str, expect: Expect) {
    let actual = match RouteKey::parse(text) {
        Ok(key) => format!("{key:?}\n{key}"),
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&actual);
}

#[test]
fn default_route() {
    check(
        "$default",
        expect![[r#"
            Default
            $default"#]],
    );
}

#[test]
fn root_path() {
    check(
        "GET /",
        expect![[r#"
            Route { method: Get, segments: [] }
            GET /"#]],
    );
}

#[test]
fn literal_segments() {
    check(
        "POST /carts/items",
        expect![[r#"
            Route { method: Post, segments: [Literal("carts"), Literal("items")] }
            POST /carts/items"#]],
    );
}

#[test]
fn parameters_and_greedy_last() {
    check(
        "ANY /users/{user_id}/files/{path+}",
        expect![[r#"
            Route { method: Any, segments: [Literal("users"), Param("user_id"), Literal("files"), Greedy("path")] }
            ANY /users/{user_id}/files/{path+}"#]],
    );
}

#[test]
fn every_method() {
    let methods = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
    ];
    for method in methods {
        let text = format!("{method} /x");
        let key = RouteKey::parse(&text).expect("every method parses");
        assert_eq!(key.to_string(), text);
    }
}

#[test]
fn missing_path() {
    check(
        "GET",
        expect!["error: a route is `$default` or `METHOD /path`, e.g. `GET /hello/{name}`"],
    );
}

#[test]
fn other_dollar_key() {
    check(
        "$connect",
        expect!["error: a route is `$default` or `METHOD /path`, e.g. `GET /hello/{name}`"],
    );
}

#[test]
fn lower_case_method() {
    check(
        "get /hello",
        expect![
            "error: method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY (upper case)"
        ],
    );
}

#[test]
fn relative_path() {
    check("GET hello", expect!["error: path must start with `/`"]);
}

#[test]
fn two_spaces() {
    check("GET  /hello", expect!["error: path must start with `/`"]);
}

#[test]
fn trailing_slash() {
    check(
        "GET /hello/",
        expect!["error: path has an empty segment (`//` or a trailing `/`)"],
    );
}

#[test]
fn double_slash() {
    check(
        "GET /a//b",
        expect!["error: path has an empty segment (`//` or a trailing `/`)"],
    );
}

#[test]
fn empty_parameter_name() {
    check(
        "GET /a/{}",
        expect![
            "error: path parameter `{}` must be `{name}` or `{name+}` with a name of letters, digits, `_` or `-`"
        ],
    );
}

#[test]
fn bad_parameter_name() {
    check(
        "GET /a/{na.me}",
        expect![
            "error: path parameter `{na.me}` must be `{name}` or `{name+}` with a name of letters, digits, `_` or `-`"
        ],
    );
}

#[test]
fn greedy_not_last() {
    check(
        "GET /{proxy+}/x",
        expect!["error: greedy parameter `{proxy+}` must be the last segment"],
    );
}

#[test]
fn mixed_segment() {
    check(
        "GET /file-{id}",
        expect![
            "error: segment `file-{id}` mixes text and a parameter; a parameter must be the whole segment"
        ],
    );
}

#[test]
fn repeated_parameter() {
    check(
        "GET /{id}/x/{id}",
        expect!["error: a path parameter name is used twice"],
    );
}
