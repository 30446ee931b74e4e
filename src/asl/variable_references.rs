//! `variableReferences` of DescribeStateMachine(ForExecution): for each state, the workflow variables its
//! own fields read. AWS (recorded 2024-11) lists only states that read one, by state name (states inside a
//! Map or Parallel included, keyed by their own name), each list sorted and without repeats. It counts
//! `$var` paths and intrinsic arguments in JSONPath fields (`.$` template keys, `…Path` fields, Choice
//! `Variable`, `Assign` included) and `$var` in JSONata `{% %}` expressions; never `$states`, `$$`, `$.x`,
//! nor a `$var` string under a key without `.$` (a literal).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::intrinsics::IntrinsicCall;
use super::jsonata::{expression_body, Expression};
use super::path::JsonPath;

/// Fields whose objects are payload templates in JSONPath states: only `.$` keys read anything there.
const TEMPLATE_FIELDS: [&str; 5] = [
    "Parameters",
    "ResultSelector",
    "ItemSelector",
    "Assign",
    "BatchInput",
];

/// Fields holding nested state machines: their states are listed on their own.
const NESTED_MACHINE_FIELDS: [&str; 3] = ["Iterator", "ItemProcessor", "Branches"];

/// The references of a stored (valid) definition; empty when it does not parse or reads no variable.
pub fn variable_references(definition: &str) -> BTreeMap<String, Vec<String>> {
    let mut references: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Ok(Value::Object(machine)) = serde_json::from_str::<Value>(definition) {
        machine_references(&machine, false, &mut references);
    }
    references
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(state, names)| (state, names.into_iter().collect()))
        .collect()
}

/// `parent_jsonata`: the query language the machine's states inherit when they name none.
fn machine_references(
    machine: &Map<String, Value>,
    parent_jsonata: bool,
    out: &mut BTreeMap<String, BTreeSet<String>>,
) {
    let jsonata = query_language(machine).unwrap_or(parent_jsonata);
    let Some(Value::Object(states)) = machine.get("States") else {
        return;
    };
    for (name, state) in states {
        let Value::Object(state) = state else {
            continue;
        };
        let state_jsonata = query_language(state).unwrap_or(jsonata);
        let mut names = BTreeSet::new();
        for (key, value) in state {
            if NESTED_MACHINE_FIELDS.contains(&key.as_str()) {
                continue;
            }
            if state_jsonata {
                expressions(value, &mut names);
            } else {
                jsonpath_field(key, value, &mut names);
            }
        }
        if !names.is_empty() {
            out.entry(name.clone()).or_default().extend(names);
        }
        for key in ["Iterator", "ItemProcessor"] {
            if let Some(Value::Object(nested)) = state.get(key) {
                machine_references(nested, jsonata, out);
            }
        }
        if let Some(Value::Array(branches)) = state.get("Branches") {
            for branch in branches {
                if let Value::Object(branch) = branch {
                    machine_references(branch, jsonata, out);
                }
            }
        }
    }
}

/// `Some(true)` for `"QueryLanguage": "JSONata"`, `Some(false)` for JSONPath, `None` when not given.
fn query_language(object: &Map<String, Value>) -> Option<bool> {
    object
        .get("QueryLanguage")
        .and_then(Value::as_str)
        .map(|language| language == "JSONata")
}

/// Every `{% %}` string anywhere under `value` (keys do not matter in JSONata states).
fn expressions(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            if let Some(expression) =
                expression_body(text).and_then(|b| Expression::compile(b).ok())
            {
                names.extend(expression.variables());
            }
        }
        Value::Array(items) => items.iter().for_each(|item| expressions(item, names)),
        Value::Object(fields) => fields.values().for_each(|field| expressions(field, names)),
        _ => {}
    }
}

/// A JSONPath state's field (or a field of an object inside one: Choice rules, catchers, `ItemReader`).
fn jsonpath_field(key: &str, value: &Value, names: &mut BTreeSet<String>) {
    if TEMPLATE_FIELDS.contains(&key) {
        template(value, names);
        return;
    }
    match value {
        // `Result` is a literal: nothing in it is read.
        _ if key == "Result" => {}
        Value::String(text)
            if key.ends_with(".$") || key.ends_with("Path") || key == "Variable" =>
        {
            path_or_call(text, names)
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| jsonpath_field(key, item, names)),
        Value::Object(fields) => fields
            .iter()
            .for_each(|(field, inner)| jsonpath_field(field, inner, names)),
        _ => {}
    }
}

/// A payload template: `.$` keys read a path or an intrinsic call; other values are literals.
fn template(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                match inner {
                    Value::String(text) if key.ends_with(".$") => path_or_call(text, names),
                    _ => template(inner, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| template(item, names)),
        _ => {}
    }
}

fn path_or_call(text: &str, names: &mut BTreeSet<String>) {
    if IntrinsicCall::looks_like_call(text) {
        if let Ok(call) = IntrinsicCall::parse(text) {
            names.extend(call.variables());
        }
    } else if let Ok(path) = JsonPath::parse(text) {
        names.extend(path.variables());
    }
}

#[cfg(test)]
#[path = "variable_references_tests.rs"]
mod tests;
