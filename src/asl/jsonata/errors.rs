//! AWS's words for a bad expression (definition time) and a failed evaluation (run time).

use jsonata_core::evaluator::EvaluatorError;
use jsonata_core::parser::ParserError;
use serde_json::Value;

/// Which definition-time code AWS reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// `INVALID_JSONATA_EXPRESSION`: the expression does not parse.
    Invalid,
    /// `UNSUPPORTED_JSONATA_EXPRESSION`: it parses but reads something Step Functions does not provide.
    Unsupported,
}

/// A definition-time error of one expression. `Display` is `CODE: message`; the validator appends
/// ` at <pointer>` as for every diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonataSyntaxError {
    pub kind: SyntaxErrorKind,
    /// The JSONata message without its `Sxxxx` code, e.g. `Expected "]", got ","`.
    pub message: String,
}

impl JsonataSyntaxError {
    pub fn code(&self) -> &'static str {
        match self.kind {
            SyntaxErrorKind::Invalid => "INVALID_JSONATA_EXPRESSION",
            SyntaxErrorKind::Unsupported => "UNSUPPORTED_JSONATA_EXPRESSION",
        }
    }

    pub(crate) fn unsupported_reference(name: &str) -> JsonataSyntaxError {
        JsonataSyntaxError {
            kind: SyntaxErrorKind::Unsupported,
            message: format!("Reference to '{name}' at the top level is not supported."),
        }
    }
}

impl std::fmt::Display for JsonataSyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for JsonataSyntaxError {}

/// The parser's message as jsonata-js words it (AWS runs jsonata-js 2.0.6 wording), code removed.
pub(crate) fn syntax_error(error: ParserError, source: &str) -> JsonataSyntaxError {
    let text = error.to_string();
    let text = text.strip_prefix("Parse error: ").unwrap_or(&text);
    // jsonata-core reports an unterminated regex as an unterminated string, and has no code for an
    // unclosed comment; jsonata-js tells them apart.
    let text = match text {
        "S0101: String literal must be terminated by a matching quote"
            if strings_closed(source) =>
        {
            "S0302: No terminating / in regular expression"
        }
        "Unclosed comment" => "S0106: Comment has no closing tag",
        other => other,
    };
    let message = match split_code(text) {
        Some((code, message)) => {
            super::messages::fixed(code).map_or_else(|| jsjs_tokens(message), str::to_string)
        }
        None => jsjs_tokens(text),
    };
    JsonataSyntaxError {
        kind: SyntaxErrorKind::Invalid,
        message,
    }
}

/// Whether every quoted string of `source` ends (comments and escapes honoured).
fn strings_closed(source: &str) -> bool {
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => loop {
                match chars.next() {
                    None => return false,
                    Some('\\') => {
                        chars.next();
                    }
                    Some(q) if q == c => break,
                    Some(_) => {}
                }
            },
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                loop {
                    match chars.next() {
                        None => return true,
                        Some('/') if star => break,
                        Some(c) => star = c == '*',
                    }
                }
            }
            _ => {}
        }
    }
    true
}

/// `T1006: Attempted …` → (`T1006`, `Attempted …`).
pub(crate) fn split_code(text: &str) -> Option<(&str, &str)> {
    let code = jsonata_core::evaluator::error_code_prefix(text)?;
    Some((code, text[code.len() + 1..].trim_start()))
}

