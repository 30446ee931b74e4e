//! The REST protocols (`rest-json`: Lambda; `rest-xml`: S3): parameters bound to URI labels (greedy
//! `{Key+}` keeps its slashes), the query string, headers (a prefixed map for `headers`) or the body
//! (the `payload` member whole, else the other members as a JSON object or XML document); results read
//! back from the status code, headers and body the same way.

use base64::Engine;
use serde_json::{Map, Value};

use super::json::{self, member_of};
use super::model::{pascal, Model, Operation, Shape};
use super::wire::{self, Place};
use super::{xml, xml_body};

/// A request before signing: the URI-encoded path and query pairs, the headers and the body.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WireRequest {
    pub method: String,
    pub path: String,
    /// Encoded `name=value` pairs, in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WireRequest {
    pub fn query_string(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// The REST request of `operation` with the parameters `value`; `json` for rest-json, else rest-xml.
pub fn request(
    model: &Model,
    operation: &Operation,
    value: &Value,
    json_body: bool,
) -> Result<WireRequest, String> {
    let empty = Shape::default();
    let shape = operation
        .input
        .as_deref()
        .and_then(|s| model.shape(s))
        .unwrap_or(&empty);
    let given = match value {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        other => return Err(format!("expected an object of parameters, got {other}")),
    };
    let (template, literal_query) = operation
        .uri
        .split_once('?')
        .unwrap_or((&operation.uri, ""));
    let mut request = WireRequest {
        method: operation.method.clone(),
        ..WireRequest::default()
    };
    for pair in literal_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        request
            .query
            .push((wire::uri_encode(k, false), wire::uri_encode(v, false)));
    }
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut body_members = Map::new();
    for (parameter, v) in &given {
        let (name, member) = member_of(shape, parameter)?;
        if v.is_null() {
            continue;
        }
        let resolved = model.resolve(member);
        let inner = resolved.shape();
        let wire_name = member.location_name.as_deref().unwrap_or(name);
        let format = member
            .timestamp_format
            .as_deref()
            .or(inner.timestamp_format.as_deref());
        let text = |kind: &str, v: &Value, place| {
            wire::scalar_text(kind, v, format, place).map_err(|e| format!("{parameter}: {e}"))
        };
        match member.location.as_deref() {
            Some("uri") => {
                labels.push((wire_name.to_string(), text(resolved.kind, v, Place::Text)?))
            }
            Some("querystring") => match (resolved.kind, v) {
                ("list", Value::Array(items)) => {
                    let kind = inner
                        .member
                        .as_ref()
                        .map(|m| model.resolve(m).kind)
                        .unwrap_or("string");
                    for item in items {
                        request.query.push((
                            wire::uri_encode(wire_name, false),
                            wire::uri_encode(&text(kind, item, Place::Text)?, false),
                        ));
                    }
                }
                ("map", Value::Object(entries)) => {
                    for (k, item) in entries {
                        request.query.push((
                            wire::uri_encode(k, false),
                            wire::uri_encode(&text("string", item, Place::Text)?, false),
                        ));
                    }
                }
                (kind, v) => request.query.push((
                    wire::uri_encode(wire_name, false),
                    wire::uri_encode(&text(kind, v, Place::Text)?, false),
                )),
            },
            Some("header") => {
                let value = if member.jsonvalue {
                    base64::engine::general_purpose::STANDARD.encode(v.to_string())
                } else if let Value::Array(items) = v {
                    items
                        .iter()
                        .map(|i| text("string", i, Place::Header))
                        .collect::<Result<Vec<_>, _>>()?
                        .join(",")
                } else {
                    text(resolved.kind, v, Place::Header)?
                };
                request.headers.push((wire_name.to_string(), value));
            }
            Some("headers") => {
                let Value::Object(entries) = v else {
                    return Err(format!("{parameter}: expected a map, got {v}"));
                };
                for (k, item) in entries {
                    request.headers.push((
                        format!("{wire_name}{k}"),
                        text("string", item, Place::Header)?,
                    ));
                }
            }
            _ => {
                body_members.insert(parameter.clone(), v.clone());
            }
        }
    }
    request.path = expand(template, &labels)?;
    if let Some(payload) = &shape.payload {
        let member = shape
            .member_named(payload)
            .ok_or("the payload member is not in the model")?;
        let given_payload = body_members
            .get(&pascal(payload))
            .or(body_members.get(payload));
        if let Some(v) = given_payload {
            let resolved = model.resolve(member);
            match resolved.kind {
                "blob" | "string" => {
                    request.body = match v {
                        Value::String(s) => s.clone().into_bytes(),
                        other => other.to_string().into_bytes(),
                    }
                }
                _ if json_body => {
                    request.body = json::structure_in(model, resolved.shape(), v, false)?
                        .to_string()
                        .into_bytes();
                    request
                        .headers
                        .push(("content-type".into(), "application/json".into()));
                }
                _ => {
                    let name = member
                        .location_name
                        .as_deref()
                        .or(resolved.shape().location_name.as_deref())
                        .unwrap_or(payload);
                    let mut element = xml_body::structure_in(model, resolved.shape(), v, name)?;
                    if let Some(ns) = &member.xml_namespace {
                        element.attributes.push(("xmlns".into(), ns.uri.clone()));
                    }
                    let mut text = String::new();
                    xml::write(&element, &mut text);
                    request.body = text.into_bytes();
                    request
                        .headers
                        .push(("content-type".into(), "application/xml".into()));
                }
            }
        }
    } else if json_body {
        let has_body_members = shape.members.iter().any(|(_, m)| m.location.is_none());
        if !body_members.is_empty() || (has_body_members && operation.method != "GET") {
            request.body = json::structure_in(model, shape, &Value::Object(body_members), true)?
                .to_string()
                .into_bytes();
            request
                .headers
                .push(("content-type".into(), "application/json".into()));
        }
    } else if !body_members.is_empty() {
        let name = shape.location_name.as_deref().unwrap_or("Request");
        let mut text = String::new();
        xml::write(
            &xml_body::structure_in(model, shape, &Value::Object(body_members), name)?,
            &mut text,
        );
        request.body = text.into_bytes();
        request
            .headers
            .push(("content-type".into(), "application/xml".into()));
    }
    Ok(request)
}

