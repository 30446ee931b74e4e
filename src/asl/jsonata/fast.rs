//! Plain paths (`$states.input.order.id`, `$customer`, `$v.a.b`) read straight from the JSON values, with
//! no conversion and no evaluator: the most common Step Functions expressions, and the ones where the
//! evaluator's cost would be mostly conversion. Anything the evaluator would treat specially (a step
//! over an array, which maps; a name that may be a function) goes to the evaluator instead.

use jsonata_core::ast::AstNode;
use serde_json::Value;

use super::{convert, Environment};

#[derive(Debug)]
pub(crate) struct PlainPath {
    root: Root,
    names: Vec<String>,
}

#[derive(Debug)]
enum Root {
    States,
    Variable(String),
}

impl PlainPath {
    pub(crate) fn of(ast: &AstNode) -> Option<PlainPath> {
        let (first, rest) = match ast {
            AstNode::Variable(name) => (name, &[][..]),
            AstNode::Path { steps } => {
                let (first, rest) = steps.split_first()?;
                let plain = |step: &jsonata_core::ast::PathStep| {
                    step.stages.is_empty()
                        && step.focus.is_none()
                        && step.index_var.is_none()
                        && step.ancestor_label.is_none()
                        && !step.is_tuple
                };
                if !steps.iter().all(plain) {
                    return None;
                }
                match &first.node {
                    AstNode::Variable(name) => (name, rest),
                    _ => return None,
                }
            }
            _ => return None,
        };
        if first.is_empty() {
            return None;
        }
        let names = rest
            .iter()
            .map(|step| match &step.node {
                AstNode::Name(name) => Some(name.clone()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        let root = if first == "states" {
            Root::States
        } else {
            Root::Variable(first.clone())
        };
        Some(PlainPath { root, names })
    }

    /// `Some(result)` when the path can be read directly (`Some(None)`: undefined); `None` to use the
    /// evaluator.
    pub(crate) fn read(&self, env: &Environment<'_>) -> Option<Option<Value>> {
        let mut value = match &self.root {
            Root::States => env.states,
            // An unassigned name may be a function (`$string`): the evaluator knows.
            Root::Variable(name) => env.variables.variable(name)?,
        };
        for name in &self.names {
            value = match value {
                Value::Object(map) => match map.get(name) {
                    Some(member) => member,
                    None => return Some(None),
                },
                // A step over an array maps over its items.
                Value::Array(_) => return None,
                _ => return Some(None),
            };
        }
        Some(Some(normalized(value)))
    }
}

/// A copy with numbers as the evaluator returns them (doubles; integral ones written as integers).
fn normalized(value: &Value) -> Value {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.unsigned_abs() <= 1 << 53 => value.clone(),
            _ => convert::number(n.as_f64().unwrap_or(0.0)),
        },
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        _ => value.clone(),
    }
}
