//! Update expressions: DynamoDB's checks after the syntax, resolution, and applying the
//! resolved actions to an item.
//!
//! Applying follows DynamoDB's semantics: every right-hand side is evaluated against the item as
//! it was before the update, and list indexes in the expression refer to the list as it was.
//! So the actions run in three steps: first everything that keeps list lengths (assignments,
//! ADD and DELETE in place, removal of map keys), then the appends (assignments and ADDs at
//! list indexes past the end, in index order), then the removals of list elements (the highest
//! index first, so the lower ones still point where the expression meant).

use crate::expr::ast::{RawClause, RawElem, RawOperand, RawPath, RawSetValue, RawUpdate};
use crate::expr::condition::{check_path_names, undefined_name_message, undefined_value_message};
use crate::expr::limits::OPERATORS_MAX;
use crate::expr::parser::Parser;
use crate::expr::path::{check_no_overlap, child_mut, resolve_path};
use crate::expr::{ExprError, Fault, Path, PathElem, Placeholders, check_text};
use crate::{AttributeValue, Item, Number};

/// A parsed UpdateExpression: its actions in text order, values resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq)]
enum Action {
    Set(Path, SetValue),
    Remove(Path),
    Add(Path, AttributeValue),
    Delete(Path, AttributeValue),
}

#[derive(Debug, Clone, PartialEq)]
enum SetValue {
    Operand(Operand),
    Plus(Operand, Operand),
    Minus(Operand, Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Path),
    Value(AttributeValue),
    IfNotExists(Path, Box<Operand>),
    ListAppend(Box<Operand>, Box<Operand>),
}

const MESSAGE_INVALID_PATH: &str =
    "The document path provided in the update expression is invalid for update";
const MESSAGE_WRONG_TYPE: &str = "An operand in the update expression has an incorrect data type";
const MESSAGE_MISSING: &str =
    "The provided expression refers to an attribute that does not exist in the item";

impl Update {
    /// The paths it assigns or removes, in order (for the key-attribute check and for
    /// ReturnValues UPDATED_*).
    pub fn paths(&self) -> Vec<Path> {
        self.actions
            .iter()
            .map(|action| action.path().clone())
            .collect()
    }

    /// Applies SET/REMOVE/ADD/DELETE with DynamoDB's semantics (if_not_exists, list_append,
    /// +/- on N, list index past the end appends, REMOVE of an index shifts later elements, ADD
    /// to missing number starts at 0 / creates a set, DELETE of last set element removes the
    /// attribute, …). All right-hand sides are evaluated against the item as it was BEFORE the
    /// update. Errors as DynamoDB's: "The document path provided in the update expression is
    /// invalid for update", "An operand in the update expression has an incorrect data type",
    /// number overflow/precision errors, etc. On error the item may be left partially modified
    /// (the caller clones).
    pub fn apply(&self, item: &mut Item) -> Result<(), ExprError> {
        let steps = self
            .actions
            .iter()
            .map(|action| Step::prepare(action, item))
            .collect::<Result<Vec<_>, _>>()?;
        let mut later = Later::default();
        for step in steps {
            match step {
                Step::Write(path, value) => write(item, path, value, &mut later)?,
                Step::Remove(path) => remove(item, path, &mut later)?,
                Step::Add(path, value) => add(item, path, value, &mut later)?,
                Step::Delete(path, value) => delete(item, path, value, &mut later)?,
            }
        }
        later.run(item)
    }
}

impl Action {
    fn path(&self) -> &Path {
        match self {
            Action::Set(path, _)
            | Action::Remove(path)
            | Action::Add(path, _)
            | Action::Delete(path, _) => path,
        }
    }
}

