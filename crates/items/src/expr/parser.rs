//! Recursive-descent parsers for the three grammars: conditions (also used for filters and key
//! conditions), updates and projections. They only check syntax; a syntax error names the token
//! where the grammar stopped, as DynamoDB's parser does.
//!
//! Conditions are parsed with one node type for conditions and operands (`(a)` and `(a = b)`
//! look alike until their closing parenthesis), then `check_condition` checks that every node
//! stands where its kind may, reporting the token where a grammar that knew the kinds would
//! have stopped.

use crate::expr::ast::{
    Comparator, Node, NodeKind, RawClause, RawElem, RawOperand, RawPath, RawSetValue, RawUpdate,
    TokenIdx,
};
use crate::expr::lexer::{self, Keyword, Token, TokenKind};
use crate::expr::limits::NESTING_DEPTH_MAX;

/// The grammar did not allow the token at `token_idx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) token_idx: TokenIdx,
}

type Parsed<T> = Result<T, SyntaxError>;

/// A tokenized expression being parsed.
pub(crate) struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: TokenIdx,
    depth: usize,
    /// The furthest token at which an expectation failed; after backtracking, the error is
    /// reported there.
    furthest: TokenIdx,
    /// Whether some parentheses directly enclose other parentheses: `((a))`.
    redundant_parens: bool,
}