/// The parser names tokens by their Rust variant (`RightBracket`); jsonata-js quotes the symbol (`"]"`).
fn jsjs_tokens(message: &str) -> String {
    const SYMBOLS: [(&str, &str); 36] = [
        ("LeftParen", "("),
        ("RightParen", ")"),
        ("LeftBracket", "["),
        ("RightBracket", "]"),
        ("LeftBrace", "{"),
        ("RightBrace", "}"),
        ("Comma", ","),
        ("Semicolon", ";"),
        ("Caret", "^"),
        ("ColonEqual", ":="),
        ("Colon", ":"),
        ("TildeArrow", "~>"),
        ("QuestionQuestion", "??"),
        ("QuestionColon", "?:"),
        ("Question", "?"),
        ("DotDot", ".."),
        ("Dot", "."),
        ("Ampersand", "&"),
        ("StarStar", "**"),
        ("Star", "*"),
        ("Plus", "+"),
        ("Minus", "-"),
        ("Slash", "/"),
        ("Percent", "%"),
        ("NotEqual", "!="),
        ("Equal", "="),
        ("LessThanOrEqual", "<="),
        ("LessThan", "<"),
        ("GreaterThanOrEqual", ">="),
        ("GreaterThan", ">"),
        ("Pipe", "|"),
        ("At", "@"),
        ("Hash", "#"),
        ("And", "and"),
        ("Or", "or"),
        ("In", "in"),
    ];
    let mut out = String::with_capacity(message.len());
    for (i, word) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let (core, trail) = match word.strip_suffix(',') {
            Some(core) => (core, ","),
            None => (word, ""),
        };
        match SYMBOLS.iter().find(|(name, _)| *name == core) {
            Some((_, symbol)) => {
                out.push('"');
                out.push_str(symbol);
                out.push('"');
            }
            None => out.push_str(core),
        }
        out.push_str(trail);
    }
    out
}

/// `States.QueryEvaluationError`: an expression threw, returned nothing, or returned a value its field
/// cannot take. [`QueryEvaluationError::cause`] is AWS's text after the sentence naming the state;
/// [`QueryEvaluationError::cause_in_state`] is the whole cause.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryEvaluationError {
    /// The field path inside the state (`Output/result`, `Arguments`, `Items`); empty until named.
    location: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Undefined {
        expression: String,
    },
    Threw {
        expression: String,
        code: Option<String>,
        message: String,
    },
    UnexpectedType {
        expression: String,
        expected: String,
        actual: &'static str,
        value: String,
    },
    UnsupportedResult {
        expression: String,
    },
    /// The evaluator itself failed; AWS words it so, with an error id.
    Internal {
        expression: String,
        id: String,
    },
    /// A failure not tied to one expression, e.g. `Map state input must be an array but was: 1`.
    Other {
        cause: String,
    },
}

impl QueryEvaluationError {
    /// The error name AWS reports.
    pub const ERROR: &'static str = "States.QueryEvaluationError";

    pub(crate) fn undefined(expression: &str) -> Self {
        QueryEvaluationError {
            location: String::new(),
            kind: Kind::Undefined {
                expression: expression.to_string(),
            },
        }
    }

    pub(crate) fn threw(expression: &str, error: &EvaluatorError, calls: &[String]) -> Self {
        let text = error.message();
        let (code, message) = match split_code(text) {
            Some((code, message)) => super::messages::runtime(code, message, calls),
            None => (None, text.to_string()),
        };
        QueryEvaluationError {
            location: String::new(),
            kind: Kind::Threw {
                expression: expression.to_string(),
                code,
                message,
            },
        }
    }

    pub(crate) fn unsupported_result(expression: &str) -> Self {
        QueryEvaluationError {
            location: String::new(),
            kind: Kind::UnsupportedResult {
                expression: expression.to_string(),
            },
        }
    }

    pub(crate) fn internal(expression: &str, id: &str) -> Self {
        QueryEvaluationError {
            location: String::new(),
            kind: Kind::Internal {
                expression: expression.to_string(),
                id: id.to_string(),
            },
        }
    }

    /// The field wanted `expected` (`array`, `boolean`, `number`, `string`, `object`, as AWS names them)
    /// and the expression returned `value`.
    pub fn unexpected_type(expression: &str, expected: &str, value: &Value) -> Self {
        QueryEvaluationError {
            location: String::new(),
            kind: Kind::UnexpectedType {
                expression: expression.to_string(),
                expected: expected.to_string(),
                actual: json_type_name(value),
                value: value.to_string(),
            },
        }
    }

