//! Projection expressions: their checks, and the shape of what they return.

use super::{Env, item, message_of};
use crate::expr::{Path, PathElem, project};

fn check_error(env: &Env, text: &str, expected: &str) {
    let expected = format!("Invalid ProjectionExpression: {expected}");
    assert_eq!(message_of(env.projection(text)), expected, "{text}");
}

fn check_apply(text: &str, expected: &str) {
    let env = Env::new().name("#l", "mylist").name("#st", "status");
    let projection = env
        .projection(text)
        .unwrap_or_else(|message| panic!("{text}: {message}"));
    let sample = item(
        r#"{
            "s": {"S": "abc"},
            "status": {"S": "on"},
            "mylist": {"L": [{"S": "zero"}, {"S": "one"}, {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}]},
            "m": {"M": {"x": {"N": "1"}, "y": {"L": [{"S": "deep"}, {"S": "deeper"}]}, "z": {"S": "z"}}}
        }"#,
    );
    assert_eq!(projection.apply(&sample), item(expected), "{text}");
}

#[test]
fn paths_are_resolved_in_text_order() {
    let env = Env::new().name("#a", "a.b");
    let projection = env.projection("x, #a, m.y[1].z").expect("valid projection");
    let attr = |name: &str| PathElem::Attr(name.to_owned());
    assert_eq!(
        projection.paths(),
        [
            Path(vec![attr("x")]),
            Path(vec![attr("a.b")]),
            Path(vec![attr("m"), attr("y"), PathElem::Index(1), attr("z")]),
        ]
    );
}

#[test]
fn checks_in_dynamodb_order() {
    let env = Env::new().name("#a", "a");
    check_error(
        &env,
        "a, name, #zz",
        "Attribute name is a reserved keyword; reserved keyword: name",
    );
    check_error(
        &env,
        "a, #zz, a",
        "An expression attribute name used in the document path is not defined; attribute name: #zz",
    );
    check_error(
        &env,
        "a, #a",
        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
    );
    check_error(
        &env,
        "b.c, b",
        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [b, c], path two: [b]",
    );
    check_error(
        &env,
        "b[0], b.c",
        "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [b, [0]], path two: [b, c]",
    );
    check_error(
        &env,
        "b[0], b.c, d, d.e",
        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [d], path two: [d, e]",
    );
    assert!(env.projection("b[0], b[1], c.d, c.e, #a").is_ok());
}

#[test]
fn projections_keep_the_structure_of_nested_paths() {
    check_apply("s", r#"{"s": {"S": "abc"}}"#);
    check_apply("s, #st", r#"{"s": {"S": "abc"}, "status": {"S": "on"}}"#);
    check_apply("absent", r#"{}"#);
    check_apply("s, absent", r#"{"s": {"S": "abc"}}"#);
    check_apply("m.x", r#"{"m": {"M": {"x": {"N": "1"}}}}"#);
    check_apply(
        "m.x, m.z",
        r#"{"m": {"M": {"x": {"N": "1"}, "z": {"S": "z"}}}}"#,
    );
    check_apply("m.y[1]", r#"{"m": {"M": {"y": {"L": [{"S": "deeper"}]}}}}"#);
    check_apply("#l[1]", r#"{"mylist": {"L": [{"S": "one"}]}}"#);
    check_apply(
        "#l[2].y, #l[0]",
        r#"{"mylist": {"L": [{"S": "zero"}, {"M": {"y": {"N": "2"}}}]}}"#,
    );
    check_apply("#l[7], m.nope", r#"{}"#);
    check_apply("s.x, m[0], #l.x", r#"{}"#);
}

#[test]
fn project_tolerates_paths_that_overlap() {
    let sample = item(r#"{"m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}}"#);
    let attr = |name: &str| PathElem::Attr(name.to_owned());
    let whole = Path(vec![attr("m")]);
    let part = Path(vec![attr("m"), attr("x")]);
    assert_eq!(project(&sample, &[part.clone(), whole.clone()]), sample);
    assert_eq!(project(&sample, &[whole, part]), sample);
    assert_eq!(project(&sample, &[]), item("{}"));
    assert_eq!(
        project(&sample, &[Path(Vec::new()), Path(vec![PathElem::Index(0)])]),
        item("{}")
    );
}
