//! JSON values in and out of the evaluator.

use indexmap::IndexMap;
use jsonata_core::value::{JArray, JValue};
use serde_json::{Number, Value};

pub(crate) fn to_jvalue(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(s.as_str()),
        Value::Array(items) => {
            let flat = !items.iter().any(Value::is_array);
            JValue::Array(JArray::new_flat(
                items.iter().map(to_jvalue).collect(),
                flat,
            ))
        }
        Value::Object(map) => JValue::object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_jvalue(v)))
                .collect::<IndexMap<_, _>>(),
        ),
    }
}

/// The JSON of a result: `Ok(None)` for *undefined*, `Err(())` for a function or regex (AWS: "returned an
/// unsupported result type"). Inside a structure, undefined members and functions are left out, as
/// `JSON.stringify` does. Integral numbers become JSON integers (`3`, not `3.0`; `-0` is `0`); infinities
/// and NaN become the strings AWS shows (`"Infinity"`).
pub(crate) fn to_json(value: &JValue) -> Result<Option<Value>, ()> {
    match value {
        JValue::Undefined => Ok(None),
        JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => Err(()),
        other => Ok(inner(other)),
    }
}

fn inner(value: &JValue) -> Option<Value> {
    jsonata_core::value::with_stack(|| match value {
        JValue::Null => Some(Value::Null),
        JValue::Bool(b) => Some(Value::Bool(*b)),
        JValue::Number(n) => Some(number(*n)),
        JValue::String(s) => Some(Value::String(s.to_string())),
        JValue::Array(items) => Some(Value::Array(items.iter().filter_map(inner).collect())),
        JValue::Object(map) => Some(Value::Object(
            map.iter()
                .filter_map(|(k, v)| inner(v).map(|v| (k.clone(), v)))
                .collect(),
        )),
        _ => None,
    })
}

/// The largest magnitude below which every integer is exact in a double.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

pub(crate) fn number(n: f64) -> Value {
    if n.is_nan() {
        Value::String("NaN".into())
    } else if n.is_infinite() {
        Value::String(if n > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else if n.fract() == 0.0 && n.abs() <= EXACT_INTEGER {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}