/// The URI template with its labels filled in (URI-encoded; a greedy label keeps its slashes).
fn expand(template: &str, labels: &[(String, String)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').ok_or("an unterminated URI label")?;
        let label = &rest[open + 1..close];
        let (name, greedy) = match label.strip_suffix('+') {
            Some(n) => (n, true),
            None => (label, false),
        };
        let value = labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("The field '{}' is required", pascal(name)))?;
        if value.is_empty() {
            return Err(format!("The field '{}' must not be empty", pascal(name)));
        }
        out.push_str(&wire::uri_encode(value, greedy));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The result of a REST response: header- and status-bound members, then the body (the payload member
/// whole, as text for a blob, or the other members read from the JSON or XML document).
pub fn result(
    model: &Model,
    operation: &Operation,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    json_body: bool,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let Some(shape) = operation.output.as_deref().and_then(|s| model.shape(s)) else {
        return Ok(out);
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    for (name, member) in &shape.members {
        let resolved = model.resolve(member);
        let wire_name = member.location_name.as_deref().unwrap_or(name);
        let value = match member.location.as_deref() {
            Some("statusCode") => Some(Value::from(status)),
            Some("header") => header(wire_name).map(|text| {
                if member.jsonvalue {
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .unwrap_or_else(|| Value::String(text.to_string()))
                } else {
                    wire::scalar_value(resolved.kind, text)
                }
            }),
            Some("headers") => {
                let prefix = wire_name.to_ascii_lowercase();
                let entries: Map<String, Value> = headers
                    .iter()
                    .filter_map(|(n, v)| {
                        let lower = n.to_ascii_lowercase();
                        lower
                            .strip_prefix(&prefix)
                            .map(|k| (k.to_string(), Value::String(v.clone())))
                    })
                    .collect();
                (!entries.is_empty()).then_some(Value::Object(entries))
            }
            _ => None,
        };
        if let Some(v) = value {
            out.insert(pascal(name), v);
        }
    }
    if let Some(payload) = &shape.payload {
        let member = shape
            .member_named(payload)
            .ok_or("the payload member is not in the model")?;
        let resolved = model.resolve(member);
        let value = match resolved.kind {
            // Step Functions returns a blob payload (an S3 object's Body) as text.
            "blob" | "string" => Some(Value::String(String::from_utf8_lossy(body).into_owned())),
            _ if body.is_empty() => None,
            _ if json_body => Some(Value::Object(json::structure_out(
                model,
                resolved.shape(),
                &serde_json::from_slice(body)
                    .map_err(|e| format!("the response is not JSON: {e}"))?,
            ))),
            _ => Some(Value::Object(xml_body::structure_out(
                model,
                resolved.shape(),
                &xml::parse(&String::from_utf8_lossy(body))?,
            ))),
        };
        if let Some(v) = value {
            out.insert(pascal(payload), v);
        }
    } else if !body.is_empty() {
        let members = if json_body {
            let parsed: Value = serde_json::from_slice(body)
                .map_err(|e| format!("the response is not JSON: {e}"))?;
            json::structure_out(model, shape, &parsed)
        } else {
            xml_body::structure_out(model, shape, &xml::parse(&String::from_utf8_lossy(body))?)
        };
        out.extend(members);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::integrations::aws::model::model;
    use serde_json::json;

    fn s3_op(name: &str) -> &'static Operation {
        &model("s3").unwrap().operations[name]
    }

    #[test]
    fn s3_requests_bind_labels_headers_and_payloads() {
        let s3 = model("s3").unwrap();
        let put = request(
            s3,
            s3_op("PutObject"),
            &json!({"Bucket": "b", "Key": "dir/a b.txt", "Body": "hello", "ContentType": "text/plain",
                    "Metadata": {"owner": "me"}}),
            false,
        )
        .unwrap();
        assert_eq!(put.method, "PUT");
        assert_eq!(put.path, "/b/dir/a%20b.txt");
        assert_eq!(put.body, b"hello");
        assert!(put
            .headers
            .contains(&("Content-Type".into(), "text/plain".into())));
        assert!(put
            .headers
            .contains(&("x-amz-meta-owner".into(), "me".into())));
        let list = request(
            s3,
            s3_op("ListObjectsV2"),
            &json!({"Bucket": "b", "Prefix": "a/", "MaxKeys": 10}),
            false,
        )
        .unwrap();
        assert_eq!(list.path, "/b");
        assert_eq!(list.query_string(), "list-type=2&prefix=a%2F&max-keys=10");
        let tagging = request(
            s3,
            s3_op("PutBucketTagging"),
            &json!({"Bucket": "b", "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
            false,
        )
        .unwrap();
        assert_eq!(tagging.query_string(), "tagging=");
        assert_eq!(
            String::from_utf8(tagging.body).unwrap(),
            "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>k</Key><Value>v</Value>\
             </Tag></TagSet></Tagging>"
        );
        let missing = request(s3, s3_op("GetObject"), &json!({"Bucket": "b"}), false).unwrap_err();
        assert!(missing.contains("'Key' is required"), "{missing}");
    }

    #[test]
    fn s3_results_read_headers_and_the_body_as_text() {
        let s3 = model("s3").unwrap();
        let out = result(
            s3,
            s3_op("GetObject"),
            200,
            &[
                ("Content-Length".into(), "5".into()),
                ("ETag".into(), "\"e\"".into()),
                (
                    "Last-Modified".into(),
                    "Sat, 03 Feb 2024 04:05:06 GMT".into(),
                ),
                ("x-amz-meta-owner".into(), "me".into()),
            ],
            b"hello",
            false,
        )
        .unwrap();
        assert_eq!(out["Body"], json!("hello"));
        assert_eq!(out["ContentLength"], json!(5));
        assert_eq!(out["ETag"], json!("\"e\""));
        assert_eq!(out["LastModified"], json!("2024-02-03T04:05:06Z"));
        assert_eq!(out["Metadata"], json!({"owner": "me"}));
    }

    #[test]
    fn lambda_requests_and_results_are_rest_json() {
        let lambda = model("lambda").unwrap();
        let invoke = &lambda.operations["Invoke"];
        let r = request(
            lambda,
            invoke,
            &json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f", "Payload": {"a": 1},
                    "InvocationType": "Event", "Qualifier": "live"}),
            true,
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.path,
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations"
        );
        assert_eq!(r.query_string(), "Qualifier=live");
        assert!(r
            .headers
            .contains(&("X-Amz-Invocation-Type".into(), "Event".into())));
        assert_eq!(r.body, b"{\"a\":1}");
        let out = result(
            lambda,
            invoke,
            200,
            &[("X-Amz-Executed-Version".into(), "$LATEST".into())],
            b"{\"ok\":true}",
            true,
        )
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": "{\"ok\":true}"})
        );
        let get = request(
            lambda,
            &lambda.operations["ListFunctions"],
            &json!({"MaxItems": 5}),
            true,
        )
        .unwrap();
        assert_eq!(
            (
                get.path.as_str(),
                get.query_string().as_str(),
                get.body.len()
            ),
            ("/2015-03-31/functions", "MaxItems=5", 0)
        );
    }
}
