//! FilterCriteria: EventBridge-style patterns that decide which records a trigger delivers.
//! Pure, so the manifest checks patterns at load and the trigger runner matches with the same code.
//!
//! A pattern mirrors the record's structure.
//! The fields of a pattern object are AND-ed; a field's value is either a nested pattern object
//! or an array of alternatives (OR-ed), each a literal (`"PAID"`, `12`, `true`, `null`) or an
//! operator object (`{"prefix": "us-"}`, `{"numeric": [">", 0]}`, …).
//! `"$or": [{…}, {…}]` inside a pattern object ORs whole sub-patterns.
//!
//! Alternatives look at the *leaf* values of the record at their path, as EventBridge does:
//! strings, numbers, booleans and `null`, and the leaves inside arrays (a leaf matches if any
//! element matches).
//! An object in the record is not a leaf, so `{"exists": true}` does not match it.
//! A pattern object applied to an array of objects matches if any one element matches it.
//!
//! Literals match exactly: strings case-sensitively, numbers by their JSON representation
//! (`300` does not match `300.0`).
//! `numeric` compares values as numbers, and also matches strings that read as a number, because
//! DynamoDB stream images carry numbers as strings (`{"N": "12"}`).

#[cfg(test)]
mod tests;

use serde_json::{Map, Number, Value};

/// The largest pattern text accepted, in bytes (Lambda's limit on one filter's `Pattern`).
pub const PATTERN_TEXT_BYTES_MAX: usize = 4096;
/// How deeply pattern objects may nest, counting the top-level object and each `$or` branch.
pub const PATTERN_DEPTH_MAX: usize = 32;
/// The most alternatives in one array: a leaf's values, an `anything-but` list, or a `$or`.
pub const ALTERNATIVES_MAX: usize = 256;
/// The largest magnitude a `numeric` operand may have, as EventBridge limits numeric matching.
pub const NUMERIC_OPERAND_MAGNITUDE_MAX: f64 = 5.0e9;

/// One filter pattern, parsed and checked.
#[derive(Debug, Clone)]
pub struct Pattern {
    root: ObjectPattern,
}

/// Why a pattern was refused: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PatternError {
    /// The explanation, naming the offending value and its path in the pattern.
    pub message: String,
}

impl Pattern {
    /// Parses one pattern (JSON text: an object).
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        if text.len() > PATTERN_TEXT_BYTES_MAX {
            return Err(error(format!(
                "pattern is {} bytes, more than the {PATTERN_TEXT_BYTES_MAX} allowed",
                text.len()
            )));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|err| error(format!("pattern is not valid JSON: {err}")))?;
        let Value::Object(object) = &value else {
            return Err(error(format!(
                "pattern must be a JSON object, not {}",
                describe(&value)
            )));
        };
        let root = parse_object(object, &mut Path::default())?;
        Ok(Pattern { root })
    }

    /// Whether a record (the stream record as JSON: eventName, dynamodb.{Keys, NewImage, OldImage, …}, …) matches.
    pub fn matches(&self, record: &Value) -> bool {
        self.root.matches(Some(record))
    }
}

/// Whether a record passes a list of patterns: true when the list is empty or any pattern matches (OR).
pub fn passes(patterns: &[Pattern], record: &Value) -> bool {
    patterns.is_empty() || patterns.iter().any(|pattern| pattern.matches(record))
}

/// A pattern object: every field must match, and one branch of every `$or`.
#[derive(Debug, Clone)]
struct ObjectPattern {
    fields: Vec<(String, FieldPattern)>,
    any_of: Vec<Vec<ObjectPattern>>,
}

#[derive(Debug, Clone)]
enum FieldPattern {
    Object(ObjectPattern),
    Alternatives(Vec<Matcher>),
}

/// One alternative of a leaf.
#[derive(Debug, Clone)]
enum Matcher {
    Literal(Literal),
    Exists(bool),
    Prefix(Text),
    Suffix(Text),
    EqualsIgnoreCase(String),
    Numeric(Range),
    AnythingBut(Negated),
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    String(String),
    Number(Number),
    Bool(bool),
    Null,
}

