use manifest::RouteKey;

use super::RouteTable;

/// Builds a table from route key texts and checks which route answers `method path`.
///
/// `expect` is `none`, or the chosen route key followed by ` name=value` per path parameter.
/// Each route's value is its index in `routes`, which is checked against the key too.
fn check(routes: &[&str], method: &str, path: &str, expect: &str) {
    let entries = routes
        .iter()
        .enumerate()
        .map(|(route_idx, text)| {
            let key = RouteKey::parse(text).expect("test route keys are valid");
            (key, (*text).to_owned(), route_idx)
        })
        .collect();
    let table = RouteTable::new(entries);
    let method = http::Method::from_bytes(method.as_bytes()).expect("test methods are valid");
    let actual = match table.find(&method, path) {
        None => "none".to_owned(),
        Some(found) => {
            assert_eq!(
                routes[*found.value], found.route_key,
                "value and route key disagree"
            );
            let params = found.path_parameters.iter();
            let params: String = params
                .map(|(name, value)| format!(" {name}={value}"))
                .collect();
            format!("{}{params}", found.route_key)
        }
    };
    assert_eq!(actual, expect, "{method} {path}");
}

const PETS: &[&str] = &[
    "$default",
    "ANY /{proxy+}",
    "GET /pets/{proxy+}",
    "GET /pets/dog/{id}",
    "GET /pets/dog/1",
];

#[test]
fn aws_example_priority_order() {
    check(PETS, "GET", "/pets/dog/1", "GET /pets/dog/1");
    check(PETS, "GET", "/pets/dog/2", "GET /pets/dog/{id} id=2");
    check(PETS, "GET", "/pets/cat/1", "GET /pets/{proxy+} proxy=cat/1");
    check(
        PETS,
        "POST",
        "/pets/dog/1",
        "ANY /{proxy+} proxy=pets/dog/1",
    );
    check(PETS, "GET", "/", "$default");
}

#[test]
fn order_of_declaration_does_not_matter() {
    let reversed: Vec<&str> = PETS.iter().rev().copied().collect();
    check(&reversed, "GET", "/pets/dog/1", "GET /pets/dog/1");
    check(&reversed, "GET", "/pets/dog/2", "GET /pets/dog/{id} id=2");
    check(
        &reversed,
        "GET",
        "/pets/cat/1",
        "GET /pets/{proxy+} proxy=cat/1",
    );
}

#[test]
fn literal_beats_param_from_the_left() {
    let routes = &["GET /{a}/b", "GET /a/{b}"];
    check(routes, "GET", "/a/b", "GET /a/{b} b=b");
    check(routes, "GET", "/x/b", "GET /{a}/b a=x");
    check(routes, "GET", "/x/y", "none");
}

#[test]
fn explicit_method_beats_any() {
    let routes = &[
        "ANY /items/{id}",
        "GET /items/{id}",
        "ANY /items",
        "POST /items",
    ];
    check(routes, "GET", "/items/7", "GET /items/{id} id=7");
    check(routes, "DELETE", "/items/7", "ANY /items/{id} id=7");
    check(routes, "POST", "/items", "POST /items");
    check(routes, "PATCH", "/items", "ANY /items");
}

#[test]
fn more_specific_path_beats_explicit_method() {
    let routes = &["GET /items/{id}", "ANY /items/new"];
    check(routes, "GET", "/items/new", "ANY /items/new");
}

#[test]
fn full_match_beats_greedy() {
    let routes = &["GET /files/{proxy+}", "ANY /files/{name}"];
    check(routes, "GET", "/files/a", "ANY /files/{name} name=a");
    check(routes, "GET", "/files/a/b", "GET /files/{proxy+} proxy=a/b");
}

#[test]
fn greedy_longest_prefix_then_method() {
    let routes = &[
        "ANY /{proxy+}",
        "ANY /a/{proxy+}",
        "GET /a/{proxy+}",
        "GET /a/{x}/{proxy+}",
        "GET /a/b/{proxy+}",
    ];
    check(routes, "GET", "/a/b/c", "GET /a/b/{proxy+} proxy=c");
    check(routes, "GET", "/a/z/c", "GET /a/{x}/{proxy+} x=z proxy=c");
    check(routes, "GET", "/a/z", "GET /a/{proxy+} proxy=z");
    check(routes, "PUT", "/a/z/c", "ANY /a/{proxy+} proxy=z/c");
    check(routes, "PUT", "/b", "ANY /{proxy+} proxy=b");
}

#[test]
fn greedy_captures_several_segments() {
    let routes = &["GET /static/{path+}"];
    check(
        routes,
        "GET",
        "/static/css/site/main.css",
        "GET /static/{path+} path=css/site/main.css",
    );
    check(routes, "GET", "/static/", "none");
    check(routes, "GET", "/static", "none");
}

#[test]
fn no_match_without_default() {
    let routes = &["GET /hello", "POST /hello/{name}"];
    check(routes, "GET", "/bye", "none");
    check(routes, "GET", "/hello/ann", "none");
    check(routes, "POST", "/hello", "none");
    check(&[], "GET", "/", "none");
}

#[test]
fn default_catches_everything_else() {
    let routes = &["GET /hello", "$default"];
    check(routes, "POST", "/hello", "$default");
    check(routes, "GET", "/a/b/c", "$default");
    check(routes, "OPTIONS", "*", "$default");
}

#[test]
fn root_has_zero_segments() {
    let routes = &["GET /", "GET /{name}", "ANY /{proxy+}"];
    check(routes, "GET", "/", "GET /");
    check(routes, "GET", "/ann", "GET /{name} name=ann");
    check(&["ANY /{proxy+}"], "GET", "/", "none");
}

#[test]
fn trailing_slash_and_empty_segments_do_not_match() {
    let routes = &["GET /hello", "GET /hello/{name}", "GET /a/{b}/c"];
    check(routes, "GET", "/hello/", "none");
    check(routes, "GET", "/a//c", "none");
    check(routes, "GET", "//hello", "none");
}

#[test]
fn head_does_not_fall_back_to_get() {
    check(&["GET /x"], "HEAD", "/x", "none");
    check(&["GET /x", "ANY /x"], "HEAD", "/x", "ANY /x");
    check(&["HEAD /x"], "HEAD", "/x", "HEAD /x");
}

#[test]
fn unnamed_methods_match_only_any() {
    check(
        &["GET /x", "ANY /{proxy+}"],
        "TRACE",
        "/x",
        "ANY /{proxy+} proxy=x",
    );
    check(&["GET /x"], "PROPFIND", "/x", "none");
}

#[test]
fn path_parameters_are_percent_decoded() {
    let routes = &["GET /users/{name}", "GET /files/{path+}"];
    check(
        routes,
        "GET",
        "/users/J%C3%BCrgen%20M",
        "GET /users/{name} name=Jürgen M",
    );
    check(
        routes,
        "GET",
        "/files/a%2Fb/c%20d",
        "GET /files/{path+} path=a/b/c d",
    );
    check(routes, "GET", "/users/a+b", "GET /users/{name} name=a+b");
}

#[test]
fn undecodable_path_parameters_stay_raw() {
    let routes = &["GET /users/{name}"];
    check(routes, "GET", "/users/100%", "GET /users/{name} name=100%");
    check(routes, "GET", "/users/%zz", "GET /users/{name} name=%zz");
    check(routes, "GET", "/users/%FF", "GET /users/{name} name=%FF");
}

#[test]
fn literals_compare_with_the_raw_path() {
    check(&["GET /a b"], "GET", "/a%20b", "none");
}
