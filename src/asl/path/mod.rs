//! JSONPath as AWS Step Functions evaluates it.
//!
//! AWS runs Java's Jayway JsonPath, so reads follow Jayway's rules: a *definite* path yields exactly one value or
//! fails with Jayway's message text; an *indefinite* path yields an array of every match (possibly empty).
//! A `$$` prefix applies the rest of the path to the Context Object; `$name` (a workflow variable's name right after
//! the `$`) applies it to that variable's value. [`Roots`] carries the three documents a path can read.
//!
//! This file holds the parsed form and its public API (parse, read, write); [`parser`] turns text into that
//! form and [`eval`] reads documents with it.

mod eval;
mod parser;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeSet;
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

    /// Reading `$name...` when no state has assigned `name`. AWS's wording for JSONPath is not recorded (its JSONata
    /// counterpart is `States.QueryEvaluationError`); callers raise it as `States.Runtime`, like a missing path.
    pub fn unassigned_variable(name: &str) -> PathError {
        PathError::new(format!("The variable '${name}' is not assigned"))
    }
}

/// The workflow variables a path, template or intrinsic may read.
pub trait VariableLookup {
    fn variable(&self, name: &str) -> Option<&Value>;
}

impl VariableLookup for Map<String, Value> {
    fn variable(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// No variable is assigned (callers that predate variables, and tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVariables;

impl VariableLookup for NoVariables {
    fn variable(&self, _name: &str) -> Option<&Value> {
        None
    }
}

/// What a path, template or intrinsic reads: the state's input, the Context object, and the workflow variables.
#[derive(Clone, Copy)]
pub struct Roots<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub variables: &'a dyn VariableLookup,
}

impl<'a> Roots<'a> {
    /// Input and Context object only: every variable reads as unassigned.
    pub fn without_variables(input: &'a Value, context: &'a Value) -> Roots<'a> {
        Roots {
            input,
            context,
            variables: &NoVariables,
        }
    }

