//! No input may panic: random and garbled text for every parser, and every expression that
//! parses is evaluated or applied against a few items.

use super::{Env, item};
use crate::Item;

/// A small deterministic generator (xorshift64*), so a failure can be replayed from its seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(bound).expect("bound fits u64"))
            .expect("below bound")
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len())]
    }
}

/// Pieces that make expressions likely to get far into the grammars.
const FRAGMENTS: &[&str] = &[
    "a",
    "b",
    "s",
    "n",
    "l",
    "m",
    "ss",
    "x",
    "status",
    "size",
    "#n",
    "#m",
    "#zz",
    ":s",
    ":n",
    ":l",
    ":ss",
    ":t",
    ":zz",
    ":m",
    "[0]",
    "[1]",
    "[7]",
    ".",
    ",",
    "(",
    ")",
    "[",
    "]",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    " ",
    " AND ",
    " OR ",
    " NOT ",
    " BETWEEN ",
    " IN ",
    "SET ",
    " REMOVE ",
    " ADD ",
    " DELETE ",
    "size(",
    "attribute_exists(",
    "attribute_not_exists(",
    "attribute_type(",
    "begins_with(",
    "contains(",
    "if_not_exists(",
    "list_append(",
    "0",
    "99999999999999999999999",
    "!",
    "\"",
    "ü",
    "😀",
    "#",
    ":",
    "\t",
    "\n",
];

