//! JSON bodies by the model (the `json` protocol's whole request and response, a `rest-json` body):
//! parameters are checked against the input shape's members and put on the wire (timestamps as epoch
//! seconds, JSON values given for string members as their text); results keep the output shape's
//! members in the model's order, with timestamps as ISO 8601 text.

use serde_json::{Map, Value};

use super::model::{pascal, MemberRef, Model, Shape};
use super::wire::{self, Place};

/// The wire JSON of `value` for the structure `shape`, without the members bound elsewhere (URI,
/// headers, query string) when `body_only`.
pub fn structure_in(
    model: &Model,
    shape: &Shape,
    value: &Value,
    body_only: bool,
) -> Result<Value, String> {
    let Value::Object(given) = value else {
        return Err(format!("expected an object of parameters, got {value}"));
    };
    let mut out = Map::new();
    for (parameter, v) in given {
        let (name, member) = member_of(shape, parameter)?;
        if v.is_null() || (body_only && member.location.is_some()) {
            continue;
        }
        let key = member.location_name.as_deref().unwrap_or(name).to_string();
        out.insert(
            key,
            value_in(model, member, v).map_err(|e| format!("{parameter}: {e}"))?,
        );
    }
    for (name, member) in &shape.members {
        if member.idempotency_token
            && !given.contains_key(&pascal(name))
            && !(body_only && member.location.is_some())
        {
            let key = member.location_name.clone().unwrap_or_else(|| name.clone());
            out.insert(key, Value::String(uuid::Uuid::new_v4().to_string()));
        }
    }
    Ok(Value::Object(out))
}