impl<'t> Parser<'t> {
    pub(crate) fn new(text: &'t str) -> Parser<'t> {
        Parser {
            text,
            tokens: lexer::tokenize(text),
            pos: 0,
            depth: 0,
            furthest: 0,
            redundant_parens: false,
        }
    }

    /// DynamoDB's message for a syntax error found by this parser.
    pub(crate) fn message(&self, error: SyntaxError) -> String {
        lexer::syntax_error(self.text, &self.tokens, error.token_idx)
    }

    /// Whether the parsed condition has parentheses directly inside parentheses, which DynamoDB
    /// refuses ("The expression has redundant parentheses;") once the syntax is right.
    pub(crate) fn has_redundant_parens(&self) -> bool {
        self.redundant_parens
    }

    /// `cond` of the condition grammar, followed by the end of the text.
    pub(crate) fn condition(&mut self) -> Parsed<Node> {
        let node = self.or()?;
        self.expect(TokenKind::Eof)?;
        check_condition(&node)?;
        Ok(node)
    }

    /// `update` of the update grammar: one or more clauses.
    pub(crate) fn update(&mut self) -> Parsed<RawUpdate> {
        let mut clauses = vec![self.clause()?];
        while self.peek() != TokenKind::Eof {
            clauses.push(self.clause()?);
        }
        Ok(RawUpdate { clauses })
    }

    /// `proj` of the projection grammar: paths separated by commas.
    pub(crate) fn projection(&mut self) -> Parsed<Vec<RawPath>> {
        let mut paths = vec![self.path()?];
        while self.eat(TokenKind::Comma) {
            paths.push(self.path()?);
        }
        self.expect(TokenKind::Eof)?;
        Ok(paths)
    }

    // Conditions.

    fn or(&mut self) -> Parsed<Node> {
        let first = self.pos;
        let mut left = self.and()?;
        while self.peek() == TokenKind::Keyword(Keyword::Or) {
            let op_tok = self.bump();
            let right = self.and()?;
            let kind = NodeKind::Or {
                op_tok,
                left: Box::new(left),
                right: Box::new(right),
            };
            left = self.node(kind, first);
        }
        Ok(left)
    }

    fn and(&mut self) -> Parsed<Node> {
        let first = self.pos;
        let mut left = self.not()?;
        while self.peek() == TokenKind::Keyword(Keyword::And) {
            let op_tok = self.bump();
            let right = self.not()?;
            let kind = NodeKind::And {
                op_tok,
                left: Box::new(left),
                right: Box::new(right),
            };
            left = self.node(kind, first);
        }
        Ok(left)
    }

    fn not(&mut self) -> Parsed<Node> {
        let first = self.pos;
        if !self.eat(TokenKind::Keyword(Keyword::Not)) {
            return self.comparison();
        }
        self.nest(first)?;
        let inner = self.not();
        self.depth -= 1;
        Ok(self.node(
            NodeKind::Not {
                inner: Box::new(inner?),
            },
            first,
        ))
    }

    /// An operand, optionally compared: `x cmp y`, `x BETWEEN y AND z`, `x IN (y, …)`.
    fn comparison(&mut self) -> Parsed<Node> {
        let first = self.pos;
        let subject = Box::new(self.primary()?);
        let op_tok = self.pos;
        let kind = match self.peek() {
            TokenKind::Keyword(Keyword::Between) => {
                self.bump();
                let low = Box::new(self.primary()?);
                self.expect(TokenKind::Keyword(Keyword::And))?;
                let high = Box::new(self.primary()?);
                NodeKind::Between {
                    op_tok,
                    subject,
                    low,
                    high,
                }
            }
            TokenKind::Keyword(Keyword::In) => {
                self.bump();
                self.expect(TokenKind::LeftParen)?;
                let list = self.arguments()?;
                NodeKind::In {
                    op_tok,
                    subject,
                    list,
                }
            }
            other => match comparator(other) {
                Some(op) => {
                    self.bump();
                    let right = Box::new(self.primary()?);
                    NodeKind::Compare {
                        op,
                        op_tok,
                        left: subject,
                        right,
                    }
                }
                None => return Ok(*subject),
            },
        };
        Ok(self.node(kind, first))
    }

    /// A path, a `:value`, a function call, or anything in parentheses (a grouped path may go
    /// on after its parenthesis: `(a.b).c`).
    fn primary(&mut self) -> Parsed<Node> {
        let first = self.pos;
        match self.peek() {
            TokenKind::LeftParen => {
                self.nest(first)?;
                self.bump();
                let inner = self.or();
                self.depth -= 1;
                let inner = inner?;
                self.expect(TokenKind::RightParen)?;
                if matches!(inner.kind, NodeKind::Paren(_)) {
                    self.redundant_parens = true;
                }
                match grouped_path(&inner) {
                    Some(path) if self.continues_path() => {
                        let mut path = path.clone();
                        self.path_steps(&mut path)?;
                        Ok(self.node(NodeKind::Path(path), first))
                    }
                    _ => Ok(self.node(NodeKind::Paren(Box::new(inner)), first)),
                }
            }
            TokenKind::ValueRef => {
                let name = self.bump_text();
                Ok(self.node(NodeKind::Value(name), first))
            }
            TokenKind::Ident if self.peek_at(1) == TokenKind::LeftParen => {
                let name = self.bump_text();
                self.nest(first)?;
                self.bump();
                let args = self.arguments();
                self.depth -= 1;
                Ok(self.node(NodeKind::Call { name, args: args? }, first))
            }
            TokenKind::Ident | TokenKind::NameRef => {
                let path = self.path()?;
                Ok(self.node(NodeKind::Path(path), first))
            }
            _ => Err(self.fail()),
        }
    }

    /// `x, y, …)` after an opening parenthesis (function arguments, IN lists).
    fn arguments(&mut self) -> Parsed<Vec<Node>> {
        let mut args = vec![self.or()?];
        while self.eat(TokenKind::Comma) {
            args.push(self.or()?);
        }
        self.expect(TokenKind::RightParen)?;
        Ok(args)
    }

    fn node(&self, kind: NodeKind, first: TokenIdx) -> Node {
        Node {
            kind,
            first,
            end: self.pos,
        }
    }

    // Updates.

    fn clause(&mut self) -> Parsed<RawClause> {
        let TokenKind::Keyword(keyword) = self.peek() else {
            return Err(self.fail());
        };
        match keyword {
            Keyword::Set => {
                self.bump();
                self.list(Self::set_action).map(RawClause::Set)
            }
            Keyword::Remove => {
                self.bump();
                self.list(Self::path).map(RawClause::Remove)
            }
            Keyword::Add => {
                self.bump();
                self.list(Self::path_and_value).map(RawClause::Add)
            }
            Keyword::Delete => {
                self.bump();
                self.list(Self::path_and_value).map(RawClause::Delete)
            }
            _ => Err(self.fail()),
        }
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Parsed<T>) -> Parsed<Vec<T>> {
        let mut items = vec![item(self)?];
        while self.eat(TokenKind::Comma) {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn set_action(&mut self) -> Parsed<(RawPath, RawSetValue)> {
        let path = self.path()?;
        self.expect(TokenKind::Equal)?;
        // The right-hand side may also be wrapped whole in parentheses: `a = (b + c)`. Try it
        // unwrapped first, so `(b) + c` reads as an operand in parentheses plus another.
        let start = self.pos;
        let starts_with_paren = self.peek() == TokenKind::LeftParen;
        match self.set_value() {
            Ok(value) if !starts_with_paren || self.at_set_value_end() => return Ok((path, value)),
            Err(error) if !starts_with_paren => return Err(error),
            _ => {}
        }
        self.pos = start;
        self.bump();
        let value = self.set_value()?;
        self.expect(TokenKind::RightParen)?;
        Ok((path, value))
    }

    fn at_set_value_end(&self) -> bool {
        matches!(
            self.peek(),
            TokenKind::Comma
                | TokenKind::Eof
                | TokenKind::Keyword(
                    Keyword::Set | Keyword::Remove | Keyword::Add | Keyword::Delete
                )
        )
    }

    fn set_value(&mut self) -> Parsed<RawSetValue> {
        let left = self.update_operand_in_parens()?;
        if self.eat(TokenKind::Plus) {
            return Ok(RawSetValue::Plus(left, self.update_operand_in_parens()?));
        }
        if self.eat(TokenKind::Minus) {
            return Ok(RawSetValue::Minus(left, self.update_operand_in_parens()?));
        }
        Ok(RawSetValue::Operand(left))
    }

    fn update_operand_in_parens(&mut self) -> Parsed<RawOperand> {
        if !self.eat(TokenKind::LeftParen) {
            return self.update_operand();
        }
        let operand = self.update_operand()?;
        self.expect(TokenKind::RightParen)?;
        Ok(operand)
    }

    fn update_operand(&mut self) -> Parsed<RawOperand> {
        match self.peek() {
            TokenKind::ValueRef => Ok(RawOperand::Value(self.bump_text())),
            TokenKind::Ident if self.peek_at(1) == TokenKind::LeftParen => {
                let first = self.pos;
                let name = self.bump_text();
                self.nest(first)?;
                self.bump();
                let args = self.list(Self::update_operand_in_parens);
                self.depth -= 1;
                let args = args?;
                self.expect(TokenKind::RightParen)?;
                Ok(RawOperand::Call { name, args })
            }
            _ => self.path().map(RawOperand::Path),
        }
    }

    fn path_and_value(&mut self) -> Parsed<(RawPath, String)> {
        let path = self.path()?;
        if self.peek() != TokenKind::ValueRef {
            return Err(self.fail());
        }
        Ok((path, self.bump_text()))
    }

    // Paths.

    fn path(&mut self) -> Parsed<RawPath> {
        let mut path = RawPath {
            elems: vec![self.path_name()?],
        };
        self.path_steps(&mut path)?;
        Ok(path)
    }

    fn path_name(&mut self) -> Parsed<RawElem> {
        match self.peek() {
            TokenKind::Ident => Ok(RawElem::Name(self.bump_text())),
            TokenKind::NameRef => Ok(RawElem::Alias(self.bump_text())),
            _ => Err(self.fail()),
        }
    }

    fn continues_path(&self) -> bool {
        matches!(self.peek(), TokenKind::Dot | TokenKind::LeftBracket)
    }

    /// `.name` and `[index]` steps, as many as follow.
    fn path_steps(&mut self, path: &mut RawPath) -> Parsed<()> {
        loop {
            if self.eat(TokenKind::Dot) {
                path.elems.push(self.path_name()?);
            } else if self.eat(TokenKind::LeftBracket) {
                if self.peek() != TokenKind::Digits {
                    return Err(self.fail());
                }
                let Ok(index) = self.current_text().parse::<usize>() else {
                    return Err(self.fail());
                };
                self.bump();
                self.expect(TokenKind::RightBracket)?;
                path.elems.push(RawElem::Index(index));
            } else {
                return Ok(());
            }
        }
    }

    // Tokens.

    fn peek(&self) -> TokenKind {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> TokenKind {
        self.tokens
            .get(self.pos + ahead)
            .map_or(TokenKind::Eof, |token| token.kind)
    }

    fn current_text(&self) -> &'t str {
        self.tokens
            .get(self.pos)
            .map_or("", |token| token.text(self.text))
    }

    /// Moves past the current token (never past `Eof`) and returns its index.
    fn bump(&mut self) -> TokenIdx {
        let idx = self.pos;
        if self.peek() != TokenKind::Eof {
            self.pos += 1;
        }
        idx
    }

    fn bump_text(&mut self) -> String {
        let text = self.current_text().to_owned();
        self.bump();
        text
    }

    fn eat(&mut self, kind: TokenKind) -> bool {
        if self.peek() != kind {
            return false;
        }
        self.bump();
        true
    }

    fn expect(&mut self, kind: TokenKind) -> Parsed<()> {
        if self.eat(kind) {
            Ok(())
        } else {
            Err(self.fail())
        }
    }

    /// Records that the current token is not what the grammar wants here.
    fn fail(&mut self) -> SyntaxError {
        self.furthest = self.furthest.max(self.pos);
        SyntaxError {
            token_idx: self.furthest,
        }
    }

    /// Enters one more level of nesting, refusing (at the token `at`) past the limit so that
    /// deep nesting cannot exhaust the stack.
    fn nest(&mut self, at: TokenIdx) -> Parsed<()> {
        if self.depth >= NESTING_DEPTH_MAX {
            self.furthest = self.furthest.max(at);
            return Err(SyntaxError { token_idx: at });
        }
        self.depth += 1;
        Ok(())
    }
}

fn comparator(kind: TokenKind) -> Option<Comparator> {
    match kind {
        TokenKind::Equal => Some(Comparator::Equal),
        TokenKind::NotEqual => Some(Comparator::NotEqual),
        TokenKind::Less => Some(Comparator::Less),
        TokenKind::LessEqual => Some(Comparator::LessEqual),
        TokenKind::Greater => Some(Comparator::Greater),
        TokenKind::GreaterEqual => Some(Comparator::GreaterEqual),
        _ => None,
    }
}

// The kinds of condition nodes.

/// Checks that `node` is a condition: a comparison, a function call, or conditions joined by
/// AND, OR, NOT and parentheses.
fn check_condition(node: &Node) -> Parsed<()> {
    match &node.kind {
        NodeKind::Path(_) | NodeKind::Value(_) => Err(SyntaxError {
            token_idx: node.end,
        }),
        NodeKind::Paren(inner) => check_condition(inner),
        NodeKind::Not { inner } => check_condition(inner),
        NodeKind::And { left, right, .. } | NodeKind::Or { left, right, .. } => {
            check_condition(left)?;
            check_condition(right)
        }
        NodeKind::Call { args, .. } => args.iter().try_for_each(check_operand),
        NodeKind::Compare {
            op_tok,
            left,
            right,
            ..
        } => {
            check_subject(left, *op_tok)?;
            check_operand(right)
        }
        NodeKind::Between {
            op_tok,
            subject,
            low,
            high,
        } => {
            check_subject(subject, *op_tok)?;
            check_operand(low)?;
            check_operand(high)
        }
        NodeKind::In {
            op_tok,
            subject,
            list,
        } => {
            check_subject(subject, *op_tok)?;
            list.iter().try_for_each(check_operand)
        }
    }
}

/// Checks the operand left of a comparator: a parenthesized condition there ends before the
/// comparator, so that is where the grammar stops.
fn check_subject(subject: &Node, op_tok: TokenIdx) -> Parsed<()> {
    if is_condition_only(subject.unparen()) {
        return Err(SyntaxError { token_idx: op_tok });
    }
    check_operand(subject)
}

/// Checks that `node` is an operand: a path, a `:value`, a function call, or one of those in
/// parentheses.
fn check_operand(node: &Node) -> Parsed<()> {
    match &node.kind {
        NodeKind::Path(_) | NodeKind::Value(_) => Ok(()),
        NodeKind::Paren(inner) => check_operand(inner),
        NodeKind::Call { args, .. } => args.iter().try_for_each(check_operand),
        _ => Err(SyntaxError {
            token_idx: first_non_operand_token(node),
        }),
    }
}

/// The path inside (possibly nested) parentheses, if that is all they hold.
fn grouped_path(node: &Node) -> Option<&RawPath> {
    match &node.kind {
        NodeKind::Path(path) => Some(path),
        NodeKind::Paren(inner) => grouped_path(inner),
        _ => None,
    }
}

fn is_condition_only(node: &Node) -> bool {
    !matches!(
        node.kind,
        NodeKind::Path(_) | NodeKind::Value(_) | NodeKind::Call { .. } | NodeKind::Paren(_)
    )
}

/// The first token of `node` that an operand cannot contain.
fn first_non_operand_token(node: &Node) -> TokenIdx {
    match &node.kind {
        NodeKind::Paren(inner) => first_non_operand_token(inner),
        NodeKind::Not { .. } => node.first,
        NodeKind::Compare { op_tok, left, .. }
        | NodeKind::Between {
            op_tok,
            subject: left,
            ..
        }
        | NodeKind::In {
            op_tok,
            subject: left,
            ..
        }
        | NodeKind::And { op_tok, left, .. }
        | NodeKind::Or { op_tok, left, .. } => match check_operand(left) {
            Ok(()) => *op_tok,
            Err(error) => error.token_idx,
        },
        NodeKind::Path(_) | NodeKind::Value(_) | NodeKind::Call { .. } => node.end,
    }
}