/// An action ready to run: a SET with its new value already computed.
enum Step<'u> {
    Write(&'u Path, AttributeValue),
    Remove(&'u Path),
    Add(&'u Path, &'u AttributeValue),
    Delete(&'u Path, &'u AttributeValue),
}

impl<'u> Step<'u> {
    fn prepare(action: &'u Action, item: &Item) -> Result<Step<'u>, ExprError> {
        Ok(match action {
            Action::Set(path, value) => Step::Write(path, set_value(value, item)?),
            Action::Remove(path) => Step::Remove(path),
            Action::Add(path, value) => Step::Add(path, value),
            Action::Delete(path, value) => Step::Delete(path, value),
        })
    }
}

// Parsing.

pub(crate) fn parse(text: &str, ph: &mut Placeholders) -> Result<Update, Fault> {
    check_text(text)?;
    let mut parser = Parser::new(text);
    let raw = parser
        .update()
        .map_err(|error| Fault::Invalid(parser.message(error)))?;
    check_operator_count(&raw)?;
    for path in raw_paths(&raw) {
        check_path_names(path)?;
    }
    for operand in raw_operands(&raw) {
        check_functions_known(operand)?;
    }
    check_clauses_once(&raw)?;
    check_placeholders_defined(&raw, ph)?;
    let targets = raw_targets(&raw)
        .into_iter()
        .map(|target| resolve_path(target, ph))
        .collect::<Result<Vec<_>, _>>()?;
    check_no_overlap(&targets.iter().collect::<Vec<_>>())?;
    check_add_delete_types(&raw, ph)?;
    for value in raw_set_values(&raw) {
        set_value_operands(value)
            .into_iter()
            .try_for_each(|operand| check_function_operands(operand, ph))?;
        check_arithmetic_operands(value, ph)?;
    }
    let actions = resolve(&raw, ph)?;
    Ok(Update { actions })
}

fn check_operator_count(raw: &RawUpdate) -> Result<(), Fault> {
    fn n_calls(operand: &RawOperand) -> usize {
        match operand {
            RawOperand::Call { args, .. } => 1 + args.iter().map(n_calls).sum::<usize>(),
            RawOperand::Path(_) | RawOperand::Value(_) => 0,
        }
    }
    let n_actions: usize = raw
        .clauses
        .iter()
        .map(|clause| match clause {
            RawClause::Set(actions) => actions.len(),
            RawClause::Remove(paths) => paths.len(),
            RawClause::Add(actions) | RawClause::Delete(actions) => actions.len(),
        })
        .sum();
    let n_arithmetic = raw_set_values(raw)
        .filter(|value| !matches!(value, RawSetValue::Operand(_)))
        .count();
    let n_functions: usize = raw_operands(raw).map(n_calls).sum();
    let n_operators = n_actions + n_arithmetic + n_functions;
    if n_operators > OPERATORS_MAX {
        return Err(Fault::Invalid(format!(
            "The expression contains too many operators; operator count: {n_operators}"
        )));
    }
    Ok(())
}

fn check_functions_known(operand: &RawOperand) -> Result<(), Fault> {
    let RawOperand::Call { name, args } = operand else {
        return Ok(());
    };
    args.iter().try_for_each(check_functions_known)?;
    match name.as_str() {
        "if_not_exists" | "list_append" => Ok(()),
        _ => Err(Fault::Invalid(format!(
            "Invalid function name; function: {name}"
        ))),
    }
}

fn check_clauses_once(raw: &RawUpdate) -> Result<(), Fault> {
    for (clause_idx, clause) in raw.clauses.iter().enumerate() {
        let keyword = clause.keyword();
        if raw.clauses[..clause_idx]
            .iter()
            .any(|earlier| earlier.keyword() == keyword)
        {
            return Err(Fault::Invalid(format!(
                "The \"{keyword}\" section can only be used once in an update expression;"
            )));
        }
    }
    Ok(())
}

/// Undefined names are reported before undefined values, each the first in the text.
fn check_placeholders_defined(raw: &RawUpdate, ph: &Placeholders) -> Result<(), Fault> {
    for path in raw_paths(raw) {
        for elem in &path.elems {
            if let RawElem::Alias(alias) = elem
                && !ph.has_name(alias)
            {
                return Err(Fault::Invalid(undefined_name_message(alias)));
            }
        }
    }
    for key in raw_value_keys(raw) {
        if !ph.has_value(key) {
            return Err(Fault::Invalid(undefined_value_message(key)));
        }
    }
    Ok(())
}

/// ADD takes a number or a set; DELETE a set.
fn check_add_delete_types(raw: &RawUpdate, ph: &Placeholders) -> Result<(), Fault> {
    for clause in &raw.clauses {
        let (operator, actions, allowed): (&str, _, &[&str]) = match clause {
            RawClause::Add(actions) => ("ADD", actions, &["N", "SS", "NS", "BS"]),
            RawClause::Delete(actions) => ("DELETE", actions, &["SS", "NS", "BS"]),
            RawClause::Set(_) | RawClause::Remove(_) => continue,
        };
        for (_, key) in actions {
            let Some(value) = ph.peek_value(key) else {
                continue;
            };
            if !allowed.contains(&value.type_name()) {
                return Err(Fault::Invalid(format!(
                    "Incorrect operand type for operator or function; operator: {operator}, operand type: {}",
                    long_type_name(value)
                )));
            }
        }
    }
    Ok(())
}

/// The type names of ADD and DELETE messages.
fn long_type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "STRING",
        AttributeValue::N(_) => "NUMBER",
        AttributeValue::B(_) => "BINARY",
        AttributeValue::Null => "NULL",
        AttributeValue::Bool(_) => "BOOLEAN",
        AttributeValue::L(_) => "LIST",
        AttributeValue::M(_) => "MAP",
        AttributeValue::Ss(_) => "STRING_SET",
        AttributeValue::Ns(_) => "NUMBER_SET",
        AttributeValue::Bs(_) => "BINARY_SET",
    }
}