/// The member `name` of a structure, or the error naming the field Step Functions does not know.
pub fn member_of<'a>(
    shape: &'a Shape,
    parameter: &str,
) -> Result<(&'a str, &'a MemberRef), String> {
    shape.member(parameter).ok_or_else(|| {
        format!(
            "The field '{parameter}' is not supported by Step Functions (expected one of: {})",
            shape
                .members
                .iter()
                .map(|(n, _)| pascal(n))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn value_in(model: &Model, member: &MemberRef, value: &Value) -> Result<Value, String> {
    let resolved = model.resolve(member);
    let (kind, shape) = (resolved.kind, resolved.shape);
    let shape_or_default = resolved.shape();
    match (kind, value) {
        // A document or an empty structure: as given.
        ("structure", _) if shape_or_default.members.is_empty() => Ok(value.clone()),
        ("structure", _) => structure_in(model, shape_or_default, value, false),
        ("list", Value::Array(items)) => {
            let item = shape_or_default
                .member
                .as_ref()
                .ok_or("a list without members")?;
            items
                .iter()
                .map(|v| value_in(model, item, v))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        ("list", other) => Err(format!("expected a list, got {other}")),
        ("map", Value::Object(entries)) => {
            let item = shape_or_default
                .value
                .as_ref()
                .ok_or("a map without values")?;
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(
                    k.clone(),
                    value_in(model, item, v).map_err(|e| format!("{k}: {e}"))?,
                );
            }
            Ok(Value::Object(out))
        }
        ("map", other) => Err(format!("expected a map, got {other}")),
        ("timestamp", v) => Ok(wire::timestamp_out(
            wire::timestamp_in(v)?,
            member
                .timestamp_format
                .as_deref()
                .or(shape.and_then(|s| s.timestamp_format.as_deref())),
            Place::JsonBody,
        )),
        // A JSON value given for a string member (a message body, a secret) is sent as its text.
        ("string", Value::Object(_) | Value::Array(_)) => Ok(Value::String(value.to_string())),
        ("string", Value::Number(n)) => Ok(Value::String(n.to_string())),
        ("string", Value::Bool(b)) => Ok(Value::String(b.to_string())),
        ("integer" | "long" | "double" | "float", Value::String(s)) => s
            .parse::<f64>()
            .map(|_| serde_json::from_str(s).unwrap_or(Value::String(s.clone())))
            .map_err(|_| format!("{s:?} is not a number")),
        _ => Ok(value.clone()),
    }
}

/// The result members of `shape` read from the wire JSON `value` (members bound to headers or the
/// status code are the caller's).
pub fn structure_out(model: &Model, shape: &Shape, value: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Value::Object(wire) = value else {
        return out;
    };
    for (name, member) in &shape.members {
        if member.location.is_some() {
            continue;
        }
        let key = member.location_name.as_deref().unwrap_or(name);
        if let Some(v) = wire.get(key).filter(|v| !v.is_null()) {
            out.insert(pascal(name), value_out(model, member, v));
        }
    }
    out
}

fn value_out(model: &Model, member: &MemberRef, value: &Value) -> Value {
    let resolved = model.resolve(member);
    let shape = resolved.shape();
    match (resolved.kind, value) {
        ("structure", Value::Object(_)) if !shape.members.is_empty() => {
            Value::Object(structure_out(model, shape, value))
        }
        ("list", Value::Array(items)) => match &shape.member {
            Some(item) => Value::Array(items.iter().map(|v| value_out(model, item, v)).collect()),
            None => value.clone(),
        },
        ("map", Value::Object(entries)) => match &shape.value {
            Some(item) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), value_out(model, item, v)))
                    .collect(),
            ),
            None => value.clone(),
        },
        ("timestamp", Value::Number(n)) => n
            .as_f64()
            .and_then(|s| {
                chrono::TimeZone::timestamp_millis_opt(&chrono::Utc, (s * 1000.0).round() as i64)
                    .single()
            })
            .map(wire::timestamp_result)
            .unwrap_or_else(|| value.clone()),
        ("timestamp", Value::String(s)) => wire::scalar_value("timestamp", s),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::integrations::aws::model::model;
    use serde_json::json;

    #[test]
    fn parameters_are_checked_and_put_on_the_wire() {
        let sfn = model("sfn").unwrap();
        let input = sfn.shape("StartExecutionInput").unwrap();
        assert_eq!(
            structure_in(
                sfn,
                input,
                &json!({"StateMachineArn": "arn", "Input": {"a": 1}}),
                false
            )
            .unwrap(),
            json!({"stateMachineArn": "arn", "input": "{\"a\":1}"})
        );
        let err = structure_in(sfn, input, &json!({"Nope": 1}), false).unwrap_err();
        assert!(err.contains("The field 'Nope' is not supported"), "{err}");
        let ddb = model("dynamodb").unwrap();
        let put = ddb.shape("PutItemInput").unwrap();
        assert_eq!(
            structure_in(
                ddb,
                put,
                &json!({"TableName": "t", "Item": {"id": {"S": "1"}, "n": {"N": "5"}}}),
                false
            )
            .unwrap(),
            json!({"TableName": "t", "Item": {"id": {"S": "1"}, "n": {"N": "5"}}})
        );
        let list = sfn.shape("ListExecutionsInput").unwrap();
        assert!(structure_in(sfn, list, &json!({"MaxResults": "x"}), false).is_err());
    }

    #[test]
    fn results_take_the_models_names_and_iso_timestamps() {
        let sfn = model("sfn").unwrap();
        let output = sfn.shape("StartExecutionOutput").unwrap();
        let out = structure_out(
            sfn,
            output,
            &json!({"executionArn": "arn:x", "startDate": 1706933106.5, "extra": 1}),
        );
        assert_eq!(
            Value::Object(out),
            json!({"ExecutionArn": "arn:x", "StartDate": "2024-02-03T04:05:06.500Z"})
        );
        let list = sfn.shape("ListStateMachinesOutput").unwrap();
        let out = structure_out(
            sfn,
            list,
            &json!({"stateMachines": [{"name": "m", "stateMachineArn": "a", "type": "STANDARD", "creationDate": 0}]}),
        );
        assert_eq!(
            out["StateMachines"],
            json!([{"StateMachineArn": "a", "Name": "m", "Type": "STANDARD", "CreationDate": "1970-01-01T00:00:00Z"}])
        );
    }
}
