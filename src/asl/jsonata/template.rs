//! A JSON value whose `"{% … %}"` strings are expressions (`Arguments`, `Output`, `Assign`, a catcher's
//! `Output`, `ItemSelector`, …): compiled once, evaluated leaf by leaf; keys and other strings stay as
//! written.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{
    expression_body, Environment, Expression, JsonataSyntaxError, QueryEvaluationError, Session,
};

#[derive(Debug, Clone)]
pub struct JsonataTemplate {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    /// A subtree with no expression, returned as is.
    Literal(Value),
    /// An expression string; `location` is its path inside the template (`result`, `list[1]/id`).
    Expression {
        location: String,
        expression: Expression,
    },
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

impl JsonataTemplate {
    /// Compiles every expression string in `value`. `Err` lists each bad one with its JSON pointer inside
    /// the template (`""` for the value itself, `/result`, `/list/1`), for the validator to append to the
    /// field's pointer.
    pub fn compile(value: &Value) -> Result<JsonataTemplate, Vec<(String, JsonataSyntaxError)>> {
        let mut errors = Vec::new();
        let root = compile_node(value, "", "", &mut errors);
        if errors.is_empty() {
            Ok(JsonataTemplate { root })
        } else {
            Err(errors)
        }
    }

    /// Evaluates every expression; an expression yielding nothing is an error (as AWS records for
    /// `Output/result`). Error locations are relative to the template; name the field with
    /// [`QueryEvaluationError::in_field`].
    pub fn evaluate(&self, env: &mut Environment<'_>) -> Result<Value, QueryEvaluationError> {
        if let Node::Literal(value) = &self.root {
            return Ok(value.clone());
        }
        let mut session = Session::new(env);
        evaluate_node(&self.root, &mut session)
    }

    /// The value itself when the template holds no expression.
    pub fn constant(&self) -> Option<&Value> {
        match &self.root {
            Node::Literal(value) => Some(value),
            _ => None,
        }
    }

    /// The template's expressions with their locations inside it, in document order.
    pub fn expressions(&self) -> Vec<(&str, &Expression)> {
        let mut out = Vec::new();
        collect(&self.root, &mut out);
        out
    }

    /// Workflow variables read by any of its expressions.
    pub fn variables(&self) -> BTreeSet<String> {
        self.expressions()
            .into_iter()
            .flat_map(|(_, e)| e.variables())
            .collect()
    }

    /// Whether any of its expressions reads `$states` as a whole (see [`Expression::reads_all_states`]).
    pub fn reads_all_states(&self) -> bool {
        self.expressions().iter().any(|(_, e)| e.reads_all_states())
    }

    /// `$states` members read by any of its expressions.
    pub fn states_fields(&self) -> BTreeSet<String> {
        self.expressions()
            .into_iter()
            .flat_map(|(_, e)| e.states_fields())
            .collect()
    }
}

fn compile_node(
    value: &Value,
    pointer: &str,
    location: &str,
    errors: &mut Vec<(String, JsonataSyntaxError)>,
) -> Node {
    match value {
        Value::String(text) => match expression_body(text) {
            Some(body) => match Expression::compile(body) {
                Ok(expression) => Node::Expression {
                    location: location.to_string(),
                    expression,
                },
                Err(error) => {
                    errors.push((pointer.to_string(), error));
                    Node::Literal(Value::Null)
                }
            },
            None => Node::Literal(value.clone()),
        },
        Value::Object(map) => {
            let members: Vec<(String, Node)> = map
                .iter()
                .map(|(key, member)| {
                    let child_location = if location.is_empty() {
                        key.clone()
                    } else {
                        format!("{location}/{key}")
                    };
                    let node =
                        compile_node(member, &format!("{pointer}/{key}"), &child_location, errors);
                    (key.clone(), node)
                })
                .collect();
            if members.iter().all(|(_, n)| matches!(n, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Object(members)
            }
        }
        Value::Array(items) => {
            let nodes: Vec<Node> = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    compile_node(
                        item,
                        &format!("{pointer}/{i}"),
                        &format!("{location}[{i}]"),
                        errors,
                    )
                })
                .collect();
            if nodes.iter().all(|n| matches!(n, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Array(nodes)
            }
        }
        _ => Node::Literal(value.clone()),
    }
}

fn evaluate_node(
    node: &Node,
    session: &mut Session<'_, '_>,
) -> Result<Value, QueryEvaluationError> {
    match node {
        Node::Literal(value) => Ok(value.clone()),
        Node::Expression {
            location,
            expression,
        } => expression.evaluate_in(session).map_err(|e| {
            if location.is_empty() {
                e
            } else {
                e.in_field(location)
            }
        }),
        Node::Object(members) => {
            let mut out = Map::with_capacity(members.len());
            for (key, member) in members {
                out.insert(key.clone(), evaluate_node(member, session)?);
            }
            Ok(Value::Object(out))
        }
        Node::Array(items) => items
            .iter()
            .map(|item| evaluate_node(item, session))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}

fn collect<'t>(node: &'t Node, out: &mut Vec<(&'t str, &'t Expression)>) {
    match node {
        Node::Literal(_) => {}
        Node::Expression {
            location,
            expression,
        } => out.push((location, expression)),
        Node::Object(members) => members.iter().for_each(|(_, n)| collect(n, out)),
        Node::Array(items) => items.iter().for_each(|n| collect(n, out)),
    }
}
