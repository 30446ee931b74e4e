//! JSONPath as AWS Step Functions evaluates it.
//!
//! AWS runs Java's Jayway JsonPath, so reads follow Jayway's rules: a *definite* path yields exactly one value or
//! fails with Jayway's message text; an *indefinite* path yields an array of every match (possibly empty).
//! A `$$` prefix applies the rest of the path to the Context Object.
//!
//! This file holds the parsed form and its public API (parse, read, write); [`parser`] turns text into that
//! form and [`eval`] reads documents with it.

mod eval;
mod parser;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt::Write as _;
use thiserror::Error;

use eval::Walker;
use parser::Parser;

/// Deepest nesting of filter expressions accepted; keeps hostile input from exhausting the stack.
const MAX_FILTER_DEPTH: usize = 64;

/// The text is not a JSONPath this engine accepts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct PathSyntaxError(pub String);

/// A path could not be read from, or written into, a document. `message` uses Jayway's wording.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct PathError {
    pub message: String,
}

impl PathError {
    fn new(message: impl Into<String>) -> PathError {
        PathError {
            message: message.into(),
        }
    }
}

/// A parsed JSONPath (`$...`) or Context Object path (`$$...`).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    text: String,
    is_context: bool,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    /// `.name`, `['name']`, or `['a','b']` (several names).
    Names(Vec<String>),
    /// `[3]` or `[-1]`.
    Index(i64),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `[1:3]`, `[:2]`, `[-2:]`.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
    },
    /// `.*` or `[*]`.
    Wildcard,
    /// `[?(...)]`.
    Filter(Filter),
    /// `..` followed by the selector it applies to every descendant.
    Scan(Box<Segment>),
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// A bare operand: true when the path exists (Jayway's existence check) or the literal is truthy.
    Exists(Operand),
    Compare(Operand, Comparison, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `@...` relative to the item being filtered.
    Current(Vec<Segment>),
    /// `$...` relative to the document root.
    Root(Vec<Segment>),
    Literal(Value),
}

