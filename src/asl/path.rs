//! JSONPath as AWS Step Functions evaluates it.
//!
//! AWS runs Java's Jayway JsonPath, so reads follow Jayway's rules: a *definite* path yields exactly one value or
//! fails with Jayway's message text; an *indefinite* path yields an array of every match (possibly empty).
//! A `$$` prefix applies the rest of the path to the Context Object.

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt::Write as _;
use thiserror::Error;

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

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

struct Walker<'a, 'r> {
    root: &'a Value,
    results: &'r mut Vec<Value>,
}

impl Walker<'_, '_> {
    /// Apply `segments` to `node`, following Jayway: errors are raised only while every step so far was definite.
    fn walk(
        &mut self,
        segments: &[Segment],
        node: &Value,
        location: String,
        upstream_definite: bool,
    ) -> Result<(), PathError> {
        let Some((segment, rest)) = segments.split_first() else {
            self.results.push(node.clone());
            return Ok(());
        };
        let is_leaf = rest.is_empty();
        match segment {
            Segment::Names(names) if names.len() > 1 && is_leaf => {
                // Jayway merges several properties on the last step into one object.
                let Value::Object(object) = node else {
                    return self.not_an_object(segment, node, &location, upstream_definite);
                };
                let merged: Map<String, Value> = names
                    .iter()
                    .filter_map(|name| object.get(name).map(|v| (name.clone(), v.clone())))
                    .collect();
                self.results.push(Value::Object(merged));
                Ok(())
            }
            Segment::Names(names) => {
                let Value::Object(object) = node else {
                    return self.not_an_object(segment, node, &location, upstream_definite);
                };
                let token_definite = names.len() == 1;
                for name in names {
                    let child_location = format!("{location}{}", name_fragment(name));
                    match object.get(name) {
                        Some(child) => self.walk(
                            rest,
                            child,
                            child_location,
                            upstream_definite && token_definite,
                        )?,
                        None if !is_leaf && upstream_definite && token_definite => {
                            return Err(PathError::new(format!(
                                "Missing property in path {child_location}"
                            )));
                        }
                        None => {}
                    }
                }
                Ok(())
            }
            Segment::Index(index) => {
                let Some(items) =
                    self.require_array(segment, node, &location, upstream_definite)?
                else {
                    return Ok(());
                };
                if let Some(item) = resolve_index(*index, items.len()).map(|i| &items[i]) {
                    self.walk(
                        rest,
                        item,
                        format!("{location}[{index}]"),
                        upstream_definite,
                    )?;
                }
                Ok(())
            }
            Segment::Indexes(indexes) => {
                let Some(items) =
                    self.require_array(segment, node, &location, upstream_definite)?
                else {
                    return Ok(());
                };
                for index in indexes {
                    if let Some(item) = resolve_index(*index, items.len()).map(|i| &items[i]) {
                        self.walk(rest, item, format!("{location}[{index}]"), false)?;
                    }
                }
                Ok(())
            }
            Segment::Slice { start, end } => {
                let Some(items) =
                    self.require_array(segment, node, &location, upstream_definite)?
                else {
                    return Ok(());
                };
                let (from, to) = slice_bounds(*start, *end, items.len());
                for (i, item) in items.iter().enumerate().take(to).skip(from) {
                    self.walk(rest, item, format!("{location}[{i}]"), false)?;
                }
                Ok(())
            }
            Segment::Wildcard => {
                match node {
                    Value::Object(object) => {
                        for (name, child) in object {
                            self.walk(rest, child, format!("{location}['{name}']"), false)?;
                        }
                    }
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            self.walk(rest, item, format!("{location}[{i}]"), false)?;
                        }
                    }
                    _ => {}
                }
                Ok(())
            }
            Segment::Filter(filter) => {
                match node {
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            if filter_matches(filter, item, self.root) {
                                self.walk(rest, item, format!("{location}[{i}]"), false)?;
                            }
                        }
                    }
                    Value::Object(_) if filter_matches(filter, node, self.root) => {
                        self.walk(rest, node, location, false)?;
                    }
                    _ => {}
                }
                Ok(())
            }
            Segment::Scan(selector) => {
                let mut selected = Vec::new();
                scan(selector, node, &location, self.root, &mut selected);
                for (child_location, child) in selected {
                    self.walk(rest, &child, child_location, false)?;
                }
                Ok(())
            }
        }
    }

    fn not_an_object(
        &mut self,
        segment: &Segment,
        node: &Value,
        location: &str,
        upstream_definite: bool,
    ) -> Result<(), PathError> {
        if !upstream_definite {
            return Ok(());
        }
        let mut fragment = String::new();
        push_fragment(&mut fragment, segment);
        // Jayway names the JVM class of the node and of its JSON provider; the provider AWS configures is [?].
        Err(PathError::new(format!(
            "Expected to find an object with property {fragment} in path {location} but found '{}'. \
             This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
            java_class(node)
        )))
    }

    fn require_array<'v>(
        &mut self,
        segment: &Segment,
        node: &'v Value,
        location: &str,
        upstream_definite: bool,
    ) -> Result<Option<&'v Vec<Value>>, PathError> {
        match node {
            Value::Array(items) => Ok(Some(items)),
            _ if !upstream_definite => Ok(None),
            Value::Null => Err(PathError::new(format!("The path {location} is null"))),
            other => {
                let mut fragment = String::new();
                push_fragment(&mut fragment, segment);
                Err(PathError::new(format!(
                    "Filter: {fragment} can only be applied to arrays. Current context is: {other}"
                )))
            }
        }
    }
}