fn env() -> Env {
    Env::new()
        .name("#n", "n")
        .name("#m", "m.x")
        .value(":s", r#"{"S": "S"}"#)
        .value(":n", r#"{"N": "1"}"#)
        .value(":l", r#"{"L": [{"N": "1"}]}"#)
        .value(":ss", r#"{"SS": ["a"]}"#)
        .value(":t", r#"{"BOOL": true}"#)
        .value(":m", r#"{"M": {"x": {"N": "2"}}}"#)
}

fn items() -> Vec<Item> {
    vec![
        Item::new(),
        item(
            r#"{
                "a": {"S": "a"}, "b": {"B": "AQ=="}, "s": {"S": "S"}, "n": {"N": "9.9999999999999999999999999999999999999E+125"},
                "l": {"L": [{"N": "1"}, {"L": [{"S": "x"}]}, {"M": {"x": {"N": "1"}}}]},
                "m": {"M": {"x": {"SS": ["a", "b"]}, "l": {"L": []}}}, "ss": {"SS": ["a"]}, "x": {"NULL": true}
            }"#,
        ),
    ]
}

/// Runs every parser on `text`, and whatever parses on every sample item.
fn exercise(env: &Env, items: &[Item], text: &str) {
    if let Ok(condition) = env.condition(text) {
        for item in items {
            condition.eval(item);
        }
    }
    if let Ok(update) = env.update(text) {
        update.paths();
        for item in items {
            let mut item = item.clone();
            let _ = update.apply(&mut item);
        }
    }
    if let Ok(projection) = env.projection(text) {
        for item in items {
            projection.apply(item);
        }
    }
    let _ = env.key_condition(text);
}

#[test]
fn fragments_in_random_order_never_panic() {
    let env = env();
    let items = items();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let n_fragments = 1 + rng.below(12);
        let text: String = (0..n_fragments).map(|_| rng.pick(FRAGMENTS)).collect();
        exercise(&env, &items, &text);
    }
}

/// Random expressions that follow the grammars, so most get past the syntax and many past every
/// check, and then get evaluated and applied.
#[test]
fn generated_expressions_never_panic() {
    let env = env();
    let items = items();
    let mut rng = XorShift(0x5851_F42D_4C95_7F2D);
    let (mut n_conditions, mut n_updates, mut n_projections) = (0, 0, 0);
    for _ in 0..5_000 {
        let condition = generate_condition(&mut rng, 3);
        exercise(&env, &items, &condition);
        n_conditions += usize::from(env.condition(&condition).is_ok());
        let update = generate_update(&mut rng);
        exercise(&env, &items, &update);
        n_updates += usize::from(env.update(&update).is_ok());
        let projection = (0..=rng.below(3))
            .map(|_| generate_path(&mut rng))
            .collect::<Vec<_>>()
            .join(", ");
        exercise(&env, &items, &projection);
        n_projections += usize::from(env.projection(&projection).is_ok());
    }
    // The generator must reach past the checks, or it tests little.
    assert!(
        n_conditions > 1_000,
        "only {n_conditions} conditions parsed"
    );
    assert!(n_updates > 500, "only {n_updates} updates parsed");
    assert!(
        n_projections > 1_000,
        "only {n_projections} projections parsed"
    );
}

const NAMES: &[&str] = &["a", "b", "s", "n", "l", "m", "ss", "x", "#n", "#m"];
const VALUES: &[&str] = &[":s", ":n", ":l", ":ss", ":t", ":m"];

fn generate_path(rng: &mut XorShift) -> String {
    let mut path = rng.pick(NAMES).to_owned();
    for _ in 0..rng.below(3) {
        if rng.below(2) == 0 {
            path.push('.');
            path.push_str(rng.pick(&["a", "x", "l", "#n"]));
        } else {
            path.push_str(&format!("[{}]", rng.below(4)));
        }
    }
    path
}

fn generate_operand(rng: &mut XorShift) -> String {
    match rng.below(4) {
        0 | 1 => generate_path(rng),
        2 => rng.pick(VALUES).to_owned(),
        _ => format!("size({})", generate_path(rng)),
    }
}

fn generate_condition(rng: &mut XorShift, depth: usize) -> String {
    let choice = rng.below(if depth == 0 { 5 } else { 9 });
    match choice {
        0 => {
            let comparator = rng.pick(&["=", "<>", "<", "<=", ">", ">="]);
            format!(
                "{} {comparator} {}",
                generate_operand(rng),
                generate_operand(rng)
            )
        }
        1 => format!(
            "{} BETWEEN {} AND {}",
            generate_operand(rng),
            generate_operand(rng),
            generate_operand(rng)
        ),
        2 => {
            let list: Vec<String> = (0..=rng.below(3)).map(|_| generate_operand(rng)).collect();
            format!("{} IN ({})", generate_operand(rng), list.join(", "))
        }
        3 => {
            let function = rng.pick(&["attribute_exists", "attribute_not_exists"]);
            format!("{function}({})", generate_path(rng))
        }
        4 => {
            let function = rng.pick(&["attribute_type", "begins_with", "contains"]);
            format!(
                "{function}({}, {})",
                generate_path(rng),
                generate_operand(rng)
            )
        }
        5 => format!(
            "{} AND {}",
            generate_condition(rng, depth - 1),
            generate_condition(rng, depth - 1)
        ),
        6 => format!(
            "{} OR {}",
            generate_condition(rng, depth - 1),
            generate_condition(rng, depth - 1)
        ),
        7 => format!("NOT {}", generate_condition(rng, depth - 1)),
        _ => format!("({})", generate_condition(rng, depth - 1)),
    }
}

fn generate_set_value(rng: &mut XorShift) -> String {
    let operand = |rng: &mut XorShift| match rng.below(3) {
        0 => generate_path(rng),
        _ => rng.pick(VALUES).to_owned(),
    };
    match rng.below(5) {
        0 => format!("{} + {}", operand(rng), operand(rng)),
        1 => format!("{} - {}", operand(rng), operand(rng)),
        2 => format!("if_not_exists({}, {})", generate_path(rng), operand(rng)),
        3 => format!("list_append({}, {})", operand(rng), operand(rng)),
        _ => operand(rng),
    }
}

fn generate_update(rng: &mut XorShift) -> String {
    let mut clauses = Vec::new();
    for keyword in ["SET", "REMOVE", "ADD", "DELETE"] {
        if rng.below(2) == 0 {
            continue;
        }
        let actions: Vec<String> = (0..=rng.below(2))
            .map(|_| match keyword {
                "SET" => format!("{} = {}", generate_path(rng), generate_set_value(rng)),
                "REMOVE" => generate_path(rng),
                _ => format!("{} {}", generate_path(rng), rng.pick(&[":n", ":ss", ":s"])),
            })
            .collect();
        clauses.push(format!("{keyword} {}", actions.join(", ")));
    }
    if clauses.is_empty() {
        clauses.push(format!("SET x = {}", generate_set_value(rng)));
    }
    let first = rng.below(clauses.len());
    clauses.rotate_left(first);
    clauses.join(" ")
}

#[test]
fn random_characters_never_panic() {
    let env = env();
    let items = items();
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    const CHARS: &[char] = &[
        'a',
        'Z',
        '_',
        '0',
        '9',
        '#',
        ':',
        '(',
        ')',
        '[',
        ']',
        '.',
        ',',
        '=',
        '<',
        '>',
        '+',
        '-',
        ' ',
        '\u{0}',
        'é',
        '\u{10FFFF}',
    ];
    for _ in 0..20_000 {
        let len = rng.below(24);
        let text: String = (0..len).map(|_| CHARS[rng.below(CHARS.len())]).collect();
        exercise(&env, &items, &text);
    }
}

#[test]
fn mutated_valid_expressions_never_panic() {
    let env = env();
    let items = items();
    let seeds = [
        "#n = :n AND (attribute_exists(l[1][0]) OR size(ss) BETWEEN :n AND :n) AND NOT s IN (:s, :t)",
        "SET l[9] = list_append(if_not_exists(l, :l), :l), #n = #n + :n REMOVE l[0], m.l[2] ADD ss :ss DELETE m.x :ss",
        "a, l[1][0], m.x, #m, #n",
        "pk = :s AND begins_with(sk, :s)",
        "contains(m.x, :s) AND attribute_type(l, :s) AND begins_with(a, :s) OR a < b",
    ];
    let mut rng = XorShift(0x0123_4567_89AB_CDEF);
    for _ in 0..20_000 {
        let mut text: Vec<char> = rng.pick(&seeds).chars().collect();
        for _ in 0..=rng.below(3) {
            let at = rng.below(text.len() + 1);
            match rng.below(3) {
                0 if at < text.len() => {
                    text.remove(at);
                }
                1 => {
                    let fragment: Vec<char> = rng.pick(FRAGMENTS).chars().collect();
                    text.splice(at..at, fragment);
                }
                _ => {
                    let end = (at + rng.below(6)).min(text.len());
                    text.drain(at..end);
                }
            }
        }
        let text: String = text.into_iter().collect();
        exercise(&env, &items, &text);
    }
}

#[test]
fn pathological_inputs_never_panic() {
    let env = env();
    let items = items();
    let inputs = [
        "(".repeat(5000),
        "(".repeat(4000),
        "[".repeat(4000),
        "size(".repeat(800),
        format!("SET a = {}", "list_append(".repeat(300)),
        vec!["a=:n"; 450].join(" AND "),
        vec!["a=:n"; 450].join(" OR "),
        format!("SET {}", vec!["a = a + :n"; 300].join(", ")),
        ")".repeat(5000),
        "NOT ".repeat(1000),
        format!("{}a = :n{}", "(".repeat(99), ")".repeat(99)),
        format!(
            "SET a = {}:n{}",
            "if_not_exists(a, ".repeat(200),
            ")".repeat(200)
        ),
        "a.".repeat(2000),
        "a[0]".repeat(1000),
        vec!["a = :n"; 600].join(" AND "),
        vec!["a"; 2000].join(","),
        "\u{0}".repeat(100),
        "#".repeat(100),
        ":".repeat(100),
    ];
    for text in &inputs {
        exercise(&env, &items, text);
    }
}