/// Operand counts and types of `if_not_exists`, `list_append`, `+` and `-`, inner calls first.
fn check_function_operands(operand: &RawOperand, ph: &Placeholders) -> Result<(), Fault> {
    let RawOperand::Call { name, args } = operand else {
        return Ok(());
    };
    args.iter()
        .try_for_each(|arg| check_function_operands(arg, ph))?;
    if args.len() != 2 {
        return Err(Fault::Invalid(format!(
            "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
            args.len()
        )));
    }
    match name.as_str() {
        "if_not_exists" if !matches!(args[0], RawOperand::Path(_)) => Err(Fault::Invalid(format!(
            "Operator or function requires a document path; operator or function: {name}"
        ))),
        "list_append" => check_literal_types(name, args, "L", ph),
        _ => Ok(()),
    }
}

fn check_arithmetic_operands(value: &RawSetValue, ph: &Placeholders) -> Result<(), Fault> {
    match value {
        RawSetValue::Operand(_) => Ok(()),
        RawSetValue::Plus(left, right) => check_literal_types("+", [left, right], "N", ph),
        RawSetValue::Minus(left, right) => check_literal_types("-", [left, right], "N", ph),
    }
}

/// `:values` given directly to `function` must have type `wanted`.
fn check_literal_types<'o>(
    function: &str,
    operands: impl IntoIterator<Item = &'o RawOperand>,
    wanted: &str,
    ph: &Placeholders,
) -> Result<(), Fault> {
    for operand in operands {
        let RawOperand::Value(key) = operand else {
            continue;
        };
        let Some(value) = ph.peek_value(key) else {
            continue;
        };
        if value.type_name() != wanted {
            return Err(Fault::Invalid(format!(
                "Incorrect operand type for operator or function; operator or function: {function}, operand type: {}",
                value.type_name()
            )));
        }
    }
    Ok(())
}

// Walking the syntax tree in text order.

fn raw_set_values(raw: &RawUpdate) -> impl Iterator<Item = &RawSetValue> {
    raw.clauses.iter().flat_map(|clause| match clause {
        RawClause::Set(actions) => actions.iter().map(|(_, value)| value).collect(),
        _ => Vec::new(),
    })
}

fn set_value_operands(value: &RawSetValue) -> Vec<&RawOperand> {
    match value {
        RawSetValue::Operand(operand) => vec![operand],
        RawSetValue::Plus(left, right) | RawSetValue::Minus(left, right) => vec![left, right],
    }
}

/// The top-level operands of SET right-hand sides, in text order.
fn raw_operands(raw: &RawUpdate) -> impl Iterator<Item = &RawOperand> {
    raw_set_values(raw).flat_map(set_value_operands)
}