impl JsonPath {
    /// Parse a Path. It must start with `$`; `$$` makes it a Context Object path.
    pub fn parse(text: &str) -> Result<JsonPath, PathSyntaxError> {
        let (is_context, body) = if let Some(rest) = text.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(PathSyntaxError(format!(
                "Path '{text}' must start with '$'"
            )));
        };
        let segments = Parser::new(body)
            .segments_to_end()
            .map_err(|message| PathSyntaxError(format!("Invalid path '{text}': {message}")))?;
        Ok(JsonPath {
            text: text.to_string(),
            is_context,
            segments,
        })
    }

    /// Parse a Reference Path: a Path that can only select a single node.
    pub fn parse_reference(text: &str) -> Result<JsonPath, PathSyntaxError> {
        let path = JsonPath::parse(text)?;
        if path.is_reference() {
            Ok(path)
        } else {
            Err(PathSyntaxError(format!(
                "'{text}' is not a reference path: only names and non-negative array indices are allowed"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_context(&self) -> bool {
        self.is_context
    }

    /// Only single names and single non-negative indices.
    pub fn is_reference(&self) -> bool {
        self.segments.iter().all(|segment| match segment {
            Segment::Names(names) => names.len() == 1,
            Segment::Index(index) => *index >= 0,
            _ => false,
        })
    }

    /// Jayway's notion of "definite": the path can select at most one node.
    pub fn is_definite(&self) -> bool {
        let last = self.segments.len().saturating_sub(1);
        self.segments
            .iter()
            .enumerate()
            .all(|(position, segment)| match segment {
                Segment::Index(_) => true,
                // Several names on the last step merge into one object, which Jayway counts as definite.
                Segment::Names(names) => names.len() == 1 || position == last,
                _ => false,
            })
    }

    /// Read this path. `$$` paths read `context`, others read `input`.
    pub fn read(&self, input: &Value, context: &Value) -> Result<Value, PathError> {
        let root = if self.is_context { context } else { input };
        let mut results = Vec::new();
        let mut walker = Walker {
            root,
            results: &mut results,
        };
        walker.walk(&self.segments, root, "$".to_string(), true)?;
        if self.is_definite() {
            results.pop().ok_or_else(|| {
                PathError::new(format!("No results for path: {}", self.normalized()))
            })
        } else {
            Ok(Value::Array(results))
        }
    }

    /// Place `value` at this reference path inside `target` (ResultPath semantics).
    pub fn write(&self, target: Value, value: Value) -> Result<Value, PathError> {
        if self.is_context {
            return Err(PathError::new(format!(
                "Cannot write to the Context Object path '{}'",
                self.text
            )));
        }
        if !self.is_reference() {
            return Err(PathError::new(format!(
                "'{}' is not a reference path",
                self.text
            )));
        }
        let mut target = target;
        let mut slot = &mut target;
        let mut location = "$".to_string();
        for segment in &self.segments {
            slot = match segment {
                Segment::Names(names) => {
                    let name = &names[0];
                    let fragment = name_fragment(name);
                    match slot {
                        Value::Object(object) => object
                            .entry(name.clone())
                            .or_insert_with(|| Value::Object(Map::new())),
                        other => {
                            return Err(PathError::new(format!(
                                "Unable to apply ResultPath '{}': cannot set property {fragment} because {location} is {}, not an object",
                                self.text,
                                describe(other)
                            )))
                        }
                    }
                }
                Segment::Index(index) => {
                    let fragment = format!("[{index}]");
                    match slot {
                        Value::Array(items) => {
                            let length = items.len();
                            match usize::try_from(*index).ok().and_then(|i| items.get_mut(i)) {
                                Some(item) => item,
                                None => {
                                    return Err(PathError::new(format!(
                                        "Unable to apply ResultPath '{}': index {fragment} is out of bounds for {location} (length {length})",
                                        self.text
                                    )))
                                }
                            }
                        }
                        other => {
                            return Err(PathError::new(format!(
                                "Unable to apply ResultPath '{}': cannot set element {fragment} because {location} is {}, not an array",
                                self.text,
                                describe(other)
                            )))
                        }
                    }
                }
                _ => {
                    return Err(PathError::new(format!(
                        "'{}' is not a reference path",
                        self.text
                    )))
                }
            };
            push_fragment(&mut location, segment);
        }
        *slot = value;
        Ok(target)
    }

    /// Jayway's normalized form, e.g. `$['a'][0]`, used in its error texts.
    fn normalized(&self) -> String {
        let mut text = "$".to_string();
        for segment in &self.segments {
            push_fragment(&mut text, segment);
        }
        text
    }
}

fn name_fragment(name: &str) -> String {
    format!("['{name}']")
}

fn push_fragment(text: &mut String, segment: &Segment) {
    match segment {
        Segment::Names(names) => {
            let quoted: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
            let _ = write!(text, "[{}]", quoted.join(","));
        }
        Segment::Index(index) => {
            let _ = write!(text, "[{index}]");
        }
        Segment::Indexes(indexes) => {
            let listed: Vec<String> = indexes.iter().map(i64::to_string).collect();
            let _ = write!(text, "[{}]", listed.join(","));
        }
        Segment::Slice { start, end } => {
            let bound = |b: &Option<i64>| b.map(|v| v.to_string()).unwrap_or_default();
            let _ = write!(text, "[{}:{}]", bound(start), bound(end));
        }
        Segment::Wildcard => text.push_str("[*]"),
        Segment::Filter(_) => text.push_str("[?]"),
        Segment::Scan(inner) => {
            text.push_str("..");
            push_fragment(text, inner);
        }
    }
}

/// JSON type name used in our own error texts.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The Java class Jayway names in "Expected to find an object" errors (its Jackson provider's types).
fn java_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "java.lang.Integer",
        Value::Number(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}