    /// The same roots with another input (`$`), e.g. a state's result for `ResultSelector`.
    pub fn with_input(&self, input: &'a Value) -> Roots<'a> {
        Roots { input, ..*self }
    }

    /// The document `path` starts from; `None` when it names a variable that is not assigned.
    pub fn document(&self, path: &JsonPath) -> Option<&'a Value> {
        match &path.root {
            PathRoot::Input => Some(self.input),
            PathRoot::Context => Some(self.context),
            PathRoot::Variable(name) => self.variables.variable(name),
        }
    }
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathRoot {
    /// `$`: the state's input (or whatever the field applies paths to).
    Input,
    /// `$$`: the Context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// A parsed JSONPath (`$...`), Context Object path (`$$...`) or variable path (`$name...`).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    text: String,
    root: PathRoot,
    segments: Vec<Segment>,
    /// Jayway's compile error for a path AWS accepts in a definition but Jayway cannot compile (a filter comparing
    /// with a bare word, `[?(@.a==b)]`): every read fails with this message, as it does on AWS.
    uncompilable: Option<String>,
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
    /// A bare word (`Receipt` in `[?(@.Name==Receipt)]`). Jayway reads it as a number literal, finds no digits and
    /// fails to compile the filter; AWS still accepts the definition, so the path parses and fails when read.
    BareWord(String),
}

/// A variable name as a path may start with: a letter or `_`, then letters, digits or `_`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

impl JsonPath {
    /// Parse a Path. It must start with `$`; `$$` makes it a Context Object path and `$name` a variable path.
    pub fn parse(text: &str) -> Result<JsonPath, PathSyntaxError> {
        let (root, body) = if let Some(rest) = text.strip_prefix("$$") {
            (PathRoot::Context, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            let name_end = rest
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                .map_or(rest.len(), |(i, _)| i);
            let name = &rest[..name_end];
            if name.is_empty() {
                (PathRoot::Input, rest)
            } else if is_variable_name(name) {
                (PathRoot::Variable(name.to_string()), &rest[name_end..])
            } else {
                return Err(PathSyntaxError(format!(
                    "Invalid path '{text}': '{name}' is not a variable name"
                )));
            }
        } else {
            return Err(PathSyntaxError(format!(
                "Path '{text}' must start with '$'"
            )));
        };
        // A trailing Jayway function (`$.Jobs.sum()`): AWS accepts the definition, then every read fails.
        let (body, function) = match split_trailing_function(body) {
            Some((rest, name)) => (rest, Some(name)),
            None => (body, None),
        };
        let segments = Parser::new(body)
            .segments_to_end()
            .map_err(|message| PathSyntaxError(format!("Invalid path '{text}': {message}")))?;
        let uncompilable = match function {
            Some(name) => Some(format!(
                "Functions such as {name}() are not supported in paths"
            )),
            None => first_bare_word_filter(&segments, text),
        };
        Ok(JsonPath {
            text: text.to_string(),
            root,
            segments,
            uncompilable,
        })
    }

    /// The variable this path reads, for `$name...` paths.
    pub fn variable(&self) -> Option<&str> {
        match &self.root {
            PathRoot::Variable(name) => Some(name),
            _ => None,
        }
    }

    /// The variables this path reads (at most one: its root).
    pub fn variables(&self) -> BTreeSet<String> {
        self.variable().map(str::to_string).into_iter().collect()
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
        self.root == PathRoot::Context
    }

    /// Only single names and single non-negative indices.
    pub fn is_reference(&self) -> bool {
        self.uncompilable.is_none()
            && self.segments.iter().all(|segment| match segment {
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

    /// Read this path with no variables assigned. `$$` paths read `context`, others read `input`.
    pub fn read(&self, input: &Value, context: &Value) -> Result<Value, PathError> {
        self.read_in(&Roots::without_variables(input, context))
    }

    /// Read this path: `$$` paths read the Context object, `$name` paths the variable, others the input.
    /// An unassigned variable fails with [`PathError::unassigned_variable`]'s message.
    pub fn read_in(&self, roots: &Roots) -> Result<Value, PathError> {
        if let Some(message) = &self.uncompilable {
            return Err(PathError::new(message.clone()));
        }
        let Some(root) = roots.document(self) else {
            return Err(PathError::unassigned_variable(
                self.variable().unwrap_or_default(),
            ));
        };
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
        match self.root {
            PathRoot::Input => {}
            PathRoot::Context => {
                return Err(PathError::new(format!(
                    "Cannot write to the Context Object path '{}'",
                    self.text
                )))
            }
            PathRoot::Variable(_) => {
                return Err(PathError::new(format!(
                    "Cannot write to the variable path '{}'",
                    self.text
                )))
            }
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

/// `(path before it, function name)` when `body` ends with a function step `.name(...)`.
fn split_trailing_function(body: &str) -> Option<(&str, &str)> {
    let close = body.len().checked_sub(1)?;
    if !body.ends_with(')') {
        return None;
    }
    // The `(` matching the final `)`.
    let mut depth = 0usize;
    let mut open = None;
    for (i, c) in body[..=close].char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    open = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let open = open?;
    let before = &body[..open];
    let name_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map(|(i, _)| i)?;
    let name = &before[name_start..];
    let rest = before[..name_start].strip_suffix('.')?;
    // `$.a..sum()` has no step before the function that Jayway would apply it to.
    if rest.ends_with('.') {
        return None;
    }
    Some((rest, name))
}

/// Jayway's compile error for the first filter that compares with a bare word, if any.
fn first_bare_word_filter(segments: &[Segment], text: &str) -> Option<String> {
    fn filter_has_bare_word(filter: &Filter) -> bool {
        match filter {
            Filter::Or(a, b) | Filter::And(a, b) => {
                filter_has_bare_word(a) || filter_has_bare_word(b)
            }
            Filter::Not(inner) => filter_has_bare_word(inner),
            Filter::Exists(operand) => operand_has_bare_word(operand),
            Filter::Compare(left, _, right) => {
                operand_has_bare_word(left) || operand_has_bare_word(right)
            }
        }
    }
    fn operand_has_bare_word(operand: &Operand) -> bool {
        match operand {
            Operand::BareWord(_) => true,
            Operand::Current(segments) | Operand::Root(segments) => {
                segments.iter().any(segment_has_bare_word)
            }
            Operand::Literal(_) => false,
        }
    }
    fn segment_has_bare_word(segment: &Segment) -> bool {
        match segment {
            Segment::Filter(filter) => filter_has_bare_word(filter),
            Segment::Scan(inner) => segment_has_bare_word(inner),
            _ => false,
        }
    }
    if !segments.iter().any(segment_has_bare_word) {
        return None;
    }
    // Jayway's FilterCompiler text: the filter token as written, the position of the word and its first character.
    let located = text.find("[?").and_then(|start| {
        let filter_text = filter_token(&text[start..]);
        let (position, word_start) = bare_word_position(filter_text)?;
        Some(format!(
            "Failed to parse filter: {filter_text}, error on position: {position}, char: {word_start}"
        ))
    });
    // A spelling this scan does not follow (`[ ?(`) still fails, with the whole path named.
    Some(located.unwrap_or_else(|| format!("Failed to parse filter in path: {text}")))
}

/// The `[?(...)]` token at the start of `text` (up to its matching `]`, quotes respected).
fn filter_token(text: &str) -> &str {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '[' => depth += 1,
                ']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return &text[..=i];
                    }
                }
                _ => {}
            },
        }
    }
    text
}

/// Where, in a filter token, the first bare word starts (character offset and the character).
fn bare_word_position(filter: &str) -> Option<(usize, char)> {
    let chars: Vec<char> = filter.chars().collect();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == '@' || c == '$' {
            // Skip the path operand up to an operator, a blank or a closing parenthesis.
            i += 1;
            while i < chars.len()
                && !matches!(
                    chars[i],
                    '=' | '!' | '<' | '>' | '~' | ' ' | ')' | '&' | '|'
                )
            {
                i += 1;
            }
            continue;
        } else if c.is_alphabetic() || c == '_' {
            let word: String = chars[i..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || **c == '_')
                .collect();
            if !matches!(word.as_str(), "true" | "false" | "null") {
                return Some((i, c));
            }
            i += word.chars().count();
            continue;
        }
        i += 1;
    }
    None
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