/// Every path of the expression (targets and operands), in text order.
fn raw_paths(raw: &RawUpdate) -> Vec<&RawPath> {
    fn operand_paths<'r>(operand: &'r RawOperand, paths: &mut Vec<&'r RawPath>) {
        match operand {
            RawOperand::Path(path) => paths.push(path),
            RawOperand::Value(_) => {}
            RawOperand::Call { args, .. } => args.iter().for_each(|arg| operand_paths(arg, paths)),
        }
    }
    let mut paths = Vec::new();
    for clause in &raw.clauses {
        match clause {
            RawClause::Set(actions) => {
                for (target, value) in actions {
                    paths.push(target);
                    for operand in set_value_operands(value) {
                        operand_paths(operand, &mut paths);
                    }
                }
            }
            RawClause::Remove(targets) => paths.extend(targets),
            RawClause::Add(actions) | RawClause::Delete(actions) => {
                paths.extend(actions.iter().map(|(target, _)| target));
            }
        }
    }
    paths
}

/// The paths the actions assign or remove, in text order.
fn raw_targets(raw: &RawUpdate) -> Vec<&RawPath> {
    raw.clauses
        .iter()
        .flat_map(|clause| -> Vec<&RawPath> {
            match clause {
                RawClause::Set(actions) => actions.iter().map(|(target, _)| target).collect(),
                RawClause::Remove(targets) => targets.iter().collect(),
                RawClause::Add(actions) | RawClause::Delete(actions) => {
                    actions.iter().map(|(target, _)| target).collect()
                }
            }
        })
        .collect()
}

/// Every `:value` of the expression, in text order.
fn raw_value_keys(raw: &RawUpdate) -> Vec<&str> {
    fn operand_keys<'r>(operand: &'r RawOperand, keys: &mut Vec<&'r str>) {
        match operand {
            RawOperand::Path(_) => {}
            RawOperand::Value(key) => keys.push(key),
            RawOperand::Call { args, .. } => args.iter().for_each(|arg| operand_keys(arg, keys)),
        }
    }
    let mut keys = Vec::new();
    for clause in &raw.clauses {
        match clause {
            RawClause::Set(actions) => {
                for (_, value) in actions {
                    for operand in set_value_operands(value) {
                        operand_keys(operand, &mut keys);
                    }
                }
            }
            RawClause::Remove(_) => {}
            RawClause::Add(actions) | RawClause::Delete(actions) => {
                keys.extend(actions.iter().map(|(_, key)| key.as_str()));
            }
        }
    }
    keys
}

// Resolution.

fn resolve(raw: &RawUpdate, ph: &mut Placeholders) -> Result<Vec<Action>, Fault> {
    let mut actions = Vec::new();
    for clause in &raw.clauses {
        match clause {
            RawClause::Set(set_actions) => {
                for (target, value) in set_actions {
                    let target = resolve_path(target, ph)?;
                    actions.push(Action::Set(target, resolve_set_value(value, ph)?));
                }
            }
            RawClause::Remove(targets) => {
                for target in targets {
                    actions.push(Action::Remove(resolve_path(target, ph)?));
                }
            }
            RawClause::Add(add_actions) => {
                for (target, key) in add_actions {
                    actions.push(Action::Add(
                        resolve_path(target, ph)?,
                        resolve_value(key, ph)?,
                    ));
                }
            }
            RawClause::Delete(delete_actions) => {
                for (target, key) in delete_actions {
                    actions.push(Action::Delete(
                        resolve_path(target, ph)?,
                        resolve_value(key, ph)?,
                    ));
                }
            }
        }
    }
    Ok(actions)
}

fn resolve_set_value(value: &RawSetValue, ph: &mut Placeholders) -> Result<SetValue, Fault> {
    Ok(match value {
        RawSetValue::Operand(operand) => SetValue::Operand(resolve_operand(operand, ph)?),
        RawSetValue::Plus(left, right) => {
            SetValue::Plus(resolve_operand(left, ph)?, resolve_operand(right, ph)?)
        }
        RawSetValue::Minus(left, right) => {
            SetValue::Minus(resolve_operand(left, ph)?, resolve_operand(right, ph)?)
        }
    })
}