    /// A `States.QueryEvaluationError` with a cause of the caller's (`Map state input must be an array
    /// but was: …`, the Wait `Timestamp` parse failure).
    pub fn other(cause: impl Into<String>) -> Self {
        QueryEvaluationError {
            location: String::new(),
            kind: Kind::Other {
                cause: cause.into(),
            },
        }
    }

    /// Names the field: `Output` for a whole-field expression, `Output/result` for one inside a template
    /// already located at `result`. Applied outermost last (`e.in_field("Output")`, then for a catcher
    /// `e.in_field("Catch[1]")` if the engine wants that).
    pub fn in_field(mut self, field: &str) -> Self {
        self.location = if self.location.is_empty() {
            field.to_string()
        } else if self.location.starts_with('[') {
            format!("{field}{}", self.location)
        } else {
            format!("{field}/{}", self.location)
        };
        self
    }

    /// The `location` of the `EvaluationFailed` event (none for a cause of the caller's).
    pub fn location(&self) -> Option<&str> {
        match self.kind {
            Kind::Other { .. } => None,
            _ if self.location.is_empty() => None,
            _ => Some(&self.location),
        }
    }

    /// The expression text, when the error is about one.
    pub fn expression(&self) -> Option<&str> {
        match &self.kind {
            Kind::Undefined { expression }
            | Kind::Threw { expression, .. }
            | Kind::UnexpectedType { expression, .. }
            | Kind::UnsupportedResult { expression }
            | Kind::Internal { expression, .. } => Some(expression),
            Kind::Other { .. } => None,
        }
    }

    /// The JSONata error code of a thrown error (`T1006`).
    pub fn jsonata_code(&self) -> Option<&str> {
        match &self.kind {
            Kind::Threw { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether the expression returned nothing.
    pub fn is_undefined(&self) -> bool {
        matches!(self.kind, Kind::Undefined { .. })
    }

    /// AWS's cause after the state sentence, e.g. `The JSONata expression '$x' specified for the field
    /// 'Output/result' returned nothing (undefined).`
    pub fn cause(&self) -> String {
        let field = &self.location;
        match &self.kind {
            Kind::Undefined { expression } => format!(
                "The JSONata expression '{expression}' specified for the field '{field}' returned nothing (undefined)."
            ),
            Kind::Threw {
                expression,
                code: Some(code),
                message,
            } => format!(
                "The JSONata expression '{expression}' specified for the field '{field}' threw an error during evaluation. {code}: {message}"
            ),
            Kind::Threw {
                expression,
                code: None,
                message,
            } => format!(
                "The JSONata expression '{expression}' specified for the field '{field}' threw an error during evaluation: {message}"
            ),
            Kind::UnexpectedType {
                expression,
                expected,
                actual,
                value,
            } => format!(
                "The JSONata expression '{expression}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{actual}' for value: {value}"
            ),
            Kind::UnsupportedResult { expression } => format!(
                "The JSONata expression '{expression}' specified for the field '{field}' returned an unsupported result type."
            ),
            Kind::Internal { expression, id } => format!(
                "The JSONata expression '{expression}' specified for the field '{field}' threw an internal error during evaluation. {id}"
            ),
            Kind::Other { cause } => cause.clone(),
        }
    }

    /// The whole cause as AWS records it in `EvaluationFailed` and the failure event.
    pub fn cause_in_state(&self, state: &str, entered_event_id: i64) -> String {
        format!(
            "An error occurred while executing the state '{state}' (entered at the event id #{entered_event_id}). {}",
            self.cause()
        )
    }
}

impl std::fmt::Display for QueryEvaluationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.cause())
    }
}

impl std::error::Error for QueryEvaluationError {}

/// JSON type names as AWS writes them in "but was '<type>'".
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
