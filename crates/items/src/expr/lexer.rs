//! The tokens of DynamoDB's expression language, and its syntax-error message.
//!
//! One lexer serves every kind of expression, as DynamoDB's does: the clause keywords of an
//! update (`SET`, `REMOVE`, `ADD`, `DELETE`) are keywords in a condition too, so
//! `ADD #v :i` as a ConditionExpression fails at `ADD`. A character that starts no token
//! becomes a one-character `Unknown` token, so the parser reports it like any other
//! unexpected token (`token: "!", near: "!!"`).

/// The keywords of the grammar, matched case-insensitively. They can never be attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    Between,
    In,
    Set,
    Remove,
    Add,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// `[A-Za-z_][A-Za-z0-9_]*` that is not a keyword: an attribute or function name.
    Ident,
    /// `#[A-Za-z0-9_]+`: an ExpressionAttributeNames key.
    NameRef,
    /// `:[A-Za-z0-9_]+`: an ExpressionAttributeValues key.
    ValueRef,
    /// `[0-9]+`: only valid as a list index.
    Digits,
    Keyword(Keyword),
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Dot,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Plus,
    Minus,
    /// A character that starts no token.
    Unknown,
    /// The end of the text; always the last token.
    Eof,
}

/// A token and where it is in the text (byte offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Token {
    pub(crate) fn text<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start..self.end]
    }
}

/// Splits `text` into tokens. Never fails: what is not a token becomes `Unknown`.
/// The last token is always `Eof`.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let byte = bytes[pos];
        if matches!(byte, b' ' | b'\t' | b'\r' | b'\n') {
            pos += 1;
            continue;
        }
        let start = pos;
        let kind = match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                pos = word_end(bytes, pos);
                keyword(&text[start..pos]).map_or(TokenKind::Ident, TokenKind::Keyword)
            }
            b'0'..=b'9' => {
                pos = digits_end(bytes, pos);
                TokenKind::Digits
            }
            b'#' | b':' if bytes.get(pos + 1).is_some_and(|&next| is_word_byte(next)) => {
                pos = word_end(bytes, pos + 1);
                if byte == b'#' {
                    TokenKind::NameRef
                } else {
                    TokenKind::ValueRef
                }
            }
            _ => {
                let (kind, len) = punctuation(&bytes[pos..])
                    .unwrap_or_else(|| (TokenKind::Unknown, char_len(text, pos)));
                pos += len;
                kind
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: pos,
        });
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        start: text.len(),
        end: text.len(),
    });
    tokens
}

/// DynamoDB's message for a token the grammar does not allow where it stands:
/// `Syntax error; token: "<token>", near: "<previous token … next token>"`.
pub(crate) fn syntax_error(text: &str, tokens: &[Token], token_idx: usize) -> String {
    let last_idx = tokens.len().saturating_sub(1);
    let token_idx = token_idx.min(last_idx);
    let Some(token) = tokens.get(token_idx) else {
        return "Syntax error; token: \"<EOF>\", near: \"\"".to_owned();
    };
    let shown = match token.kind {
        TokenKind::Eof => "<EOF>",
        _ => token.text(text),
    };
    let near_start = match token_idx.checked_sub(1) {
        Some(prev_idx) => tokens[prev_idx].start,
        None => token.start,
    };
    let near_end = match tokens.get(token_idx + 1) {
        Some(next) if next.kind != TokenKind::Eof => next.end,
        _ => token.end,
    };
    let near = &text[near_start..near_end.max(near_start)];
    format!("Syntax error; token: \"{shown}\", near: \"{near}\"")
}

fn keyword(word: &str) -> Option<Keyword> {
    const KEYWORDS: [(&str, Keyword); 9] = [
        ("AND", Keyword::And),
        ("OR", Keyword::Or),
        ("NOT", Keyword::Not),
        ("BETWEEN", Keyword::Between),
        ("IN", Keyword::In),
        ("SET", Keyword::Set),
        ("REMOVE", Keyword::Remove),
        ("ADD", Keyword::Add),
        ("DELETE", Keyword::Delete),
    ];
    KEYWORDS
        .iter()
        .find(|(spelling, _)| spelling.eq_ignore_ascii_case(word))
        .map(|&(_, keyword)| keyword)
}

fn punctuation(rest: &[u8]) -> Option<(TokenKind, usize)> {
    let two = match rest {
        [b'<', b'>', ..] => Some(TokenKind::NotEqual),
        [b'<', b'=', ..] => Some(TokenKind::LessEqual),
        [b'>', b'=', ..] => Some(TokenKind::GreaterEqual),
        _ => None,
    };
    if let Some(kind) = two {
        return Some((kind, 2));
    }
    let one = match rest.first()? {
        b'(' => TokenKind::LeftParen,
        b')' => TokenKind::RightParen,
        b'[' => TokenKind::LeftBracket,
        b']' => TokenKind::RightBracket,
        b',' => TokenKind::Comma,
        b'.' => TokenKind::Dot,
        b'=' => TokenKind::Equal,
        b'<' => TokenKind::Less,
        b'>' => TokenKind::Greater,
        b'+' => TokenKind::Plus,
        b'-' => TokenKind::Minus,
        _ => return None,
    };
    Some((one, 1))
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn word_end(bytes: &[u8], from: usize) -> usize {
    from + bytes[from..]
        .iter()
        .take_while(|&&byte| is_word_byte(byte))
        .count()
}

fn digits_end(bytes: &[u8], from: usize) -> usize {
    from + bytes[from..]
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count()
}

fn char_len(text: &str, pos: usize) -> usize {
    text[pos..].chars().next().map_or(1, char::len_utf8)
}