fn resolve_index(index: i64, length: usize) -> Option<usize> {
    let length = i64::try_from(length).ok()?;
    let effective = if index < 0 { length + index } else { index };
    if (0..length).contains(&effective) {
        usize::try_from(effective).ok()
    } else {
        None
    }
}

fn slice_bounds(start: Option<i64>, end: Option<i64>, length: usize) -> (usize, usize) {
    let length_i = i64::try_from(length).unwrap_or(i64::MAX);
    let clamp = |bound: i64| -> usize {
        let effective = if bound < 0 { length_i + bound } else { bound };
        usize::try_from(effective.clamp(0, length_i)).unwrap_or(0)
    };
    let from = start.map(clamp).unwrap_or(0);
    let to = end.map(clamp).unwrap_or(length);
    (from, to.max(from))
}

/// Jayway's deep scan: visit `node` and every descendant in document order, applying `selector` to each node it fits.
fn scan(
    selector: &Segment,
    node: &Value,
    location: &str,
    root: &Value,
    out: &mut Vec<(String, Value)>,
) {
    match (selector, node) {
        (Segment::Names(names), Value::Object(object)) => {
            if names.len() > 1 {
                let merged: Map<String, Value> = names
                    .iter()
                    .filter_map(|name| object.get(name).map(|v| (name.clone(), v.clone())))
                    .collect();
                if !merged.is_empty() {
                    out.push((location.to_string(), Value::Object(merged)));
                }
            } else if let Some(child) = object.get(&names[0]) {
                out.push((
                    format!("{location}{}", name_fragment(&names[0])),
                    child.clone(),
                ));
            }
        }
        (Segment::Wildcard, Value::Object(object)) => {
            for (name, child) in object {
                out.push((format!("{location}['{name}']"), child.clone()));
            }
        }
        (Segment::Wildcard, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                out.push((format!("{location}[{i}]"), item.clone()));
            }
        }
        (Segment::Index(index), Value::Array(items)) => {
            if let Some(i) = resolve_index(*index, items.len()) {
                out.push((format!("{location}[{i}]"), items[i].clone()));
            }
        }
        (Segment::Indexes(indexes), Value::Array(items)) => {
            for index in indexes {
                if let Some(i) = resolve_index(*index, items.len()) {
                    out.push((format!("{location}[{i}]"), items[i].clone()));
                }
            }
        }
        (Segment::Slice { start, end }, Value::Array(items)) => {
            let (from, to) = slice_bounds(*start, *end, items.len());
            for (i, item) in items.iter().enumerate().take(to).skip(from) {
                out.push((format!("{location}[{i}]"), item.clone()));
            }
        }
        (Segment::Filter(filter), Value::Object(_)) if filter_matches(filter, node, root) => {
            out.push((location.to_string(), node.clone()));
        }
        _ => {}
    }
    match node {
        Value::Object(object) => {
            for (name, child) in object {
                scan(selector, child, &format!("{location}['{name}']"), root, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                scan(selector, item, &format!("{location}[{i}]"), root, out);
            }
        }
        _ => {}
    }
}

