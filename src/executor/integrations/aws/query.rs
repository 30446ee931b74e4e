//! The `query` protocol (SNS, STS): the parameters as a form (`Action`, `Version`, then each member by
//! its dotted path: `Name.member.N` for lists, `Name.entry.N.key`/`.value` for maps, unless flattened),
//! the result in `<OperationResponse><OperationResult>`, errors in `<ErrorResponse><Error>`.

use serde_json::{Map, Value};

use super::json::member_of;
use super::model::{MemberRef, Model, Shape};
use super::wire::{self, Place};
use super::xml::{self, Element};

/// The form body of `operation` with the parameters `value` of its input `shape`.
pub fn form(
    model: &Model,
    operation: &str,
    shape: Option<&Shape>,
    value: &Value,
) -> Result<String, String> {
    let mut pairs = vec![
        ("Action".to_string(), operation.to_string()),
        ("Version".to_string(), model.metadata.api_version.clone()),
    ];
    if let Some(shape) = shape {
        structure(model, shape, value, "", &mut pairs)?;
    } else if !matches!(value, Value::Object(m) if m.is_empty()) && !value.is_null() {
        return Err(format!("{operation} takes no parameters"));
    }
    Ok(pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                wire::uri_encode(k, false),
                wire::uri_encode(v, false)
            )
        })
        .collect::<Vec<_>>()
        .join("&"))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn structure(
    model: &Model,
    shape: &Shape,
    value: &Value,
    prefix: &str,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let Value::Object(given) = value else {
        return Err(format!("expected an object of parameters, got {value}"));
    };
    for (parameter, v) in given {
        let (name, member) = member_of(shape, parameter)?;
        if v.is_null() {
            continue;
        }
        let key = member.location_name.as_deref().unwrap_or(name);
        member_value(model, member, v, &join(prefix, key), out)
            .map_err(|e| format!("{parameter}: {e}"))?;
    }
    Ok(())
}

fn member_value(
    model: &Model,
    member: &MemberRef,
    value: &Value,
    prefix: &str,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let resolved = model.resolve(member);
    let shape = resolved.shape();
    match (resolved.kind, value) {
        ("structure", _) => structure(model, shape, value, prefix, out),
        ("list", Value::Array(items)) => {
            let item = shape.member.as_ref().ok_or("a list without members")?;
            if items.is_empty() {
                out.push((prefix.to_string(), String::new()));
                return Ok(());
            }
            let list_prefix = if member.flattened || shape.flattened {
                match &item.location_name {
                    Some(name) => match prefix.rsplit_once('.') {
                        Some((head, _)) => join(head, name),
                        None => name.clone(),
                    },
                    None => prefix.to_string(),
                }
            } else {
                join(prefix, item.location_name.as_deref().unwrap_or("member"))
            };
            for (i, v) in items.iter().enumerate() {
                member_value(model, item, v, &format!("{list_prefix}.{}", i + 1), out)?;
            }
            Ok(())
        }
        ("map", Value::Object(entries)) => {
            let val = shape.value.as_ref().ok_or("a map without values")?;
            let key_name = shape
                .key
                .as_ref()
                .and_then(|k| k.location_name.as_deref())
                .unwrap_or("key");
            let value_name = val.location_name.as_deref().unwrap_or("value");
            let map_prefix = if member.flattened || shape.flattened {
                prefix.to_string()
            } else {
                join(prefix, "entry")
            };
            for (i, (k, v)) in entries.iter().enumerate() {
                let entry = format!("{map_prefix}.{}", i + 1);
                out.push((join(&entry, key_name), k.clone()));
                member_value(model, val, v, &join(&entry, value_name), out)?;
            }
            Ok(())
        }
        ("list" | "map", other) => Err(format!("expected a {}, got {other}", resolved.kind)),
        // A JSON value given for a string (an SNS message) is sent as its text.
        ("string", Value::Object(_) | Value::Array(_)) => {
            out.push((prefix.to_string(), value.to_string()));
            Ok(())
        }
        (kind, v) => {
            let format = member
                .timestamp_format
                .as_deref()
                .or(shape.timestamp_format.as_deref());
            out.push((
                prefix.to_string(),
                wire::scalar_text(kind, v, format, Place::Text)?,
            ));
            Ok(())
        }
    }
}

/// The result of a query-protocol response body: the members of `<result_wrapper>` read by `shape`.
pub fn result(
    model: &Model,
    shape: Option<&Shape>,
    result_wrapper: Option<&str>,
    body: &str,
) -> Result<Map<String, Value>, String> {
    let Some(shape) = shape else {
        return Ok(Map::new());
    };
    let root = xml::parse(body)?;
    let result = match result_wrapper {
        Some(name) => match root.child(name) {
            Some(r) => r,
            None => return Ok(Map::new()),
        },
        None => &root,
    };
    Ok(super::xml_body::structure_out(model, shape, result))
}

/// The code and message of an XML error body (`<ErrorResponse><Error><Code>`, S3's `<Error><Code>`).
pub fn error(body: &str) -> Option<(String, Option<String>)> {
    let root: Element = xml::parse(body).ok()?;
    let code = if root.name == "Error" {
        root.child("Code").map(|c| c.text.clone())
    } else {
        root.find_text("Code").map(str::to_string)
    }?;
    let message = root.find_text("Message").map(str::to_string);
    Some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::integrations::aws::model::model;
    use serde_json::json;

    #[test]
    fn sns_publish_is_a_form_with_entries() {
        let sns = model("sns").unwrap();
        let body = form(
            sns,
            "Publish",
            sns.shape("PublishInput"),
            &json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": {"a": 1},
                    "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "x y"}}}),
        )
        .unwrap();
        assert_eq!(
            body,
            "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At\
             &Message=%7B%22a%22%3A1%7D&MessageAttributes.entry.1.Name=kind\
             &MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=x%20y"
        );
        let batch = form(
            sns,
            "PublishBatch",
            sns.shape("PublishBatchInput"),
            &json!({"TopicArn": "t", "PublishBatchRequestEntries": [{"Id": "1", "Message": "m"}]}),
        )
        .unwrap();
        assert!(
            batch.ends_with("PublishBatchRequestEntries.member.1.Id=1&PublishBatchRequestEntries.member.1.Message=m"),
            "{batch}"
        );
        assert!(form(
            sns,
            "Publish",
            sns.shape("PublishInput"),
            &json!({"Bad": 1})
        )
        .is_err());
    }

    #[test]
    fn results_and_errors_are_read_from_xml() {
        let sns = model("sns").unwrap();
        let out = result(
            sns,
            sns.shape("PublishResponse"),
            Some("PublishResult"),
            "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult>\
             <MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId>\
             </ResponseMetadata></PublishResponse>",
        )
        .unwrap();
        assert_eq!(Value::Object(out), json!({"MessageId": "m-1"}));
        assert_eq!(
            error("<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>"),
            Some(("NotFound".into(), Some("Topic does not exist".into())))
        );
        assert_eq!(
            error("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key></Error>"),
            Some(("NoSuchKey".into(), Some("The specified key does not exist.".into())))
        );
        assert_eq!(error("not xml"), None);
    }
}
