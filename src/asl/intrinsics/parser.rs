//! Parsing a call's text: the function name, nested calls, string, number and path arguments.

use super::*;

pub(super) struct Parser {
    pub(super) chars: Vec<char>,
    pub(super) position: usize,
}

pub(super) type ParseResult<T> = Result<T, String>;

impl Parser {
    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    pub(super) fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    pub(super) fn unexpected(&self, what: &str) -> String {
        match self.peek() {
            Some(c) => format!("{what} at position {}, found '{c}'", self.position + 1),
            None => format!("{what} at position {}, found the end", self.position + 1),
        }
    }

    pub(super) fn call(&mut self, depth: usize) -> ParseResult<IntrinsicCall> {
        if depth > MAX_CALL_DEPTH {
            return Err(format!(
                "intrinsic functions may be nested at most {MAX_CALL_DEPTH} deep"
            ));
        }
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.position += 1;
        }
        let name: String = self.chars[start..self.position].iter().collect();
        let function = FUNCTIONS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, function)| *function)
            .ok_or_else(|| format!("unknown intrinsic function '{name}'"))?;
        self.skip_spaces();
        if self.peek() != Some('(') {
            return Err(self.unexpected(&format!("expected '(' after {name}")));
        }
        self.position += 1;
        let mut args = Vec::new();
        self.skip_spaces();
        if self.peek() == Some(')') {
            self.position += 1;
        } else {
            loop {
                self.skip_spaces();
                args.push(self.argument(depth)?);
                self.skip_spaces();
                match self.peek() {
                    Some(',') => self.position += 1,
                    Some(')') => {
                        self.position += 1;
                        break;
                    }
                    _ => return Err(self.unexpected("expected ',' or ')'")),
                }
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || args.len() > max {
            let expected = match (min, max) {
                (min, usize::MAX) => format!("at least {min}"),
                (min, max) if min == max => format!("exactly {min}"),
                (min, max) => format!("{min} to {max}"),
            };
            return Err(format!(
                "{name} takes {expected} argument(s) but {} were given",
                args.len()
            ));
        }
        Ok(IntrinsicCall { function, args })
    }

    pub(super) fn argument(&mut self, depth: usize) -> ParseResult<Argument> {
        match self.peek() {
            Some('\'') => self.text(),
            Some('$') => self.path(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => {
                let word = self.word();
                match word.as_str() {
                    "true" => Ok(Argument::Literal(Value::Bool(true))),
                    "false" => Ok(Argument::Literal(Value::Bool(false))),
                    "null" => Ok(Argument::Literal(Value::Null)),
                    _ if word.starts_with("States.") => {
                        self.position -= word.chars().count();
                        Ok(Argument::Call(self.call(depth + 1)?))
                    }
                    _ => Err(format!("unexpected argument '{word}'")),
                }
            }
            _ => Err(self.unexpected(
                "expected a 'string', a number, true, false, null, a path or an intrinsic call",
            )),
        }
    }

    pub(super) fn word(&mut self) -> String {
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.position += 1;
        }
        self.chars[start..self.position].iter().collect()
    }

    /// `'...'` with `\'`, `\{`, `\}` and `\\` escapes; any other escape is rejected.
    pub(super) fn text(&mut self) -> ParseResult<Argument> {
        self.position += 1;
        let mut value = String::new();
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string".to_string()),
                Some('\'') => {
                    self.position += 1;
                    return Ok(Argument::Text { value, raw });
                }
                Some('\\') => {
                    let escaped = self.chars.get(self.position + 1).copied();
                    match escaped {
                        Some(c @ ('\'' | '{' | '}' | '\\')) => {
                            value.push(c);
                            raw.push('\\');
                            raw.push(c);
                            self.position += 2;
                        }
                        Some(c) => {
                            return Err(format!(
                                "invalid escape '\\{c}' at position {}; only \\' \\{{ \\}} and \\\\ are allowed",
                                self.position + 1
                            ))
                        }
                        None => return Err("unterminated string".to_string()),
                    }
                }
                Some(c) => {
                    value.push(c);
                    raw.push(c);
                    self.position += 1;
                }
            }
        }
    }

    pub(super) fn number(&mut self) -> ParseResult<Argument> {
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            self.position += 1;
        }
        let text: String = self.chars[start..self.position].iter().collect();
        serde_json::from_str::<serde_json::Number>(&text)
            .map(|n| Argument::Literal(Value::Number(n)))
            .map_err(|_| format!("invalid number '{text}' at position {}", start + 1))
    }

    /// A path runs to the next `,` or `)` that is outside brackets and quotes.
    pub(super) fn path(&mut self) -> ParseResult<Argument> {
        let start = self.position;
        let mut brackets = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            match quote {
                Some(q) => {
                    if c == '\\' {
                        self.position += 1;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '\'' | '"' if brackets > 0 => quote = Some(c),
                    '[' => brackets += 1,
                    ']' => brackets = brackets.saturating_sub(1),
                    ',' | ')' if brackets == 0 => break,
                    _ => {}
                },
            }
            self.position += 1;
        }
        let end = self.position.min(self.chars.len());
        let text: String = self.chars[start..end].iter().collect();
        JsonPath::parse(text.trim_end())
            .map(Argument::Path)
            .map_err(|error| error.0)
    }
}