/// Evaluate a relative path inside a filter; `None` when it selects nothing (Jayway's "undefined").
fn resolve_operand(operand: &Operand, current: &Value, root: &Value) -> Option<Value> {
    let (segments, start) = match operand {
        Operand::Literal(value) => return Some(value.clone()),
        Operand::Current(segments) => (segments, current),
        Operand::Root(segments) => (segments, root),
    };
    let mut results = Vec::new();
    let mut walker = Walker {
        root,
        results: &mut results,
    };
    let definite = segments.iter().all(|s| match s {
        Segment::Names(names) => names.len() == 1,
        Segment::Index(_) => true,
        _ => false,
    });
    walker.walk(segments, start, "@".to_string(), true).ok()?;
    if definite {
        results.pop()
    } else {
        Some(Value::Array(results))
    }
}

fn filter_matches(filter: &Filter, current: &Value, root: &Value) -> bool {
    match filter {
        Filter::Or(left, right) => {
            filter_matches(left, current, root) || filter_matches(right, current, root)
        }
        Filter::And(left, right) => {
            filter_matches(left, current, root) && filter_matches(right, current, root)
        }
        Filter::Not(inner) => !filter_matches(inner, current, root),
        Filter::Exists(operand) => match operand {
            Operand::Literal(value) => !matches!(value, Value::Null | Value::Bool(false)),
            Operand::Current(_) | Operand::Root(_) => match resolve_operand(operand, current, root)
            {
                None => false,
                // An indefinite path "exists" when it found something.
                Some(Value::Array(items)) if !is_definite_operand(operand) => !items.is_empty(),
                Some(_) => true,
            },
        },
        Filter::Compare(left, comparison, right) => {
            let left = resolve_operand(left, current, root);
            let right = resolve_operand(right, current, root);
            compare(left.as_ref(), *comparison, right.as_ref())
        }
    }
}

fn is_definite_operand(operand: &Operand) -> bool {
    match operand {
        Operand::Literal(_) => true,
        Operand::Current(segments) | Operand::Root(segments) => segments.iter().all(|s| match s {
            Segment::Names(names) => names.len() == 1,
            Segment::Index(_) => true,
            _ => false,
        }),
    }
}

fn compare(left: Option<&Value>, comparison: Comparison, right: Option<&Value>) -> bool {
    match comparison {
        Comparison::Eq => values_equal(left, right),
        // Jayway defines != as the negation of ==, so a missing field is "not equal" to anything.
        Comparison::Ne => !values_equal(left, right),
        Comparison::Lt | Comparison::Le | Comparison::Gt | Comparison::Ge => {
            let Some(ordering) = order(left, right) else {
                return false;
            };
            match comparison {
                Comparison::Lt => ordering == Ordering::Less,
                Comparison::Le => ordering != Ordering::Greater,
                Comparison::Gt => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            }
        }
    }
}

