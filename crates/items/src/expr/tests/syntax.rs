//! Syntax errors: the token where the grammar stops, and the text around it.

use super::{Env, message_of};

fn check_condition(text: &str, token: &str, near: &str) {
    let expected =
        format!("Invalid ConditionExpression: Syntax error; token: \"{token}\", near: \"{near}\"");
    assert_eq!(
        message_of(Env::standard().condition(text)),
        expected,
        "{text}"
    );
}

fn check_update(text: &str, token: &str, near: &str) {
    let expected =
        format!("Invalid UpdateExpression: Syntax error; token: \"{token}\", near: \"{near}\"");
    assert_eq!(message_of(Env::standard().update(text)), expected, "{text}");
}

fn check_projection(text: &str, token: &str, near: &str) {
    let expected =
        format!("Invalid ProjectionExpression: Syntax error; token: \"{token}\", near: \"{near}\"");
    assert_eq!(message_of(Env::new().projection(text)), expected, "{text}");
}

#[test]
fn condition_syntax_errors_name_the_token_and_its_neighbours() {
    let cases = [
        ("a = = b", "=", "= = b"),
        ("things are not gonna be ok", "are", "things are not"),
        ("a > 4", "4", "> 4"),
        (
            "attribute_exists(Pictures-RearView)",
            "-",
            "Pictures-RearView",
        ),
        (
            "attribute_exists(\"Pictures.RearView\")",
            "\"",
            "(\"Pictures",
        ),
        ("attribute_exists(Pictures..RearView)", ".", "..RearView"),
        (
            "attribute_exists(Pi#ctures.RearView)",
            "#ctures",
            "Pi#ctures.",
        ),
        ("attribute_exists(asdf[a])", "a", "[a]"),
        ("a in b, c", "b", "in b,"),
        ("a > between", "between", "> between"),
        ("a in b", "b", "in b"),
        ("a in (b,c,)", ")", ",)"),
        ("(a)between(b.(c.d))and(c)", "(", ".(c"),
        ("(a)between(b.c.d)and((c)", "<EOF>", ")"),
        ("#$.b > a", "#", "#$"),
        ("a > :things.stuff", ".", ":things.stuff"),
        ("b[:a] > a", ":a", "[:a]"),
        ("b[#_] > a", "#_", "[#_]"),
        ("ü > a", "ü", "ü >"),
        ("(a)between(b.c[4.5].#d)and(:a)", ".", "4.5"),
        ("size(a).b > a", ".", ").b"),
        ("(size(a)).b > a", ".", ").b"),
        ("size(a)[0] > a", "[", ")[0"),
        ("a", "<EOF>", "a"),
        ("(a)", ")", "a)"),
        ("NOT a", "<EOF>", "a"),
        ("a AND b = c", "AND", "a AND b"),
        ("(a = b", "<EOF>", "b"),
        ("(a = b) = c", "=", ") = c"),
        ("a = (b = c)", "=", "b = c"),
        ("a = (NOT b)", "NOT", "(NOT b"),
        ("a < b < c", "<", "b < c"),
        ("a BETWEEN b", "<EOF>", "b"),
        ("ADD #v :i", "ADD", "ADD #v"),
        ("a = b SET", "SET", "b SET"),
        ("attribute_exists()", ")", "()"),
        ("a = :", ":", "= :"),
        ("a = 'b'", "'", "= 'b"),
        ("a.b(c) = d", "(", "b(c"),
        (
            "a[99999999999999999999999] = b",
            "99999999999999999999999",
            "[99999999999999999999999]",
        ),
    ];
    for (text, token, near) in cases {
        check_condition(text, token, near);
    }
}

#[test]
fn keywords_are_case_insensitive_and_never_names() {
    let env = Env::standard();
    for text in [
        "s = :a and s = :b",
        "s = :a AnD s = :b",
        "s = :a oR NoT s = :b",
        "s bEtWeEn :a and :b",
        "s In (:a, :b)",
    ] {
        assert!(env.condition(text).is_ok(), "{text}");
    }
    check_condition("and = :a", "and", "and =");
    check_condition("a.in = :a", "in", ".in =");
}

#[test]
fn update_syntax_errors_name_the_token_and_its_neighbours() {
    let cases = [
        ("INVALID SYNTAX HERE", "INVALID", "INVALID SYNTAX"),
        ("ADD hits : incr", ":", "hits : incr"),
        ("whatever", "whatever", "whatever"),
        ("set a", "<EOF>", "a"),
        ("add a", "<EOF>", "a"),
        ("delete a", "<EOF>", "a"),
        ("set a=set", "set", "=set"),
        ("remove a = b", "=", "a = b"),
        ("add a = b", "=", "a = b"),
        ("delete a b", "b", "a b"),
        (
            "delete a if_not_exist(b)",
            "if_not_exist",
            "a if_not_exist(",
        ),
        ("add abort b", "b", "abort b"),
        ("remove a b", "b", "a b"),
        ("set a b", "b", "a b"),
        ("set :a = b", ":a", "set :a ="),
        ("add :a b", ":a", "add :a b"),
        ("remove :a", ":a", "remove :a"),
        ("set a = b / c", "/", "b / c"),
        ("set a = b * c", "*", "b * c"),
        ("set a[1] = \"eight\"", "\"", "= \"eight"),
        ("set a[1] = 1", "1", "= 1"),
        ("SET if_not_exist(a, b) = a", "(", "if_not_exist(a"),
        ("set (a = (b + c))", "(", "set (a"),
        ("set a = (b.c).d + e", ".", ").d"),
        ("set a = (b.c)[0] + e", "[", ")[0"),
        ("set a = b + c + d", "+", "c + d"),
        ("SET a = b +", "<EOF>", "+"),
        ("SET a = b,", "<EOF>", ","),
        ("SET a = (b + c) + d", "+", ") + d"),
        ("SET a = (((b)))", "(", "((b"),
        ("SET a = f()", ")", "()"),
        ("SET a = :b REMOVE", "<EOF>", "REMOVE"),
    ];
    for (text, token, near) in cases {
        check_update(text, token, near);
    }
}