/// A prefix or suffix; when `ignore_case` is set, `text` is already lowercased.
#[derive(Debug, Clone)]
struct Text {
    text: String,
    ignore_case: bool,
}

/// What `anything-but` refuses.
#[derive(Debug, Clone)]
enum Negated {
    Literals(Vec<Literal>),
    Prefix(String),
    Suffix(String),
    /// Already lowercased.
    EqualsIgnoreCase(Vec<String>),
}

/// A numeric interval; `=` is the interval with both bounds inclusive and equal.
#[derive(Debug, Clone, Copy)]
struct Range {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

#[derive(Debug, Clone, Copy)]
struct Bound {
    value: f64,
    inclusive: bool,
}

impl ObjectPattern {
    fn matches(&self, value: Option<&Value>) -> bool {
        match value {
            Some(Value::Array(elements)) if !elements.is_empty() => elements
                .iter()
                .any(|element| self.matches_one(element.as_object())),
            Some(Value::Object(object)) => self.matches_one(Some(object)),
            // Nothing below a missing field, a leaf or an empty array: every field is missing.
            _ => self.matches_one(None),
        }
    }

    fn matches_one(&self, object: Option<&Map<String, Value>>) -> bool {
        let fields_match = self.fields.iter().all(|(name, field)| {
            let value = object.and_then(|object| object.get(name));
            match field {
                FieldPattern::Object(pattern) => pattern.matches(value),
                FieldPattern::Alternatives(matchers) => leaf_matches(matchers, value),
            }
        });
        fields_match
            && self
                .any_of
                .iter()
                .all(|branches| branches.iter().any(|branch| branch.matches_one(object)))
    }
}

/// Whether any alternative matches the leaves of `value`.
fn leaf_matches(matchers: &[Matcher], value: Option<&Value>) -> bool {
    let mut leaves = Vec::new();
    if let Some(value) = value {
        collect_leaves(value, &mut leaves);
    }
    matchers.iter().any(|matcher| match matcher {
        Matcher::Exists(exists) => leaves.is_empty() != *exists,
        _ => leaves.iter().any(|leaf| matcher.matches_leaf(leaf)),
    })
}

fn collect_leaves<'a>(value: &'a Value, leaves: &mut Vec<&'a Value>) {
    match value {
        Value::Array(elements) => elements
            .iter()
            .for_each(|element| collect_leaves(element, leaves)),
        Value::Object(_) => {}
        leaf => leaves.push(leaf),
    }
}

impl Matcher {
    fn matches_leaf(&self, leaf: &Value) -> bool {
        match self {
            Matcher::Literal(literal) => literal.matches(leaf),
            Matcher::Exists(exists) => *exists,
            Matcher::Prefix(text) => leaf
                .as_str()
                .is_some_and(|s| text.fold(s).starts_with(&text.text)),
            Matcher::Suffix(text) => leaf
                .as_str()
                .is_some_and(|s| text.fold(s).ends_with(&text.text)),
            Matcher::EqualsIgnoreCase(lowercase) => leaf
                .as_str()
                .is_some_and(|s| s.to_lowercase() == *lowercase),
            Matcher::Numeric(range) => as_number(leaf).is_some_and(|n| range.contains(n)),
            Matcher::AnythingBut(negated) => !negated.matches_leaf(leaf),
        }
    }
}

