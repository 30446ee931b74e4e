//! Reading: Jayway's walk over a document, its scans for `..` and wildcards, and filter expressions.

use super::*;

pub(super) struct Walker<'a, 'r> {
    pub(super) root: &'a Value,
    pub(super) results: &'r mut Vec<Value>,
}

impl Walker<'_, '_> {
    /// Apply `segments` to `node`, following Jayway: errors are raised only while every step so far was definite.
    pub(super) fn walk(
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

    pub(super) fn not_an_object(
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
        // Jayway names the JVM class of the node and of its JSON provider; which provider AWS configures is not known.
        Err(PathError::new(format!(
            "Expected to find an object with property {fragment} in path {location} but found '{}'. \
             This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
            java_class(node)
        )))
    }

    pub(super) fn require_array<'v>(
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

pub(super) fn resolve_index(index: i64, length: usize) -> Option<usize> {
    let length = i64::try_from(length).ok()?;
    let effective = if index < 0 { length + index } else { index };
    if (0..length).contains(&effective) {
        usize::try_from(effective).ok()
    } else {
        None
    }
}

pub(super) fn slice_bounds(start: Option<i64>, end: Option<i64>, length: usize) -> (usize, usize) {
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
pub(super) fn scan(
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
pub(super) fn resolve_operand(operand: &Operand, current: &Value, root: &Value) -> Option<Value> {
    let (segments, start) = match operand {
        Operand::Literal(value) => return Some(value.clone()),
        // Never reached: a path holding a bare word fails before it is walked.
        Operand::BareWord(_) => return None,
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

pub(super) fn filter_matches(filter: &Filter, current: &Value, root: &Value) -> bool {
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
            Operand::BareWord(_) => false,
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

pub(super) fn is_definite_operand(operand: &Operand) -> bool {
    match operand {
        Operand::Literal(_) | Operand::BareWord(_) => true,
        Operand::Current(segments) | Operand::Root(segments) => segments.iter().all(|s| match s {
            Segment::Names(names) => names.len() == 1,
            Segment::Index(_) => true,
            _ => false,
        }),
    }
}

pub(super) fn compare(left: Option<&Value>, comparison: Comparison, right: Option<&Value>) -> bool {
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

pub(super) fn values_equal(left: Option<&Value>, right: Option<&Value>) -> bool {
    match (left, right) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

pub(super) fn order(left: Option<&Value>, right: Option<&Value>) -> Option<Ordering> {
    match (left?, right?) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}