#[test]
fn update_right_hand_sides_take_parentheses_as_dynamodb_does() {
    let env = Env::standard();
    for text in [
        "SET x = (s)",
        "SET x = ((s))",
        "SET x = (n + :one)",
        "SET x = (n) + (:one)",
        "SET x = ((n) + (:one))",
        "SET x = if_not_exists(n, :zero) + :one",
        "SET x = if_not_exists(n, if_not_exists(m, :zero))",
        "SET x = list_append((l), (:list))",
        "SET x = n - :one, y = s",
        "set x = s remove y add z :one delete w :ss_a",
        "  SET\tx\n=\r:one  ",
        "SET x . y [ 2 ] = :one",
    ] {
        assert!(env.update(text).is_ok(), "{text}: {:?}", env.update(text));
    }
}

#[test]
fn projection_syntax_errors_name_the_token_and_its_neighbours() {
    let cases = [
        ("!!! INVALID !!!", "!", "!!"),
        ("!!!", "!", "!!"),
        ("a,", "<EOF>", ","),
        ("a b", "b", "a b"),
        ("a,,b", ",", ",,b"),
        ("(a)", "(", "(a"),
        ("a[-1]", "-", "[-1"),
        ("a.", "<EOF>", "."),
        ("size(a)", "(", "size(a"),
        ("a = b", "=", "a = b"),
        (":a", ":a", ":a"),
        ("user-id", "-", "user-id"),
    ];
    for (text, token, near) in cases {
        check_projection(text, token, near);
    }
}

#[test]
fn empty_and_blank_expressions_are_refused_before_their_grammar() {
    let env = Env::new();
    for text in ["", " ", "\t\r\n "] {
        assert_eq!(
            message_of(env.condition(text)),
            "Invalid ConditionExpression: The expression can not be empty;"
        );
        assert_eq!(
            message_of(env.filter(text)),
            "Invalid FilterExpression: The expression can not be empty;"
        );
        assert_eq!(
            message_of(env.update(text)),
            "Invalid UpdateExpression: The expression can not be empty;"
        );
        assert_eq!(
            message_of(env.projection(text)),
            "Invalid ProjectionExpression: The expression can not be empty;"
        );
        assert_eq!(
            message_of(env.key_condition(text)),
            "Invalid KeyConditionExpression: The expression can not be empty;"
        );
    }
}

#[test]
fn expressions_over_four_kilobytes_are_refused() {
    let env = Env::new();
    let just_fits = format!("a{}", ",a".repeat(2047));
    assert_eq!(just_fits.len(), 4095);
    // Fits the size limit; fails later, on the repeated path.
    assert!(message_of(env.projection(&just_fits)).contains("overlap"));
    let too_long = format!("{just_fits}ab");
    assert_eq!(
        message_of(env.projection(&too_long)),
        "Invalid ProjectionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097"
    );
    let long_condition = format!("attribute_exists(a{})", "b".repeat(4096));
    assert_eq!(
        message_of(env.filter(&long_condition)),
        "Invalid FilterExpression: Expression size has exceeded the maximum allowed size; expression size: 4115"
    );
}

#[test]
fn nesting_is_bounded() {
    let env = Env::standard();
    let deep_ok = format!("{}s = :a{}", "(s = :a AND ".repeat(99), ")".repeat(99));
    assert!(env.condition(&deep_ok).is_ok());
    let deep_redundant = format!("{}s = :a{}", "(".repeat(99), ")".repeat(99));
    assert_eq!(
        message_of(env.condition(&deep_redundant)),
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    let nots = format!("{}s = :a", "NOT ".repeat(99));
    assert!(env.condition(&nots).is_ok());
    let too_deep = format!("{}s = :a{}", "(".repeat(150), ")".repeat(150));
    assert_eq!(
        message_of(env.condition(&too_deep)),
        "Invalid ConditionExpression: Syntax error; token: \"(\", near: \"(((\""
    );
    let calls = format!(
        "{}:list{}",
        "list_append(".repeat(120),
        ", :list)".repeat(120)
    );
    assert!(
        message_of(env.update(&format!("SET x = {calls}")))
            .contains("Syntax error; token: \"list_append\"")
    );
}
