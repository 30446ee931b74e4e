//! The services' API models, trimmed from botocore by `tools/trim-models.py` into `models/aws/*.json`
//! and embedded: what the SDK integration client reads to put each parameter where the protocol wants
//! it and to read results back. A service is callable through `aws-sdk:<name>:<action>` when its model
//! is listed in [`MODELS`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// Step Functions' aws-sdk service names and their models.
const MODELS: [(&str, &str); 10] = [
    ("s3", include_str!("../../../../models/aws/s3.json")),
    (
        "dynamodb",
        include_str!("../../../../models/aws/dynamodb.json"),
    ),
    ("sqs", include_str!("../../../../models/aws/sqs.json")),
    ("sns", include_str!("../../../../models/aws/sns.json")),
    (
        "eventbridge",
        include_str!("../../../../models/aws/eventbridge.json"),
    ),
    ("sfn", include_str!("../../../../models/aws/sfn.json")),
    ("lambda", include_str!("../../../../models/aws/lambda.json")),
    (
        "secretsmanager",
        include_str!("../../../../models/aws/secretsmanager.json"),
    ),
    ("ssm", include_str!("../../../../models/aws/ssm.json")),
    ("sts", include_str!("../../../../models/aws/sts.json")),
];

#[derive(Debug, Deserialize)]
pub struct Model {
    pub metadata: Metadata,
    pub operations: BTreeMap<String, Operation>,
    pub shapes: BTreeMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `json`, `query`, `rest-json` or `rest-xml`.
    pub protocol: String,
    pub api_version: String,
    pub json_version: Option<String>,
    pub target_prefix: Option<String>,
    pub signing_name: String,
    /// The Java SDK v2 client name that prefixes Step Functions' error names (`DynamoDb`, `Sfn`).
    pub error_prefix: String,
    /// `<ID>` of `AWS_ENDPOINT_URL_<ID>`.
    pub endpoint_variable: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub method: String,
    /// The request URI template: `{Label}`, greedy `{Key+}`, and literal query parameters.
    pub uri: String,
    pub input: Option<String>,
    pub output: Option<String>,
    /// The query protocol's `<OperationResult>` element around the output.
    pub result_wrapper: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: String,
    /// In the model's order (the order results list them in).
    #[serde(default, deserialize_with = "in_order")]
    pub members: Vec<(String, MemberRef)>,
    pub member: Option<MemberRef>,
    pub key: Option<MemberRef>,
    pub value: Option<MemberRef>,
    #[serde(default)]
    pub flattened: bool,
    pub location_name: Option<String>,
    /// The member that is the whole HTTP body (REST protocols).
    pub payload: Option<String>,
    pub timestamp_format: Option<String>,
    pub xml_namespace: Option<XmlNamespace>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct XmlNamespace {
    pub uri: String,
    pub prefix: Option<String>,
}

/// A reference to a shape from a member (or a list's member, a map's key or value): the shape by name,
/// or, for a plain string or number, only its type; and where the member goes on the wire.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MemberRef {
    pub shape: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `uri`, `querystring`, `header`, `headers` (a prefixed map) or `statusCode`; none for the body.
    pub location: Option<String>,
    pub location_name: Option<String>,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub xml_attribute: bool,
    /// A header carrying base64 JSON.
    #[serde(default)]
    pub jsonvalue: bool,
    #[serde(default)]
    pub idempotency_token: bool,
    pub timestamp_format: Option<String>,
    pub xml_namespace: Option<XmlNamespace>,
}