fn resolve_operand(operand: &RawOperand, ph: &mut Placeholders) -> Result<Operand, Fault> {
    Ok(match operand {
        RawOperand::Path(path) => Operand::Path(resolve_path(path, ph)?),
        RawOperand::Value(key) => Operand::Value(resolve_value(key, ph)?),
        RawOperand::Call { name, args } => match (name.as_str(), args.as_slice()) {
            ("if_not_exists", [RawOperand::Path(path), fallback]) => Operand::IfNotExists(
                resolve_path(path, ph)?,
                Box::new(resolve_operand(fallback, ph)?),
            ),
            ("list_append", [first, second]) => Operand::ListAppend(
                Box::new(resolve_operand(first, ph)?),
                Box::new(resolve_operand(second, ph)?),
            ),
            _ => {
                return Err(Fault::Invalid(format!(
                    "Invalid function name; function: {name}"
                )));
            }
        },
    })
}

fn resolve_value(key: &str, ph: &mut Placeholders) -> Result<AttributeValue, Fault> {
    ph.value(key)
        .cloned()
        .ok_or_else(|| Fault::Invalid(undefined_value_message(key)))
}

// Applying.

fn error(message: &str) -> ExprError {
    ExprError {
        message: message.to_owned(),
    }
}

fn set_value(value: &SetValue, item: &Item) -> Result<AttributeValue, ExprError> {
    let number = |operand: &Operand| match operand_value(operand, item)? {
        AttributeValue::N(number) => Ok(number),
        _ => Err(error(MESSAGE_WRONG_TYPE)),
    };
    let arithmetic = |result: Result<Number, crate::ValueError>| {
        result.map(AttributeValue::N).map_err(|fault| ExprError {
            message: fault.message,
        })
    };
    match value {
        SetValue::Operand(operand) => operand_value(operand, item),
        SetValue::Plus(left, right) => arithmetic(number(left)?.checked_add(&number(right)?)),
        SetValue::Minus(left, right) => arithmetic(number(left)?.checked_sub(&number(right)?)),
    }
}

fn operand_value(operand: &Operand, item: &Item) -> Result<AttributeValue, ExprError> {
    match operand {
        Operand::Path(path) => path
            .get(item)
            .cloned()
            .ok_or_else(|| error(MESSAGE_MISSING)),
        Operand::Value(value) => Ok(value.clone()),
        Operand::IfNotExists(path, fallback) => match path.get(item) {
            Some(value) => Ok(value.clone()),
            None => operand_value(fallback, item),
        },
        Operand::ListAppend(first, second) => {
            let AttributeValue::L(mut elems) = operand_value(first, item)? else {
                return Err(error(MESSAGE_WRONG_TYPE));
            };
            let AttributeValue::L(more) = operand_value(second, item)? else {
                return Err(error(MESSAGE_WRONG_TYPE));
            };
            elems.extend(more);
            Ok(AttributeValue::L(elems))
        }
    }
}

/// Changes that move list elements, kept until every other change is made.
#[derive(Default)]
struct Later {
    /// Values for list indexes past the end.
    appends: Vec<(Path, AttributeValue)>,
    /// List elements to remove.
    removals: Vec<Path>,
}

impl Later {
    fn run(mut self, item: &mut Item) -> Result<(), ExprError> {
        self.appends.sort_by(|(one, _), (two, _)| one.cmp(two));
        for (path, value) in self.appends {
            match slot(item, &path)? {
                Slot::List(list, _) => list.push(value),
                Slot::Map(..) => return Err(error(MESSAGE_INVALID_PATH)),
            }
        }
        self.removals.sort_by(|one, two| two.cmp(one));
        for path in self.removals {
            if let Slot::List(list, index) = slot(item, &path)?
                && index < list.len()
            {
                list.remove(index);
            }
        }
        Ok(())
    }
}