fn values_equal(left: Option<&Value>, right: Option<&Value>) -> bool {
    match (left, right) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn order(left: Option<&Value>, right: Option<&Value>) -> Option<Ordering> {
    match (left?, right?) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

struct Parser {
    chars: Vec<char>,
    position: usize,
    /// Current nesting of filters and filter paths, bounded by `MAX_FILTER_DEPTH`.
    depth: usize,
}

type ParseResult<T> = Result<T, String>;

impl Parser {
    fn new(body: &str) -> Parser {
        Parser {
            chars: body.chars().collect(),
            position: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.position + offset).copied()
    }

    fn at_end(&self) -> bool {
        self.position >= self.chars.len()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn expect(&mut self, wanted: char) -> ParseResult<()> {
        if self.peek() == Some(wanted) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("expected '{wanted}'")))
        }
    }

    fn unexpected(&self, what: &str) -> String {
        match self.peek() {
            Some(c) => format!("{what} at position {}, found '{c}'", self.position + 1),
            None => format!(
                "{what} at position {}, found end of path",
                self.position + 1
            ),
        }
    }

    fn segments_to_end(mut self) -> ParseResult<Vec<Segment>> {
        let segments = self.segments(|_| false)?;
        if self.at_end() {
            Ok(segments)
        } else {
            Err(self.unexpected("unexpected character"))
        }
    }

    /// Parse segments until the end or until `stop` accepts the next character (used inside filters).
    fn segments(&mut self, stop: impl Fn(char) -> bool) -> ParseResult<Vec<Segment>> {
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
    fn dot_name(&mut self) -> ParseResult<String> {
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

    fn bracket(&mut self) -> ParseResult<Segment> {
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

    fn quoted(&mut self) -> ParseResult<String> {
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

    fn integer(&mut self) -> ParseResult<i64> {
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

    fn index_or_slice(&mut self) -> ParseResult<Segment> {
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

    fn nested(&mut self) -> ParseResult<()> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            Err("filter expression nested too deeply".to_string())
        } else {
            Ok(())
        }
    }

    fn filter_or(&mut self) -> ParseResult<Filter> {
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

    fn filter_and(&mut self) -> ParseResult<Filter> {
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

    fn filter_unary(&mut self) -> ParseResult<Filter> {
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

    fn operand(&mut self) -> ParseResult<Operand> {
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
                Err(self.unexpected("expected '@', '$', a string, a number, true, false or null"))
            }
        }
    }

    fn filter_path(&mut self, stop: impl Fn(char) -> bool) -> ParseResult<Vec<Segment>> {
        self.nested()?;
        let segments = self.segments(stop)?;
        self.depth -= 1;
        Ok(segments)
    }
}

fn is_name_start(c: char) -> bool {
    is_name_char(c) || c == '\\'
}

/// Characters allowed in a dot-notation name: anything but separators, brackets, quotes, whitespace and
/// filter punctuation (those need bracket notation).
fn is_name_char(c: char) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn store() -> Value {
        json!({
            "store": {
                "book": [
                    {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                    {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
                    {"category": "fiction", "author": "J. R. R. Tolkien", "title": "Rings", "isbn": "0-395", "price": 22.99}
                ],
                "bicycle": {"color": "red", "price": 19.95}
            },
            "a": {"b": 1, "b c": 2, "x.y": 3, "nums": [0, 1, 2, 3, 4], "nil": null},
            "store.book": "escaped",
            "név": "unicode",
            "with-dash": 5,
            "$dollar": 6,
            "9lives": 7
        })
    }

    #[test]
    fn reads_match_jayway() {
        let input = store();
        let context = json!({"Execution": {"Name": "exec-1"}, "State": {"Name": "S"}});
        let cases: Vec<(&str, Value)> = vec![
            ("$", input.clone()),
            ("$.a.b", json!(1)),
            ("$['a']['b c']", json!(2)),
            ("$[\"a\"][\"b\"]", json!(1)),
            ("$['a']['x.y']", json!(3)),
            ("$.a.nums[0]", json!(0)),
            ("$.a.nums[-1]", json!(4)),
            ("$.a.nums[ 1 ]", json!(1)),
            ("$.a.nums[*]", json!([0, 1, 2, 3, 4])),
            ("$.a.nums[0,2]", json!([0, 2])),
            ("$.a.nums[1:3]", json!([1, 2])),
            ("$.a.nums[:2]", json!([0, 1])),
            ("$.a.nums[-2:]", json!([3, 4])),
            ("$.a.nums[3:1]", json!([])),
            ("$.a.nums[7]", json!(null)),
            ("$.a.nil", json!(null)),
            (
                "$['a','with-dash']",
                json!({"a": input["a"].clone(), "with-dash": 5}),
            ),
            (
                "$.*",
                Value::Array(input.as_object().unwrap().values().cloned().collect()),
            ),
            ("$.store.bicycle.*", json!(["red", 19.95])),
            (
                "$.store.book[*].author",
                json!([
                    "Nigel Rees",
                    "Evelyn Waugh",
                    "Herman Melville",
                    "J. R. R. Tolkien"
                ]),
            ),
            ("$..price", json!([8.95, 12.99, 8.99, 22.99, 19.95])),
            ("$.store..color", json!(["red"])),
            ("$..book[2].title", json!(["Moby Dick"])),
            (
                "$.store.book[?(@.price > 10)].title",
                json!(["Sword", "Rings"]),
            ),
            (
                "$.store.book[?(@.price >= 8.99)].title",
                json!(["Sword", "Moby Dick", "Rings"]),
            ),
            (
                "$.store.book[?(@.price <= 8.99)].title",
                json!(["Sayings", "Moby Dick"]),
            ),
            (
                "$.store.book[?(@.price < 9 && @.category == 'fiction')].title",
                json!(["Moby Dick"]),
            ),
            (
                "$.store.book[?(@.category == \"reference\" || @.price > 20)].title",
                json!(["Sayings", "Rings"]),
            ),
            (
                "$.store.book[?(@.category != 'fiction')].title",
                json!(["Sayings"]),
            ),
            (
                "$.store.book[?(@.isbn)].title",
                json!(["Moby Dick", "Rings"]),
            ),
            (
                "$.store.book[?(!@.isbn)].title",
                json!(["Sayings", "Sword"]),
            ),
            (
                "$.store.book[?(@.price < $.store.bicycle.price)].price",
                json!([8.95, 12.99, 8.99]),
            ),
            ("$..book[?(@.author == 'Nigel Rees')].price", json!([8.95])),
            ("$.store\\.book", json!("escaped")),
            ("$.név", json!("unicode")),
            ("$.with-dash", json!(5)),
            ("$.$dollar", json!(6)),
            ("$.9lives", json!(7)),
            ("$..nothing", json!([])),
            ("$$", context.clone()),
            ("$$.Execution.Name", json!("exec-1")),
            ("$$.State", json!({"Name": "S"})),
        ];
        for (text, expected) in cases {
            let path = JsonPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let got = path.read(&input, &context);
            if text == "$.a.nums[7]" {
                assert_eq!(
                    got,
                    Err(PathError::new("No results for path: $['a']['nums'][7]")),
                    "{text}"
                );
                continue;
            }
            assert_eq!(got, Ok(expected), "{text}");
        }
    }

    #[test]
    fn read_errors_use_jayway_wording() {
        let input = json!({"a": {"b": 1, "list": [1]}, "n": null, "s": "text"});
        let cases = [
            ("$.x", "No results for path: $['x']"),
            ("$.a.x", "No results for path: $['a']['x']"),
            ("$.no.b", "Missing property in path $['no']"),
            ("$.a.no.c", "Missing property in path $['a']['no']"),
            ("$.a.list[3]", "No results for path: $['a']['list'][3]"),
            (
                "$.a.b.c",
                "Expected to find an object with property ['c'] in path $['a']['b'] but found 'java.lang.Integer'. \
                 This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
            ),
            ("$.n[0]", "The path $['n'] is null"),
            // Jayway raises this before reaching the indefinite part of the path.
            ("$.missing[*]", "Missing property in path $['missing']"),
            ("$$.Execution", "No results for path: $['Execution']"),
        ];
        for (text, message) in cases {
            let path = JsonPath::parse(text).unwrap();
            assert_eq!(
                path.read(&input, &json!({})),
                Err(PathError::new(message)),
                "{text}"
            );
        }
    }

    #[test]
    fn indefinite_paths_never_fail_on_missing_data() {
        let input = json!({"a": [{"b": 1}, {"c": 2}, 3]});
        for (text, expected) in [
            ("$.a[*].b", json!([1])),
            ("$.a[*].b.c", json!([])),
            ("$.a[0,1].c", json!([2])),
            ("$..b", json!([1])),
        ] {
            assert_eq!(
                JsonPath::parse(text).unwrap().read(&input, &json!({})),
                Ok(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn classification() {
        // (text, reference, definite, context)
        let cases = [
            ("$", true, true, false),
            ("$$", true, true, true),
            ("$.a.b", true, true, false),
            ("$['a'][0]", true, true, false),
            ("$$.Map.Item.Value", true, true, true),
            ("$.a[-1]", false, true, false),
            ("$['a','b']", false, true, false),
            ("$['a','b'].c", false, false, false),
            ("$.a[*]", false, false, false),
            ("$.*", false, false, false),
            ("$..a", false, false, false),
            ("$.a[0,1]", false, false, false),
            ("$.a[1:2]", false, false, false),
            ("$.a[?(@.x)]", false, false, false),
        ];
        for (text, reference, definite, context) in cases {
            let path = JsonPath::parse(text).unwrap();
            assert_eq!(path.is_reference(), reference, "reference {text}");
            assert_eq!(path.is_definite(), definite, "definite {text}");
            assert_eq!(path.is_context(), context, "context {text}");
            assert_eq!(path.as_str(), text);
            assert_eq!(
                JsonPath::parse_reference(text).is_ok(),
                reference,
                "parse_reference {text}"
            );
        }
    }

    #[test]
    fn rejects_garbage() {
        for text in [
            "",
            "a",
            "a.b",
            " $",
            "$.",
            "$.a.",
            "$..",
            "$[",
            "$['a'",
            "$['a]",
            "$[a]",
            "$.a[",
            "$.a[0",
            "$.a b",
            "$a",
            "$.a[0x]",
            "$.a[?(@.x >)]",
            "$.a[?(@.x]",
            "$.a[?()]",
            "$.a]",
            "$.[0]",
            "$.a..",
            "$.a\\",
            "$.a[1:2:3]",
            "$$$",
            "$.a[?(@.x == 'y)]",
        ] {
            assert!(JsonPath::parse(text).is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn writes_result_paths() {
        let target = json!({"a": {"b": 1}, "list": [1, 2], "s": "x"});
        let cases: Vec<(&str, Result<Value, &str>)> = vec![
            ("$", Ok(json!("v"))),
            ("$.a.b", Ok(json!({"a": {"b": "v"}, "list": [1, 2], "s": "x"}))),
            ("$.a.c", Ok(json!({"a": {"b": 1, "c": "v"}, "list": [1, 2], "s": "x"}))),
            ("$.new.deep.er", Ok(json!({"a": {"b": 1}, "list": [1, 2], "s": "x", "new": {"deep": {"er": "v"}}}))),
            ("$.list[1]", Ok(json!({"a": {"b": 1}, "list": [1, "v"], "s": "x"}))),
            ("$['a']['b c']", Ok(json!({"a": {"b": 1, "b c": "v"}, "list": [1, 2], "s": "x"}))),
            ("$.s.t", Err("Unable to apply ResultPath '$.s.t': cannot set property ['t'] because $['s'] is a string, not an object")),
            ("$.a.b.c", Err("Unable to apply ResultPath '$.a.b.c': cannot set property ['c'] because $['a']['b'] is a number, not an object")),
            ("$.list[5]", Err("Unable to apply ResultPath '$.list[5]': index [5] is out of bounds for $['list'] (length 2)")),
            ("$.a[0]", Err("Unable to apply ResultPath '$.a[0]': cannot set element [0] because $['a'] is an object, not an array")),
            ("$.list[*]", Err("'$.list[*]' is not a reference path")),
            ("$$.Execution", Err("Cannot write to the Context Object path '$$.Execution'")),
        ];
        for (text, expected) in cases {
            let got = JsonPath::parse(text)
                .unwrap()
                .write(target.clone(), json!("v"));
            assert_eq!(got, expected.map_err(PathError::new), "{text}");
        }
        // A scalar target only accepts `$`.
        assert!(JsonPath::parse("$.a")
            .unwrap()
            .write(json!(3), json!(1))
            .is_err());
    }

    proptest! {
        #[test]
        fn parser_never_panics(text in "\\PC{0,40}") {
            let _ = JsonPath::parse(&text);
        }

        #[test]
        fn parser_never_panics_on_path_like_text(text in "\\$[\\$.\\[\\]'\"a-c0-9*?@()<>=!&|:, \\-\\\\]{0,40}") {
            if let Ok(path) = JsonPath::parse(&text) {
                let input = json!({"a": [{"b": 1}, {"c": [2, 3]}], "b": {"c": null}});
                let _ = path.read(&input, &input);
                let _ = path.write(input.clone(), json!(1));
            }
        }
    }

    #[test]
    fn deeply_nested_filters_are_rejected_not_overflowed() {
        let text = format!("$[?({}@.a{})]", "(".repeat(5000), ")".repeat(5000));
        assert!(JsonPath::parse(&text).is_err());
        let text = format!("$[?({}@.a)]", "!".repeat(5000));
        assert!(JsonPath::parse(&text).is_err());
    }
}