impl Literal {
    fn matches(&self, leaf: &Value) -> bool {
        match (self, leaf) {
            (Literal::String(expected), Value::String(actual)) => expected == actual,
            // serde_json keeps integers and floats apart, so `300` and `300.0` differ, as in
            // EventBridge, which compares numbers by their text.
            (Literal::Number(expected), Value::Number(actual)) => expected == actual,
            (Literal::Bool(expected), Value::Bool(actual)) => expected == actual,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl Text {
    fn fold<'a>(&self, s: &'a str) -> std::borrow::Cow<'a, str> {
        if self.ignore_case {
            std::borrow::Cow::Owned(s.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    }
}

impl Negated {
    fn matches_leaf(&self, leaf: &Value) -> bool {
        match self {
            Negated::Literals(literals) => literals.iter().any(|literal| literal.matches(leaf)),
            Negated::Prefix(prefix) => leaf.as_str().is_some_and(|s| s.starts_with(prefix)),
            Negated::Suffix(suffix) => leaf.as_str().is_some_and(|s| s.ends_with(suffix)),
            Negated::EqualsIgnoreCase(lowercase) => leaf
                .as_str()
                .is_some_and(|s| lowercase.contains(&s.to_lowercase())),
        }
    }
}

impl Range {
    fn contains(&self, n: f64) -> bool {
        let above = self
            .lower
            .is_none_or(|bound| n > bound.value || (bound.inclusive && n == bound.value));
        let below = self
            .upper
            .is_none_or(|bound| n < bound.value || (bound.inclusive && n == bound.value));
        above && below
    }
}

/// A leaf as a number: a JSON number, or a string that is a decimal number (DynamoDB's `N`).
fn as_number(leaf: &Value) -> Option<f64> {
    match leaf {
        Value::Number(number) => number.as_f64(),
        Value::String(s) => {
            // `f64::from_str` also reads "inf" and "NaN", which no JSON or DynamoDB number spells.
            let decimal = !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
            let n: f64 = s.parse().ok().filter(|_| decimal)?;
            n.is_finite().then_some(n)
        }
        _ => None,
    }
}

/// Where in the pattern the parser is, for messages: `dynamodb.NewImage.count.N`.
#[derive(Debug, Default)]
struct Path {
    segments: Vec<String>,
}

impl Path {
    fn push(&mut self, segment: String) {
        self.segments.push(segment);
    }

    fn pop(&mut self) {
        self.segments.pop();
    }

    fn depth(&self) -> usize {
        self.segments.len()
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.segments.is_empty() {
            f.write_str("the top level")
        } else {
            f.write_str(&self.segments.join("."))
        }
    }
}

fn error(message: String) -> PatternError {
    PatternError { message }
}

/// The offending value for a message: its kind and its JSON text.
fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    match value {
        Value::Null => kind.to_owned(),
        _ => format!("{kind} {value}"),
    }
}

fn parse_object(
    object: &Map<String, Value>,
    path: &mut Path,
) -> Result<ObjectPattern, PatternError> {
    // The top level is depth 0 in `path`, so objects nest `path.depth() + 1` deep.
    if path.depth() + 1 > PATTERN_DEPTH_MAX {
        return Err(error(format!(
            "pattern nests deeper than {PATTERN_DEPTH_MAX} objects at {path}"
        )));
    }
    if object.is_empty() {
        return Err(error(format!("empty pattern object at {path}")));
    }
    let mut pattern = ObjectPattern {
        fields: Vec::new(),
        any_of: Vec::new(),
    };
    for (name, value) in object {
        path.push(name.clone());
        if name == "$or" {
            pattern.any_of.push(parse_or(value, path)?);
        } else {
            pattern
                .fields
                .push((name.clone(), parse_field(value, path)?));
        }
        path.pop();
    }
    Ok(pattern)
}

fn parse_or(value: &Value, path: &mut Path) -> Result<Vec<ObjectPattern>, PatternError> {
    let branches = match value {
        Value::Array(branches) if branches.len() >= 2 => branches,
        _ => {
            return Err(error(format!(
                "\"$or\" needs an array of at least two pattern objects at {path}, not {}",
                describe(value)
            )));
        }
    };
    check_alternatives_count(branches.len(), path)?;
    let mut parsed = Vec::with_capacity(branches.len());
    for (branch_idx, branch) in branches.iter().enumerate() {
        path.push(format!("[{branch_idx}]"));
        let Value::Object(object) = branch else {
            return Err(error(format!(
                "a \"$or\" branch must be a pattern object at {path}, not {}",
                describe(branch)
            )));
        };
        parsed.push(parse_object(object, path)?);
        path.pop();
    }
    Ok(parsed)
}

fn parse_field(value: &Value, path: &mut Path) -> Result<FieldPattern, PatternError> {
    match value {
        Value::Object(object) => Ok(FieldPattern::Object(parse_object(object, path)?)),
        Value::Array(alternatives) => {
            if alternatives.is_empty() {
                return Err(error(format!("empty array of alternatives at {path}")));
            }
            check_alternatives_count(alternatives.len(), path)?;
            let matchers = alternatives
                .iter()
                .map(|alternative| parse_alternative(alternative, path))
                .collect::<Result<_, _>>()?;
            Ok(FieldPattern::Alternatives(matchers))
        }
        _ => Err(error(format!(
            "the value at {path} must be an array of alternatives or a pattern object, not {}",
            describe(value)
        ))),
    }
}

fn check_alternatives_count(n_alternatives: usize, path: &Path) -> Result<(), PatternError> {
    if n_alternatives > ALTERNATIVES_MAX {
        return Err(error(format!(
            "{n_alternatives} alternatives at {path}, more than the {ALTERNATIVES_MAX} allowed"
        )));
    }
    Ok(())
}

fn parse_alternative(value: &Value, path: &Path) -> Result<Matcher, PatternError> {
    match value {
        Value::Object(object) => parse_operator(object, path),
        Value::Array(_) => Err(error(format!(
            "an alternative at {path} must be a value or an operator object, not {}",
            describe(value)
        ))),
        scalar => Ok(Matcher::Literal(
            literal(scalar).expect("a scalar is a literal"),
        )),
    }
}

fn literal(value: &Value) -> Option<Literal> {
    match value {
        Value::String(s) => Some(Literal::String(s.clone())),
        Value::Number(n) => Some(Literal::Number(n.clone())),
        Value::Bool(b) => Some(Literal::Bool(*b)),
        Value::Null => Some(Literal::Null),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn parse_operator(object: &Map<String, Value>, path: &Path) -> Result<Matcher, PatternError> {
    let mut entries = object.iter();
    let (Some((operator, operand)), None) = (entries.next(), entries.next()) else {
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        return Err(error(format!(
            "an operator object needs exactly one operator at {path}, found {} ({})",
            keys.len(),
            keys.join(", ")
        )));
    };
    match operator.as_str() {
        "exists" => match operand {
            Value::Bool(exists) => Ok(Matcher::Exists(*exists)),
            _ => Err(operand_error("exists", "true or false", operand, path)),
        },
        "prefix" => Ok(Matcher::Prefix(parse_text("prefix", operand, path)?)),
        "suffix" => Ok(Matcher::Suffix(parse_text("suffix", operand, path)?)),
        "equals-ignore-case" => match operand {
            Value::String(s) => Ok(Matcher::EqualsIgnoreCase(s.to_lowercase())),
            _ => Err(operand_error(
                "equals-ignore-case",
                "a string",
                operand,
                path,
            )),
        },
        "numeric" => Ok(Matcher::Numeric(parse_numeric(operand, path)?)),
        "anything-but" => Ok(Matcher::AnythingBut(parse_anything_but(operand, path)?)),
        _ => Err(error(format!("unknown operator \"{operator}\" at {path}"))),
    }
}

fn operand_error(operator: &str, expected: &str, operand: &Value, path: &Path) -> PatternError {
    error(format!(
        "\"{operator}\" needs {expected} at {path}, not {}",
        describe(operand)
    ))
}

/// A `prefix` or `suffix` operand: a string, or `{"equals-ignore-case": string}`.
fn parse_text(operator: &str, operand: &Value, path: &Path) -> Result<Text, PatternError> {
    let expected = "a string or {\"equals-ignore-case\": string}";
    match operand {
        Value::String(text) => Ok(Text {
            text: text.clone(),
            ignore_case: false,
        }),
        Value::Object(object) => match (object.len(), object.get("equals-ignore-case")) {
            (1, Some(Value::String(text))) => Ok(Text {
                text: text.to_lowercase(),
                ignore_case: true,
            }),
            _ => Err(operand_error(operator, expected, operand, path)),
        },
        _ => Err(operand_error(operator, expected, operand, path)),
    }
}

fn parse_numeric(operand: &Value, path: &Path) -> Result<Range, PatternError> {
    let shape_error = || operand_error("numeric", "an operator and a number", operand, path);
    let terms = match operand {
        Value::Array(terms) if terms.len() == 2 || terms.len() == 4 => terms,
        _ => return Err(shape_error()),
    };
    let mut range = Range {
        lower: None,
        upper: None,
    };
    for pair in terms.chunks(2) {
        let (Value::String(operator), Value::Number(number)) = (&pair[0], &pair[1]) else {
            return Err(shape_error());
        };
        let value = number
            .as_f64()
            .filter(|n| n.abs() <= NUMERIC_OPERAND_MAGNITUDE_MAX)
            .ok_or_else(|| {
                error(format!(
                    "\"numeric\" operand {number} at {path} is outside \
                     -{NUMERIC_OPERAND_MAGNITUDE_MAX:e}..={NUMERIC_OPERAND_MAGNITUDE_MAX:e}"
                ))
            })?;
        let (slot, inclusive) = match operator.as_str() {
            "=" => (None, true),
            ">" => (Some(&mut range.lower), false),
            ">=" => (Some(&mut range.lower), true),
            "<" => (Some(&mut range.upper), false),
            "<=" => (Some(&mut range.upper), true),
            _ => {
                return Err(error(format!(
                    "unknown \"numeric\" operator \"{operator}\" at {path} (use =, <, <=, >, >=)"
                )));
            }
        };
        let bound = Bound { value, inclusive };
        match slot {
            None if terms.len() == 2 => {
                range.lower = Some(bound);
                range.upper = Some(bound);
            }
            Some(slot) if slot.is_none() => *slot = Some(bound),
            _ => {
                return Err(error(format!(
                    "\"numeric\" range at {path} needs one lower bound (> or >=) and one upper \
                     bound (< or <=), not {operand}"
                )));
            }
        }
    }
    if let (Some(lower), Some(upper)) = (range.lower, range.upper)
        && terms.len() == 4
        && lower.value >= upper.value
    {
        return Err(error(format!(
            "\"numeric\" range at {path} is empty: {} is not below {}",
            lower.value, upper.value
        )));
    }
    Ok(range)
}

fn parse_anything_but(operand: &Value, path: &Path) -> Result<Negated, PatternError> {
    let expected = "a string, a number, a non-empty array of them, or an object with \
                    \"prefix\", \"suffix\" or \"equals-ignore-case\"";
    let shape_error = || operand_error("anything-but", expected, operand, path);
    match operand {
        Value::String(_) | Value::Number(_) => {
            Ok(Negated::Literals(literal(operand).into_iter().collect()))
        }
        Value::Array(values) => {
            if values.is_empty() {
                return Err(shape_error());
            }
            check_alternatives_count(values.len(), path)?;
            let literals = values
                .iter()
                .map(|value| match value {
                    Value::String(_) | Value::Number(_) => literal(value).ok_or_else(shape_error),
                    _ => Err(shape_error()),
                })
                .collect::<Result<_, _>>()?;
            Ok(Negated::Literals(literals))
        }
        Value::Object(object) if object.len() == 1 => {
            let (operator, inner) = object.iter().next().expect("the object has one entry");
            match (operator.as_str(), inner) {
                ("prefix", Value::String(prefix)) => Ok(Negated::Prefix(prefix.clone())),
                ("suffix", Value::String(suffix)) => Ok(Negated::Suffix(suffix.clone())),
                ("equals-ignore-case", Value::String(s)) => {
                    Ok(Negated::EqualsIgnoreCase(vec![s.to_lowercase()]))
                }
                ("equals-ignore-case", Value::Array(values)) if !values.is_empty() => {
                    check_alternatives_count(values.len(), path)?;
                    let lowercase = values
                        .iter()
                        .map(|value| {
                            value
                                .as_str()
                                .map(str::to_lowercase)
                                .ok_or_else(shape_error)
                        })
                        .collect::<Result<_, _>>()?;
                    Ok(Negated::EqualsIgnoreCase(lowercase))
                }
                _ => Err(shape_error()),
            }
        }
        _ => Err(shape_error()),
    }
}
