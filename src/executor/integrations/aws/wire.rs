//! Scalar values on the AWS wire: timestamps in the three formats the protocols use, URI encoding, and
//! the text form of a scalar in a query string, header or XML element.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

/// Where a value goes, which decides a timestamp's default format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A JSON body (`json`, `rest-json`): epoch seconds.
    JsonBody,
    /// A query string, a form body or an XML body: ISO 8601.
    Text,
    /// A header: the HTTP date.
    Header,
}

/// A timestamp parameter as a definition gives it: ISO 8601 text or epoch seconds.
pub fn timestamp_in(value: &Value) -> Result<DateTime<Utc>, String> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(|s| {
                Utc.timestamp_millis_opt((s * 1000.0).round() as i64)
                    .single()
            })
            .ok_or_else(|| format!("{n} is not a timestamp")),
        Value::String(s) => parse_timestamp(s).ok_or_else(|| format!("{s:?} is not a timestamp")),
        other => Err(format!("{other} is not a timestamp")),
    }
}

/// A timestamp in any of the wire formats.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text.replace("GMT", "+0000").as_str()) {
        return Some(t.with_timezone(&Utc));
    }
    // ISO 8601 without a zone (some emulators) is UTC.
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    let seconds: f64 = text.parse().ok()?;
    Utc.timestamp_millis_opt((seconds * 1000.0).round() as i64)
        .single()
}

/// A timestamp on the wire, in the member's format or the place's default.
pub fn timestamp_out(time: DateTime<Utc>, format: Option<&str>, place: Place) -> Value {
    let format = format.unwrap_or(match place {
        Place::JsonBody => "unixTimestamp",
        Place::Text => "iso8601",
        Place::Header => "rfc822",
    });
    match format {
        "unixTimestamp" => {
            let millis = time.timestamp_millis();
            if millis % 1000 == 0 {
                Value::from(millis / 1000)
            } else {
                serde_json::Number::from_f64(millis as f64 / 1000.0)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        "rfc822" => Value::String(time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
        _ => Value::String(time.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// A timestamp in a result, as the Java SDK's `Instant` prints it (Step Functions' output).
pub fn timestamp_result(time: DateTime<Utc>) -> Value {
    Value::String(time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The text of a scalar for a query string, header or XML element.
pub fn scalar_text(
    kind: &str,
    value: &Value,
    format: Option<&str>,
    place: Place,
) -> Result<String, String> {
    match (kind, value) {
        ("timestamp", v) => Ok(match timestamp_out(timestamp_in(v)?, format, place) {
            Value::String(s) => s,
            other => other.to_string(),
        }),
        ("blob", Value::String(s)) => {
            use base64::Engine;
            Ok(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
        }
        (_, Value::String(s)) => Ok(s.clone()),
        (_, Value::Bool(b)) => Ok(b.to_string()),
        (_, Value::Number(n)) => Ok(n.to_string()),
        (_, other) => Err(format!("{other} is not a {kind}")),
    }
}

/// A scalar read from text (a header, an XML element) as a result value.
pub fn scalar_value(kind: &str, text: &str) -> Value {
    match kind {
        "integer" | "long" => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        "double" | "float" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string())),
        "boolean" => Value::Bool(text.trim() == "true"),
        "timestamp" => parse_timestamp(text)
            .map(timestamp_result)
            .unwrap_or_else(|| Value::String(text.to_string())),
        _ => Value::String(text.to_string()),
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters (and `/` when `keep_slash`),
/// as SigV4 and the REST protocols encode URI labels and query values.
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_every_format() {
        let t = timestamp_in(&json!("2024-02-03T04:05:06Z")).unwrap();
        assert_eq!(timestamp_out(t, None, Place::JsonBody), json!(1706933106));
        assert_eq!(
            timestamp_out(t, None, Place::Header),
            json!("Sat, 03 Feb 2024 04:05:06 GMT")
        );
        assert_eq!(
            timestamp_out(t, None, Place::Text),
            json!("2024-02-03T04:05:06Z")
        );
        assert_eq!(
            timestamp_in(&json!(1706933106.5))
                .unwrap()
                .timestamp_millis(),
            1706933106500
        );
        assert_eq!(parse_timestamp("Sat, 03 Feb 2024 04:05:06 GMT"), Some(t));
        assert_eq!(parse_timestamp("1706933106"), Some(t));
        assert_eq!(
            scalar_value("timestamp", "2024-02-03T04:05:06.000Z"),
            json!("2024-02-03T04:05:06Z")
        );
        assert_eq!(
            scalar_value("timestamp", "1706933106.25"),
            json!("2024-02-03T04:05:06.250Z")
        );
        assert!(timestamp_in(&json!(true)).is_err());
    }

    #[test]
    fn uri_encoding_is_sigv4s() {
        assert_eq!(uri_encode("a b/c~d:é", false), "a%20b%2Fc~d%3A%C3%A9");
        assert_eq!(uri_encode("dir/x y.txt", true), "dir/x%20y.txt");
    }

    #[test]
    fn scalars_as_text_and_back() {
        assert_eq!(
            scalar_text("integer", &json!(5), None, Place::Text).unwrap(),
            "5"
        );
        assert_eq!(
            scalar_text("boolean", &json!(true), None, Place::Text).unwrap(),
            "true"
        );
        assert_eq!(
            scalar_text("blob", &json!("hi"), None, Place::Text).unwrap(),
            "aGk="
        );
        assert!(scalar_text("string", &json!({}), None, Place::Text).is_err());
        assert_eq!(scalar_value("long", "42"), json!(42));
        assert_eq!(scalar_value("boolean", "true"), json!(true));
        assert_eq!(scalar_value("double", "1.5"), json!(1.5));
    }
}