/// Where a path's last step lands: a key of a map (or of the item) or an index of a list.
enum Slot<'i, 'p> {
    Map(&'i mut Item, &'p str),
    List(&'i mut Vec<AttributeValue>, usize),
}

impl Slot<'_, '_> {
    fn get(&self) -> Option<&AttributeValue> {
        match self {
            Slot::Map(map, name) => map.get(*name),
            Slot::List(list, index) => list.get(*index),
        }
    }
}

/// The slot `path` names; its parent must exist and be a map (for a name) or a list (for an
/// index).
fn slot<'i, 'p>(item: &'i mut Item, path: &'p Path) -> Result<Slot<'i, 'p>, ExprError> {
    let invalid = || error(MESSAGE_INVALID_PATH);
    let Some((PathElem::Attr(top), rest)) = path.0.split_first() else {
        return Err(invalid());
    };
    let Some((last, middle)) = rest.split_last() else {
        return Ok(Slot::Map(item, top));
    };
    let mut parent = item.get_mut(top).ok_or_else(invalid)?;
    for elem in middle {
        parent = child_mut(parent, elem).ok_or_else(invalid)?;
    }
    match (parent, last) {
        (AttributeValue::M(map), PathElem::Attr(name)) => Ok(Slot::Map(map, name)),
        (AttributeValue::L(list), PathElem::Index(index)) => Ok(Slot::List(list, *index)),
        _ => Err(invalid()),
    }
}

/// Puts `value` at `path`: in place, or later when it goes past the end of a list.
fn write(
    item: &mut Item,
    path: &Path,
    value: AttributeValue,
    later: &mut Later,
) -> Result<(), ExprError> {
    match slot(item, path)? {
        Slot::Map(map, name) => {
            map.insert(name.to_owned(), value);
        }
        Slot::List(list, index) => match list.get_mut(index) {
            Some(elem) => *elem = value,
            None => later.appends.push((path.clone(), value)),
        },
    }
    Ok(())
}

fn remove(item: &mut Item, path: &Path, later: &mut Later) -> Result<(), ExprError> {
    match slot(item, path)? {
        Slot::Map(map, name) => {
            map.remove(name);
        }
        Slot::List(list, index) => {
            if index < list.len() {
                later.removals.push(path.clone());
            }
        }
    }
    Ok(())
}

fn add(
    item: &mut Item,
    path: &Path,
    value: &AttributeValue,
    later: &mut Later,
) -> Result<(), ExprError> {
    let sum = match (slot(item, path)?.get(), value) {
        (None, value) => value.clone(),
        (Some(AttributeValue::N(existing)), AttributeValue::N(added)) => existing
            .checked_add(added)
            .map(AttributeValue::N)
            .map_err(|fault| ExprError {
                message: fault.message,
            })?,
        (Some(AttributeValue::Ss(existing)), AttributeValue::Ss(added)) => {
            AttributeValue::Ss(union(existing, added))
        }
        (Some(AttributeValue::Ns(existing)), AttributeValue::Ns(added)) => {
            AttributeValue::Ns(union(existing, added))
        }
        (Some(AttributeValue::Bs(existing)), AttributeValue::Bs(added)) => {
            AttributeValue::Bs(union(existing, added))
        }
        _ => return Err(error(MESSAGE_WRONG_TYPE)),
    };
    write(item, path, sum, later)
}

fn delete(
    item: &mut Item,
    path: &Path,
    value: &AttributeValue,
    later: &mut Later,
) -> Result<(), ExprError> {
    let remaining = match (slot(item, path)?.get(), value) {
        (None, _) => return Ok(()),
        (Some(AttributeValue::Ss(existing)), AttributeValue::Ss(deleted)) => {
            difference(existing, deleted).map(AttributeValue::Ss)
        }
        (Some(AttributeValue::Ns(existing)), AttributeValue::Ns(deleted)) => {
            difference(existing, deleted).map(AttributeValue::Ns)
        }
        (Some(AttributeValue::Bs(existing)), AttributeValue::Bs(deleted)) => {
            difference(existing, deleted).map(AttributeValue::Bs)
        }
        _ => return Err(error(MESSAGE_WRONG_TYPE)),
    };
    match remaining {
        Some(remaining) => write(item, path, remaining, later),
        None => remove(item, path, later),
    }
}

/// The members of `existing`, then those of `added` not among them.
fn union<T: Clone + PartialEq>(existing: &[T], added: &[T]) -> Vec<T> {
    let mut members = existing.to_vec();
    for member in added {
        if !members.contains(member) {
            members.push(member.clone());
        }
    }
    members
}

/// The members of `existing` not in `deleted`; `None` when none are left (a set is never empty).
fn difference<T: Clone + PartialEq>(existing: &[T], deleted: &[T]) -> Option<Vec<T>> {
    let members: Vec<T> = existing
        .iter()
        .filter(|member| !deleted.contains(member))
        .cloned()
        .collect();
    (!members.is_empty()).then_some(members)
}
