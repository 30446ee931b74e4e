//! Intrinsic functions (`States.Format(...)` and the other 17), parsed once and evaluated per state run.
//!
//! Run-time failures use the error name `States.Runtime`, not the spec's `States.IntrinsicFailure`: AWS is reported
//! to fail executions with `States.Runtime` and a cause naming the function. The error name is not confirmed; it is
//! decided here and pinned by `failures_are_states_runtime_and_name_the_function`.

mod functions;
mod parser;

#[cfg(test)]
mod tests;

use super::path::{JsonPath, Roots};
use super::Failure;
use base64::Engine as _;
use functions::*;
use md5::Digest as _;
use parser::Parser;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use thiserror::Error;

/// AWS documents at most 10 nested intrinsic calls in one field.
const MAX_CALL_DEPTH: usize = 10;
/// Input limit of the Base64 and Hash functions, in characters.
const MAX_ENCODING_INPUT_CHARS: usize = 10_000;
/// Output limit of `States.ArrayRange`.
const MAX_RANGE_ITEMS: usize = 1_000;

/// The text is not a well-formed intrinsic function call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct IntrinsicSyntaxError(pub String);

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct IntrinsicCall {
    function: Function,
    args: Vec<Argument>,
}

#[derive(Debug, Clone, PartialEq)]
enum Argument {
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    /// A quoted string: `value` has escapes resolved; `raw` keeps them so `States.Format` can tell `\{` from `{`.
    Text {
        value: String,
        raw: String,
    },
    Path(JsonPath),
    Call(IntrinsicCall),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

const FUNCTIONS: [(&str, Function); 18] = [
    ("States.Format", Function::Format),
    ("States.StringToJson", Function::StringToJson),
    ("States.JsonToString", Function::JsonToString),
    ("States.Array", Function::Array),
    ("States.ArrayPartition", Function::ArrayPartition),
    ("States.ArrayContains", Function::ArrayContains),
    ("States.ArrayRange", Function::ArrayRange),
    ("States.ArrayGetItem", Function::ArrayGetItem),
    ("States.ArrayLength", Function::ArrayLength),
    ("States.ArrayUnique", Function::ArrayUnique),
    ("States.Base64Encode", Function::Base64Encode),
    ("States.Base64Decode", Function::Base64Decode),
    ("States.Hash", Function::Hash),
    ("States.JsonMerge", Function::JsonMerge),
    ("States.MathRandom", Function::MathRandom),
    ("States.MathAdd", Function::MathAdd),
    ("States.StringSplit", Function::StringSplit),
    ("States.UUID", Function::Uuid),
];

impl Function {
    fn name(self) -> &'static str {
        FUNCTIONS
            .iter()
            .find(|(_, function)| *function == self)
            .map(|(name, _)| *name)
            .unwrap_or("States.?")
    }

    /// Allowed argument counts (inclusive).
    fn arity(self) -> (usize, usize) {
        match self {
            Function::Format => (1, usize::MAX),
            Function::Array => (0, usize::MAX),
            Function::Uuid => (0, 0),
            Function::StringToJson
            | Function::JsonToString
            | Function::ArrayLength
            | Function::ArrayUnique
            | Function::Base64Encode
            | Function::Base64Decode => (1, 1),
            Function::ArrayPartition
            | Function::ArrayContains
            | Function::ArrayGetItem
            | Function::Hash
            | Function::MathAdd
            | Function::StringSplit => (2, 2),
            Function::MathRandom => (2, 3),
            Function::ArrayRange | Function::JsonMerge => (3, 3),
        }
    }
}

impl IntrinsicCall {
    /// Whether a `.$` value should be treated as an intrinsic call rather than a path.
    pub fn looks_like_call(text: &str) -> bool {
        text.starts_with("States.")
    }

