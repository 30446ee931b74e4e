//! XML bodies by the model (`rest-xml` payloads and results, `query` results): element names from the
//! members' `locationName`s, lists wrapped in `member` elements unless flattened, maps as `entry`
//! elements of `key` and `value`, attributes where a member is one.

use serde_json::{Map, Value};

use super::json::member_of;
use super::model::{pascal, MemberRef, Model, Shape};
use super::wire::{self, Place};
use super::xml::Element;

/// The result members of the structure `shape` read from `element` (members bound to headers or the
/// status code are the caller's).
pub fn structure_out(model: &Model, shape: &Shape, element: &Element) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, member) in &shape.members {
        if member.location.is_some() {
            continue;
        }
        let wire_name = member.location_name.as_deref().unwrap_or(name);
        let resolved = model.resolve(member);
        let inner = resolved.shape();
        let value = if member.xml_attribute {
            element
                .attribute(wire_name)
                .map(|t| wire::scalar_value(resolved.kind, t))
        } else if resolved.kind == "list" && (member.flattened || inner.flattened) {
            let item = inner.member.as_ref();
            let item_name = item
                .and_then(|i| i.location_name.as_deref())
                .unwrap_or(wire_name);
            let items: Vec<Value> = element
                .children_named(item_name)
                .map(|c| value_out(model, item, c))
                .collect();
            (!items.is_empty()).then_some(Value::Array(items))
        } else if resolved.kind == "map" && (member.flattened || inner.flattened) {
            let entries: Vec<&Element> = element.children_named(wire_name).collect();
            (!entries.is_empty()).then(|| map_out(model, inner, entries.into_iter()))
        } else {
            element
                .child(wire_name)
                .map(|c| value_out(model, Some(member), c))
        };
        if let Some(v) = value {
            out.insert(pascal(name), v);
        }
    }
    out
}

fn map_out<'a>(model: &Model, shape: &Shape, entries: impl Iterator<Item = &'a Element>) -> Value {
    let key_name = shape
        .key
        .as_ref()
        .and_then(|k| k.location_name.as_deref())
        .unwrap_or("key");
    let value_name = shape
        .value
        .as_ref()
        .and_then(|v| v.location_name.as_deref())
        .unwrap_or("value");
    let mut out = Map::new();
    for entry in entries {
        if let Some(key) = entry.child(key_name) {
            let value = entry
                .child(value_name)
                .map(|v| value_out(model, shape.value.as_ref(), v))
                .unwrap_or(Value::Null);
            out.insert(key.text.clone(), value);
        }
    }
    Value::Object(out)
}

fn value_out(model: &Model, member: Option<&MemberRef>, element: &Element) -> Value {
    let Some(member) = member else {
        return Value::String(element.text.clone());
    };
    let resolved = model.resolve(member);
    let shape = resolved.shape();
    match resolved.kind {
        "structure" => Value::Object(structure_out(model, shape, element)),
        "list" => {
            let item = shape.member.as_ref();
            let item_name = item
                .and_then(|i| i.location_name.as_deref())
                .unwrap_or("member");
            Value::Array(
                element
                    .children_named(item_name)
                    .map(|c| value_out(model, item, c))
                    .collect(),
            )
        }
        "map" => map_out(model, shape, element.children_named("entry")),
        kind => wire::scalar_value(kind, &element.text),
    }
}

/// The XML element `name` for the structure `shape` with the parameters `value` (members bound to the
/// URI, headers or query string are left out).
pub fn structure_in(
    model: &Model,
    shape: &Shape,
    value: &Value,
    name: &str,
) -> Result<Element, String> {
    let Value::Object(given) = value else {
        return Err(format!("expected an object of parameters, got {value}"));
    };
    let mut element = Element {
        name: name.to_string(),
        ..Element::default()
    };
    if let Some(ns) = &shape.xml_namespace {
        let attribute = match &ns.prefix {
            Some(p) => format!("xmlns:{p}"),
            None => "xmlns".to_string(),
        };
        element.attributes.push((attribute, ns.uri.clone()));
    }
    for (parameter, v) in given {
        let (member_name, member) = member_of(shape, parameter)?;
        if v.is_null() || member.location.is_some() {
            continue;
        }
        let wire_name = member.location_name.as_deref().unwrap_or(member_name);
        let resolved = model.resolve(member);
        let inner = resolved.shape();
        if member.xml_attribute {
            let text = wire::scalar_text(
                resolved.kind,
                v,
                member.timestamp_format.as_deref(),
                Place::Text,
            )?;
            element.attributes.push((wire_name.to_string(), text));
        } else if resolved.kind == "list" && (member.flattened || inner.flattened) {
            let Value::Array(items) = v else {
                return Err(format!("{parameter}: expected a list, got {v}"));
            };
            let item = inner.member.as_ref().ok_or("a list without members")?;
            let item_name = item.location_name.as_deref().unwrap_or(wire_name);
            for i in items {
                element.children.push(value_in(model, item, i, item_name)?);
            }
        } else {
            element.children.push(
                value_in(model, member, v, wire_name).map_err(|e| format!("{parameter}: {e}"))?,
            );
        }
    }
    Ok(element)
}