fn in_order<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, MemberRef)>, D::Error> {
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    map.into_iter()
        .map(|(k, v)| {
            serde_json::from_value(v)
                .map(|m| (k, m))
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

/// A member's name in Step Functions' parameters and results: the model's, first letter upper-cased
/// (`stateMachineArn` → `StateMachineArn`).
pub fn pascal(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

impl Shape {
    /// The member a parameter names (its PascalCase name).
    pub fn member(&self, parameter: &str) -> Option<(&str, &MemberRef)> {
        self.members
            .iter()
            .find(|(name, _)| name == parameter || pascal(name) == parameter)
            .map(|(n, m)| (n.as_str(), m))
    }

    pub fn member_named(&self, name: &str) -> Option<&MemberRef> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }
}

/// The shape a reference names (a plain one has no shape of its own).
pub struct Resolved<'a> {
    pub kind: &'a str,
    pub shape: Option<&'a Shape>,
}

static EMPTY: OnceLock<Shape> = OnceLock::new();

impl<'a> Resolved<'a> {
    pub fn shape(&self) -> &'a Shape {
        self.shape
            .unwrap_or_else(|| EMPTY.get_or_init(Shape::default))
    }
}

impl Model {
    pub fn resolve<'a>(&'a self, member: &'a MemberRef) -> Resolved<'a> {
        match (&member.shape, &member.kind) {
            (Some(name), _) => match self.shapes.get(name) {
                Some(shape) => Resolved {
                    kind: &shape.kind,
                    shape: Some(shape),
                },
                None => Resolved {
                    kind: "string",
                    shape: None,
                },
            },
            (None, Some(kind)) => Resolved { kind, shape: None },
            (None, None) => Resolved {
                kind: "string",
                shape: None,
            },
        }
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The operation an aws-sdk action names: `getObject` → `GetObject` (Step Functions upper-cases the
    /// first letter of the model's operation name).
    pub fn operation(&self, action: &str) -> Option<(&str, &Operation)> {
        if !action.starts_with(|c: char| c.is_ascii_lowercase()) {
            return None;
        }
        let name = pascal(action);
        self.operations
            .get_key_value(&name)
            .map(|(k, v)| (k.as_str(), v))
    }
}

/// The model of an aws-sdk service name (`s3`, `sfn`), parsed on first use.
pub fn model(service: &str) -> Option<&'static Model> {
    static PARSED: [OnceLock<Model>; MODELS.len()] = [const { OnceLock::new() }; MODELS.len()];
    let index = MODELS.iter().position(|(name, _)| *name == service)?;
    Some(PARSED[index].get_or_init(|| {
        serde_json::from_str(MODELS[index].1).expect("the embedded AWS models parse")
    }))
}

/// The aws-sdk service names that have a model.
pub fn services() -> impl Iterator<Item = &'static str> {
    MODELS.iter().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_parses_and_names_its_protocol() {
        for service in services() {
            let m = model(service).unwrap();
            assert!(
                ["json", "query", "rest-json", "rest-xml"].contains(&m.metadata.protocol.as_str()),
                "{service}"
            );
            for (name, op) in &m.operations {
                for shape in op.input.iter().chain(op.output.iter()) {
                    assert!(m.shape(shape).is_some(), "{service} {name} {shape}");
                }
            }
        }
        assert!(model("nope").is_none());
    }

    /// Step Functions prefixes SDK integration errors with the Java SDK v2 client's name.
    #[test]
    fn error_prefixes_are_the_sdk_v2_client_names() {
        let prefixes: Vec<(&str, &str)> = services()
            .map(|s| (s, model(s).unwrap().metadata.error_prefix.as_str()))
            .collect();
        assert_eq!(
            prefixes,
            [
                ("s3", "S3"),
                ("dynamodb", "DynamoDb"),
                ("sqs", "Sqs"),
                ("sns", "Sns"),
                ("eventbridge", "EventBridge"),
                ("sfn", "Sfn"),
                ("lambda", "Lambda"),
                ("secretsmanager", "SecretsManager"),
                ("ssm", "Ssm"),
                ("sts", "Sts"),
            ]
        );
    }

    #[test]
    fn actions_are_camel_case_operations() {
        let s3 = model("s3").unwrap();
        assert_eq!(s3.operation("getObject").unwrap().0, "GetObject");
        assert!(s3.operation("GetObject").is_none());
        assert!(s3.operation("getObjectz").is_none());
    }
}
