//! Syntax trees as the parser builds them: names and placeholders still as written, with the
//! token positions that error messages need. The checks in `condition.rs`, `update.rs` and
//! `projection.rs` turn them into the resolved, public types.

/// A position in the token list (not in the text).
pub(crate) type TokenIdx = usize;

/// One step of a path as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawElem {
    /// A plain attribute name (checked against the reserved words).
    Name(String),
    /// `#alias`, resolved through ExpressionAttributeNames.
    Alias(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPath {
    pub(crate) elems: Vec<RawElem>,
}

/// A node of a condition. Conditions and operands share one node type because the grammar
/// cannot tell `(a)` from `(a = b)` before the closing parenthesis; `condition.rs` checks that
/// each node stands where its kind may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    /// The node's first token.
    pub(crate) first: TokenIdx,
    /// The token after the node's last one.
    pub(crate) end: TokenIdx,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Path(RawPath),
    /// `:value`.
    Value(String),
    /// `name(args…)`: an operand (`size`) or a condition (the other functions).
    Call {
        name: String,
        args: Vec<Node>,
    },
    Paren(Box<Node>),
    Compare {
        op: Comparator,
        op_tok: TokenIdx,
        left: Box<Node>,
        right: Box<Node>,
    },
    Between {
        op_tok: TokenIdx,
        subject: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
    },
    In {
        op_tok: TokenIdx,
        subject: Box<Node>,
        list: Vec<Node>,
    },
    And {
        op_tok: TokenIdx,
        left: Box<Node>,
        right: Box<Node>,
    },
    Or {
        op_tok: TokenIdx,
        left: Box<Node>,
        right: Box<Node>,
    },
    Not {
        inner: Box<Node>,
    },
}

impl Node {
    /// The node without the parentheses around it.
    pub(crate) fn unparen(&self) -> &Node {
        let mut node = self;
        while let NodeKind::Paren(inner) = &node.kind {
            node = inner;
        }
        node
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparator {
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl Comparator {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Comparator::Equal => "=",
            Comparator::NotEqual => "<>",
            Comparator::Less => "<",
            Comparator::LessEqual => "<=",
            Comparator::Greater => ">",
            Comparator::GreaterEqual => ">=",
        }
    }
}

/// An UpdateExpression as written: its clauses in text order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawUpdate {
    pub(crate) clauses: Vec<RawClause>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawClause {
    Set(Vec<(RawPath, RawSetValue)>),
    Remove(Vec<RawPath>),
    /// `ADD path :value, …`
    Add(Vec<(RawPath, String)>),
    /// `DELETE path :value, …`
    Delete(Vec<(RawPath, String)>),
}

impl RawClause {
    pub(crate) fn keyword(&self) -> &'static str {
        match self {
            RawClause::Set(_) => "SET",
            RawClause::Remove(_) => "REMOVE",
            RawClause::Add(_) => "ADD",
            RawClause::Delete(_) => "DELETE",
        }
    }
}

/// The right-hand side of a SET action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawSetValue {
    Operand(RawOperand),
    Plus(RawOperand, RawOperand),
    Minus(RawOperand, RawOperand),
}

/// An operand of an update: a path, a `:value`, or a function call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawOperand {
    Path(RawPath),
    Value(String),
    Call { name: String, args: Vec<RawOperand> },
}