fn value_in(
    model: &Model,
    member: &MemberRef,
    value: &Value,
    name: &str,
) -> Result<Element, String> {
    let resolved = model.resolve(member);
    let shape = resolved.shape();
    match (resolved.kind, value) {
        ("structure", _) => {
            let mut element = structure_in(model, shape, value, name)?;
            if let Some(ns) = &member.xml_namespace {
                element.attributes.push(("xmlns".into(), ns.uri.clone()));
            }
            Ok(element)
        }
        ("list", Value::Array(items)) => {
            let item = shape.member.as_ref().ok_or("a list without members")?;
            let item_name = item.location_name.as_deref().unwrap_or("member");
            let children = items
                .iter()
                .map(|i| value_in(model, item, i, item_name))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Element {
                name: name.to_string(),
                children,
                ..Element::default()
            })
        }
        ("map", Value::Object(entries)) => {
            let (key, val) = (
                shape.key.as_ref(),
                shape.value.as_ref().ok_or("a map without values")?,
            );
            let key_name = key
                .and_then(|k| k.location_name.as_deref())
                .unwrap_or("key");
            let value_name = val.location_name.as_deref().unwrap_or("value");
            let mut children = Vec::new();
            for (k, v) in entries {
                children.push(Element {
                    name: "entry".into(),
                    children: vec![
                        Element {
                            name: key_name.into(),
                            text: k.clone(),
                            ..Element::default()
                        },
                        value_in(model, val, v, value_name)?,
                    ],
                    ..Element::default()
                });
            }
            Ok(Element {
                name: name.to_string(),
                children,
                ..Element::default()
            })
        }
        ("list" | "map", other) => Err(format!("expected a {}, got {other}", resolved.kind)),
        (kind, v) => Ok(Element {
            name: name.to_string(),
            text: wire::scalar_text(
                kind,
                v,
                member
                    .timestamp_format
                    .as_deref()
                    .or(shape.timestamp_format.as_deref()),
                Place::Text,
            )?,
            ..Element::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::integrations::aws::{model::model, xml};
    use serde_json::json;

    #[test]
    fn s3_listings_read_flattened_lists_and_typed_values() {
        let s3 = model("s3").unwrap();
        let doc = xml::parse(
            "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><KeyCount>2</KeyCount>\
             <IsTruncated>false</IsTruncated><Contents><Key>a.txt</Key><Size>3</Size>\
             <LastModified>2024-02-03T04:05:06.000Z</LastModified></Contents><Contents><Key>b.txt</Key><Size>4</Size>\
             </Contents></ListBucketResult>",
        )
        .unwrap();
        let out = structure_out(s3, s3.shape("ListObjectsV2Output").unwrap(), &doc);
        assert_eq!(out["Name"], json!("b"));
        assert_eq!(out["KeyCount"], json!(2));
        assert_eq!(out["IsTruncated"], json!(false));
        assert_eq!(
            out["Contents"],
            json!([{"Key": "a.txt", "LastModified": "2024-02-03T04:05:06Z", "Size": 3},
                   {"Key": "b.txt", "Size": 4}])
        );
    }

    #[test]
    fn wrapped_lists_and_maps_are_read() {
        let sns = model("sns").unwrap();
        let doc = xml::parse(
            "<ListTopicsResult><Topics><member><TopicArn>t1</TopicArn></member><member><TopicArn>t2</TopicArn>\
             </member></Topics></ListTopicsResult>",
        )
        .unwrap();
        assert_eq!(
            Value::Object(structure_out(
                sns,
                sns.shape("ListTopicsResponse").unwrap(),
                &doc
            )),
            json!({"Topics": [{"TopicArn": "t1"}, {"TopicArn": "t2"}]})
        );
        let doc = xml::parse(
            "<R><Attributes><entry><key>Policy</key><value>p</value></entry></Attributes></R>",
        )
        .unwrap();
        assert_eq!(
            Value::Object(structure_out(
                sns,
                sns.shape("GetTopicAttributesResponse").unwrap(),
                &doc
            )),
            json!({"Attributes": {"Policy": "p"}})
        );
    }

    #[test]
    fn payloads_are_written_with_namespaces_and_wrapped_lists() {
        let s3 = model("s3").unwrap();
        let tagging = s3.shape("Tagging").unwrap();
        let element = structure_in(
            s3,
            tagging,
            &json!({"TagSet": [{"Key": "k", "Value": "v"}]}),
            "Tagging",
        )
        .unwrap();
        let mut out = String::new();
        xml::write(&element, &mut out);
        assert_eq!(
            out,
            "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
        );
        assert!(structure_in(s3, tagging, &json!({"Nope": 1}), "Tagging").is_err());
    }
}
