//! Parsing path text into segments and filters.

use super::*;

pub(super) struct Parser {
    pub(super) chars: Vec<char>,
    pub(super) position: usize,
    /// Current nesting of filters and filter paths, bounded by `MAX_FILTER_DEPTH`.
    pub(super) depth: usize,
}

pub(super) type ParseResult<T> = Result<T, String>;

impl Parser {
    pub(super) fn new(body: &str) -> Parser {
        Parser {
            chars: body.chars().collect(),
            position: 0,
            depth: 0,
        }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    pub(super) fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.position + offset).copied()
    }

    pub(super) fn at_end(&self) -> bool {
        self.position >= self.chars.len()
    }

    pub(super) fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    pub(super) fn expect(&mut self, wanted: char) -> ParseResult<()> {
        if self.peek() == Some(wanted) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("expected '{wanted}'")))
        }
    }

    pub(super) fn unexpected(&self, what: &str) -> String {
        match self.peek() {
            Some(c) => format!("{what} at position {}, found '{c}'", self.position + 1),
            None => format!(
                "{what} at position {}, found end of path",
                self.position + 1
            ),
        }
    }

    pub(super) fn segments_to_end(mut self) -> ParseResult<Vec<Segment>> {
        let segments = self.segments(|_| false)?;
        if self.at_end() {
            Ok(segments)
        } else {
            Err(self.unexpected("unexpected character"))
        }
    }

    /// Parse segments until the end or until `stop` accepts the next character (used inside filters).
    pub(super) fn segments(&mut self, stop: impl Fn(char) -> bool) -> ParseResult<Vec<Segment>> {
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            if stop(c) {
                break;
            }
            let segment = match c {
                '.' if self.peek_at(1) == Some('.') => {
                    self.position += 2;
                    let selector = match self.peek() {
                        Some('[') => self.bracket()?,
                        Some('*') => {
                            self.position += 1;
                            Segment::Wildcard
                        }
                        Some(c) if is_name_start(c) => Segment::Names(vec![self.dot_name()?]),
                        _ => return Err(self.unexpected("expected a name, '*' or '[' after '..'")),
                    };
                    Segment::Scan(Box::new(selector))
                }
                '.' => {
                    self.position += 1;
                    match self.peek() {
                        // Jayway reads the token after a single `.` as it would at the start: `$.[0]`, `$.a.['b']`.
                        Some('[') => self.bracket()?,
                        Some('*') => {
                            self.position += 1;
                            Segment::Wildcard
                        }
                        Some(c) if is_name_start(c) => Segment::Names(vec![self.dot_name()?]),
                        _ => return Err(self.unexpected("expected a name or '*' after '.'")),
                    }
                }
                '[' => self.bracket()?,
                _ => return Err(self.unexpected("expected '.' or '['")),
            };
            segments.push(segment);
        }
        Ok(segments)
    }

    /// A name after `.`: runs until `.`, `[` or the end; `\` escapes the next character.
    pub(super) fn dot_name(&mut self) -> ParseResult<String> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            match c {
                '.' | '[' => break,
                '\\' => {
                    let Some(escaped) = self.peek_at(1) else {
                        return Err(self.unexpected("dangling escape"));
                    };
                    name.push(escaped);
                    self.position += 2;
                }
                c if is_name_char(c) => {
                    name.push(c);
                    self.position += 1;
                }
                _ => break,
            }
        }
        if name.is_empty() {
            Err(self.unexpected("expected a name"))
        } else {
            Ok(name)
        }
    }

    pub(super) fn bracket(&mut self) -> ParseResult<Segment> {
        self.expect('[')?;
        self.skip_spaces();
        let segment = match self.peek() {
            Some('\'') | Some('"') => {
                let mut names = vec![self.quoted()?];
                self.skip_spaces();
                while self.peek() == Some(',') {
                    self.position += 1;
                    self.skip_spaces();
                    names.push(self.quoted()?);
                    self.skip_spaces();
                }
                Segment::Names(names)
            }
            Some('*') => {
                self.position += 1;
                self.skip_spaces();
                Segment::Wildcard
            }
            Some('?') => {
                self.position += 1;
                self.skip_spaces();
                self.expect('(')?;
                let filter = self.filter_or()?;
                self.skip_spaces();
                self.expect(')')?;
                self.skip_spaces();
                Segment::Filter(filter)
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.index_or_slice()?,
            _ => {
                return Err(self.unexpected("expected a quoted name, index, '*' or '?(' inside '['"))
            }
        };
        self.expect(']')?;
        Ok(segment)
    }

    pub(super) fn quoted(&mut self) -> ParseResult<String> {
        let Some(quote) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
            return Err(self.unexpected("expected a quoted name"));
        };
        self.position += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.unexpected("unterminated quoted name")),
                Some('\\') => {
                    let Some(escaped) = self.peek_at(1) else {
                        return Err(self.unexpected("dangling escape"));
                    };
                    text.push(escaped);
                    self.position += 2;
                }
                Some(c) if c == quote => {
                    self.position += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.position += 1;
                }
            }
        }
    }

    pub(super) fn integer(&mut self) -> ParseResult<i64> {
        let start = self.position;
        if self.peek() == Some('-') {
            self.position += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.position += 1;
        }
        let digits: String = self.chars[start..self.position].iter().collect();
        digits
            .parse()
            .map_err(|_| format!("invalid array index '{digits}' at position {}", start + 1))
    }

    pub(super) fn index_or_slice(&mut self) -> ParseResult<Segment> {
        let first = if self.peek() == Some(':') {
            None
        } else {
            Some(self.integer()?)
        };
        self.skip_spaces();
        match self.peek() {
            Some(':') => {
                self.position += 1;
                self.skip_spaces();
                let end = if self.peek() == Some(']') {
                    None
                } else {
                    Some(self.integer()?)
                };
                self.skip_spaces();
                Ok(Segment::Slice { start: first, end })
            }
            Some(',') => {
                let mut indexes = vec![first.ok_or_else(|| self.unexpected("expected an index"))?];
                while self.peek() == Some(',') {
                    self.position += 1;
                    self.skip_spaces();
                    indexes.push(self.integer()?);
                    self.skip_spaces();
                }
                Ok(Segment::Indexes(indexes))
            }
            _ => Ok(Segment::Index(
                first.ok_or_else(|| self.unexpected("expected an index"))?,
            )),
        }
    }

    // Filter grammar: or := and ('||' and)*; and := unary ('&&' unary)*;
    // unary := '!' unary | '(' or ')' | operand (op operand)?

    pub(super) fn nested(&mut self) -> ParseResult<()> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            Err("filter expression nested too deeply".to_string())
        } else {
            Ok(())
        }
    }

    pub(super) fn filter_or(&mut self) -> ParseResult<Filter> {
        self.nested()?;
        let mut left = self.filter_and()?;
        loop {
            self.skip_spaces();
            if self.peek() == Some('|') && self.peek_at(1) == Some('|') {
                self.position += 2;
                let right = self.filter_and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(left)
    }

    pub(super) fn filter_and(&mut self) -> ParseResult<Filter> {
        let mut left = self.filter_unary()?;
        loop {
            self.skip_spaces();
            if self.peek() == Some('&') && self.peek_at(1) == Some('&') {
                self.position += 2;
                let right = self.filter_unary()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        Ok(left)
    }

    pub(super) fn filter_unary(&mut self) -> ParseResult<Filter> {
        self.skip_spaces();
        match self.peek() {
            Some('!') if self.peek_at(1) != Some('=') => {
                self.position += 1;
                self.nested()?;
                let inner = self.filter_unary()?;
                self.depth -= 1;
                Ok(Filter::Not(Box::new(inner)))
            }
            Some('(') => {
                self.position += 1;
                let inner = self.filter_or()?;
                self.skip_spaces();
                self.expect(')')?;
                Ok(inner)
            }
            _ => {
                let left = self.operand()?;
                self.skip_spaces();
                let comparison = match (self.peek(), self.peek_at(1)) {
                    (Some('='), Some('=')) => Some((Comparison::Eq, 2)),
                    (Some('!'), Some('=')) => Some((Comparison::Ne, 2)),
                    (Some('<'), Some('=')) => Some((Comparison::Le, 2)),
                    (Some('>'), Some('=')) => Some((Comparison::Ge, 2)),
                    (Some('<'), _) => Some((Comparison::Lt, 1)),
                    (Some('>'), _) => Some((Comparison::Gt, 1)),
                    _ => None,
                };
                match comparison {
                    Some((comparison, width)) => {
                        self.position += width;
                        self.skip_spaces();
                        let right = self.operand()?;
                        Ok(Filter::Compare(left, comparison, right))
                    }
                    None => Ok(Filter::Exists(left)),
                }
            }
        }
    }

    pub(super) fn operand(&mut self) -> ParseResult<Operand> {
        let stop =
            |c: char| c.is_whitespace() || matches!(c, ')' | '=' | '!' | '<' | '>' | '&' | '|');
        match self.peek() {
            Some('@') => {
                self.position += 1;
                Ok(Operand::Current(self.filter_path(stop)?))
            }
            Some('$') => {
                self.position += 1;
                Ok(Operand::Root(self.filter_path(stop)?))
            }
            Some('\'') | Some('"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.position;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.position += 1;
                }
                let text: String = self.chars[start..self.position].iter().collect();
                serde_json::from_str::<serde_json::Number>(&text)
                    .map(|n| Operand::Literal(Value::Number(n)))
                    .map_err(|_| format!("invalid number '{text}' at position {}", start + 1))
            }
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    let end = self.position + word.len();
                    if end <= self.chars.len()
                        && self.chars[self.position..end]
                            .iter()
                            .copied()
                            .eq(word.chars())
                    {
                        self.position = end;
                        return Ok(Operand::Literal(value));
                    }
                }
                let start = self.position;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.position += 1;
                }
                if self.position > start {
                    let word: String = self.chars[start..self.position].iter().collect();
                    return Ok(Operand::BareWord(word));
                }
                Err(self.unexpected("expected '@', '$', a string, a number, true, false or null"))
            }
        }
    }

    pub(super) fn filter_path(&mut self, stop: impl Fn(char) -> bool) -> ParseResult<Vec<Segment>> {
        self.nested()?;
        let segments = self.segments(stop)?;
        self.depth -= 1;
        Ok(segments)
    }
}

pub(super) fn is_name_start(c: char) -> bool {
    is_name_char(c) || c == '\\'
}

/// Characters allowed in a dot-notation name: anything but separators, brackets, quotes, whitespace and
/// filter punctuation (those need bracket notation).
pub(super) fn is_name_char(c: char) -> bool {
    !c.is_whitespace()
        && !c.is_control()
        && !matches!(
            c,
            '.' | '['
                | ']'
                | '('
                | ')'
                | '\''
                | '"'
                | ','
                | '*'
                | '?'
                | '='
                | '!'
                | '<'
                | '>'
                | '&'
                | '|'
                | '\\'
        )
}