    pub fn parse(text: &str) -> Result<IntrinsicCall, IntrinsicSyntaxError> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            position: 0,
        };
        let call = parser.call(1).map_err(|message| {
            IntrinsicSyntaxError(format!(
                "Invalid intrinsic function call '{text}': {message}"
            ))
        })?;
        parser.skip_spaces();
        if parser.position < parser.chars.len() {
            return Err(IntrinsicSyntaxError(format!(
                "Invalid intrinsic function call '{text}': unexpected text after the closing ')' at position {}",
                parser.position + 1
            )));
        }
        Ok(call)
    }

    /// Evaluate against the state's data (`$` paths) and the Context Object (`$$` paths), with no variables.
    pub fn evaluate(
        &self,
        input: &Value,
        context: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, Failure> {
        self.evaluate_in(&Roots::without_variables(input, context), rng)
    }

    /// The workflow variables the call's path arguments read (nested calls included).
    pub fn variables(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for arg in &self.args {
            match arg {
                Argument::Path(path) => names.extend(path.variables()),
                Argument::Call(call) => names.extend(call.variables()),
                Argument::Literal(_) | Argument::Text { .. } => {}
            }
        }
        names
    }

    /// Evaluate against the state's data (`$`), the Context Object (`$$`) and the workflow variables (`$name`).
    pub fn evaluate_in(
        &self,
        roots: &Roots,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, Failure> {
        let name = self.function.name();
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            let value = match arg {
                Argument::Literal(value) => value.clone(),
                Argument::Text { value, .. } => Value::String(value.clone()),
                Argument::Path(path) => path.read_in(roots).map_err(|error| {
                    match roots.document(path) {
                        Some(document) => Failure::runtime(format!(
                            "The JSONPath '{}' given to {name} could not be found in the input '{}': {}",
                            path.as_str(),
                            compact(document),
                            error.message
                        )),
                        None => Failure::runtime(format!(
                            "The JSONPath '{}' given to {name} could not be read: {}",
                            path.as_str(),
                            error.message
                        )),
                    }
                })?,
                Argument::Call(call) => call.evaluate_in(roots, rng)?,
            };
            values.push(value);
        }
        let args = Args { name, values };
        match self.function {
            Function::Format => self.format(&args),
            Function::StringToJson => string_to_json(&args),
            Function::JsonToString => Ok(Value::String(compact(&args.values[0]))),
            Function::Array => Ok(Value::Array(args.values)),
            Function::ArrayPartition => array_partition(&args),
            Function::ArrayContains => {
                let items = args.array(0)?;
                Ok(Value::Bool(items.contains(&args.values[1])))
            }
            Function::ArrayRange => array_range(&args),
            Function::ArrayGetItem => array_get_item(&args),
            Function::ArrayLength => Ok(Value::from(args.array(0)?.len())),
            Function::ArrayUnique => array_unique(&args),
            Function::Base64Encode => {
                let text = args.limited_string(0)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
                ))
            }
            Function::Base64Decode => base64_decode(&args),
            Function::Hash => hash(&args),
            Function::JsonMerge => json_merge(&args),
            Function::MathRandom => math_random(&args, rng),
            Function::MathAdd => math_add(&args),
            Function::StringSplit => string_split(&args),
            Function::Uuid => {
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                Ok(Value::String(
                    uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .to_string(),
                ))
            }
        }
    }

    fn format(&self, args: &Args) -> Result<Value, Failure> {
        // A literal template keeps its escapes so `\{` stays a literal brace; a computed template has none.
        let pieces = match &self.args[0] {
            Argument::Text { raw, .. } => split_template(raw, true),
            _ => split_template(args.string(0)?, false),
        }
        .map_err(|problem| args.failure(problem))?;
        let placeholders = pieces.len() - 1;
        let supplied = args.values.len() - 1;
        if placeholders != supplied {
            return Err(args.failure(format!(
                "the template has {placeholders} placeholder(s) but {supplied} value(s) were given"
            )));
        }
        let mut text = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            text.push_str(piece);
            if let Some(value) = args.values.get(i + 1) {
                render_java_style(value, &mut text);
            }
        }
        Ok(Value::String(text))
    }
}
