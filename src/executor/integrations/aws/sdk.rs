//! One client for every service with a model: the request of an operation in the service's protocol
//! (`json`, `query`, `rest-json`, `rest-xml`), and its response read back as Step Functions' AWS SDK
//! integrations return it (members PascalCase, no SDK metadata) or as the service error it is.

use serde_json::{Map, Value};

use super::model::{Model, Operation};
use super::rest::{self, WireRequest};
use super::{json, query};

/// What `aws-sdk:<service>:<action>` names, resolved against the models.
#[derive(Debug, Clone)]
pub struct SdkCall {
    pub service: String,
    /// The model and the operation, or why there are none.
    pub target: Result<(&'static Model, &'static str), String>,
    pub callback: bool,
}

impl SdkCall {
    /// `arn:aws:states:::aws-sdk:<service>:<action>[.waitForTaskToken]`; an unknown service or action
    /// still makes a call, one that fails saying so.
    pub fn of(resource: &str) -> Option<SdkCall> {
        let rest = resource.strip_prefix("arn:aws:states:::aws-sdk:")?;
        let (rest, callback) = match rest.strip_suffix(".waitForTaskToken") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (service, action) = rest.split_once(':')?;
        let target = match super::model::model(service) {
            // STS operations issue credentials: any principal allowed to create a state machine would get
            // the server's own identity in an execution's output. Only the harmless ones are served.
            Some(_) if service == "sts" && !STS_ACTIONS.contains(&action) => Err(format!(
                "The API action '{action}' of 'sts' is not available in this service: it would issue credentials of the server's own identity (available: {})",
                STS_ACTIONS.join(", ")
            )),
            None => Err(format!(
                "The AWS SDK integration for '{service}' is not available in this service (available: {})",
                super::model::services().collect::<Vec<_>>().join(", ")
            )),
            Some(model) => match model.operation(action) {
                Some((name, _)) => Ok((model, name)),
                None => Err(format!(
                    "The API action '{action}' is not an action of '{service}' (the actions are the service's \
                     API operations in camelCase, e.g. '{}')",
                    model
                        .operations
                        .keys()
                        .next()
                        .map(|k| lower_first(k))
                        .unwrap_or_default()
                )),
            },
        };
        Some(SdkCall {
            service: service.to_string(),
            target,
            callback,
        })
    }
}

/// The STS actions an `aws-sdk:sts` Task may call: none that issue credentials.
const STS_ACTIONS: [&str; 1] = ["getCallerIdentity"];

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The request of `operation` with the parameters `value`, not yet signed.
pub fn request(
    model: &Model,
    name: &str,
    operation: &Operation,
    value: &Value,
) -> Result<WireRequest, String> {
    let input = operation.input.as_deref().and_then(|s| model.shape(s));
    let given = if value.is_null() {
        Value::Object(Map::new())
    } else {
        value.clone()
    };
    match model.metadata.protocol.as_str() {
        "json" => {
            let body = match input {
                Some(shape) => json::structure_in(model, shape, &given, false)?,
                None => Value::Object(Map::new()),
            };
            let version = model.metadata.json_version.as_deref().unwrap_or("1.0");
            let target = model.metadata.target_prefix.as_deref().unwrap_or_default();
            Ok(WireRequest {
                method: "POST".into(),
                path: "/".into(),
                query: Vec::new(),
                headers: vec![
                    (
                        "content-type".into(),
                        format!("application/x-amz-json-{version}"),
                    ),
                    ("x-amz-target".into(), format!("{target}.{name}")),
                ],
                body: body.to_string().into_bytes(),
            })
        }
        "query" => Ok(WireRequest {
            method: "POST".into(),
            path: "/".into(),
            query: Vec::new(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
            body: query::form(model, name, input, &given)?.into_bytes(),
        }),
        "rest-json" => rest::request(model, operation, &given, true),
        "rest-xml" => rest::request(model, operation, &given, false),
        other => Err(format!("the {other} protocol is not supported")),
    }
}

/// A service's answer that is an error: its code (`NoSuchKey`) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub code: String,
    pub message: String,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The error of a non-2xx response in the service's protocol.
pub fn error(
    protocol: &str,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> ServiceError {
    let text = String::from_utf8_lossy(body);
    let (code, message) = match protocol {
        "json" | "rest-json" => {
            let parsed: Option<Value> = serde_json::from_slice(body).ok();
            let field = |names: &[&str]| {
                parsed.as_ref().and_then(|v| {
                    names
                        .iter()
                        .find_map(|n| v.get(*n).and_then(Value::as_str).map(str::to_string))
                })
            };
            // The error shape's name (what Step Functions names the error by) before the code a service
            // that moved from the query protocol (SQS) also sends in a header.
            let code = field(&["__type", "code", "Code"])
                .or_else(|| {
                    header(headers, "x-amzn-query-error")
                        .map(|h| h.split(';').next().unwrap_or(h).to_string())
                })
                .or_else(|| header(headers, "x-amzn-ErrorType").map(str::to_string))
                .map(|t| {
                    let t = t.rsplit('#').next().unwrap_or(&t).to_string();
                    t.split(':').next().unwrap_or(&t).to_string()
                })
                .filter(|c| !c.is_empty());
            let code = code.or_else(|| query::error(&text).map(|(c, _)| c));
            let message = field(&["message", "Message", "errorMessage"])
                .or_else(|| query::error(&text).and_then(|(_, m)| m));
            (code, message)
        }
        _ => match query::error(&text) {
            Some((code, message)) => (Some(code), message),
            None => (None, None),
        },
    };
    // A body-less error (S3's HEAD requests) is named by its status, as the SDKs name it.
    let code = code.unwrap_or_else(|| {
        match status {
            400 => "BadRequest",
            403 => "Forbidden",
            404 => "NotFound",
            _ => "Unknown",
        }
        .to_string()
    });
    ServiceError {
        message: message.unwrap_or_else(|| {
            if text.trim().is_empty() {
                format!("Service returned HTTP status code {status}")
            } else {
                text.into_owned()
            }
        }),
        code,
    }
}

/// The result of a 2xx response, members PascalCase as the output shape names them.
pub fn result(
    model: &Model,
    operation: &Operation,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Map<String, Value>, String> {
    let output = operation.output.as_deref().and_then(|s| model.shape(s));
    match model.metadata.protocol.as_str() {
        "json" => match output {
            Some(shape) if !body.is_empty() => {
                let parsed: Value = serde_json::from_slice(body)
                    .map_err(|e| format!("the response is not JSON: {e}"))?;
                Ok(json::structure_out(model, shape, &parsed))
            }
            _ => Ok(Map::new()),
        },
        "query" => query::result(
            model,
            output,
            operation.result_wrapper.as_deref(),
            &String::from_utf8_lossy(body),
        ),
        "rest-json" => rest::result(model, operation, status, headers, body, true),
        _ => rest::result(model, operation, status, headers, body, false),
    }
}

/// Step Functions' name of a service error: `<Client>.<Code>`, with `Exception` appended where the code
/// lacks it (`S3.NoSuchKeyException`).
pub fn error_name(prefix: &str, code: &str) -> String {
    if code.ends_with("Exception") {
        format!("{prefix}.{code}")
    } else {
        format!("{prefix}.{code}Exception")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::integrations::aws::model::model;
    use serde_json::json;

    #[test]
    fn resources_name_a_model_and_operation() {
        let call = SdkCall::of("arn:aws:states:::aws-sdk:s3:getObject").unwrap();
        assert_eq!(call.target.as_ref().unwrap().1, "GetObject");
        assert!(!call.callback);
        let call =
            SdkCall::of("arn:aws:states:::aws-sdk:sqs:sendMessage.waitForTaskToken").unwrap();
        assert!(call.callback && call.target.is_ok());
        let unknown = SdkCall::of("arn:aws:states:::aws-sdk:rekognition:detectLabels").unwrap();
        assert!(unknown
            .target
            .unwrap_err()
            .contains("'rekognition' is not available"));
        let minting = SdkCall::of("arn:aws:states:::aws-sdk:sts:getSessionToken").unwrap();
        assert!(minting
            .target
            .unwrap_err()
            .contains("would issue credentials"));
        assert!(
            SdkCall::of("arn:aws:states:::aws-sdk:sts:getCallerIdentity")
                .unwrap()
                .target
                .is_ok()
        );
        let bad = SdkCall::of("arn:aws:states:::aws-sdk:s3:fetchObject").unwrap();
        assert!(bad
            .target
            .unwrap_err()
            .contains("'fetchObject' is not an action of 's3'"));
        assert!(SdkCall::of("arn:aws:states:::sqs:sendMessage").is_none());
    }

    #[test]
    fn json_requests_carry_the_target() {
        let ddb = model("dynamodb").unwrap();
        let r = request(
            ddb,
            "GetItem",
            &ddb.operations["GetItem"],
            &json!({"TableName": "t", "Key": {}}),
        )
        .unwrap();
        assert!(r
            .headers
            .contains(&("x-amz-target".into(), "DynamoDB_20120810.GetItem".into())));
        assert!(r
            .headers
            .contains(&("content-type".into(), "application/x-amz-json-1.0".into())));
        let sm = model("secretsmanager").unwrap();
        let r = request(
            sm,
            "GetSecretValue",
            &sm.operations["GetSecretValue"],
            &json!({"SecretId": "s"}),
        )
        .unwrap();
        assert!(r
            .headers
            .contains(&("content-type".into(), "application/x-amz-json-1.1".into())));
        assert_eq!(r.body, br#"{"SecretId":"s"}"#);
    }

    #[test]
    fn errors_are_read_in_each_protocol_and_named_as_step_functions_names_them() {
        let e = error(
            "json",
            400,
            &[(
                "x-amzn-query-error".into(),
                "AWS.SimpleQueueService.NonExistentQueue;Sender".into(),
            )],
            br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no queue"}"#,
        );
        assert_eq!(error_name("Sqs", &e.code), "Sqs.QueueDoesNotExistException");
        let e = error("json", 400, &[], br#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"failed"}"#);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ConditionalCheckFailedException", "failed")
        );
        let e = error(
            "rest-json",
            404,
            &[(
                "x-amzn-ErrorType".into(),
                "ResourceNotFoundException:http://x".into(),
            )],
            br#"{"Message":"gone"}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ResourceNotFoundException", "gone")
        );
        let e = error("rest-xml", 404, &[], b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
        assert_eq!(error_name("S3", &e.code), "S3.NoSuchKeyException");
        let e = error("rest-xml", 404, &[], b"");
        assert_eq!(e.code, "NotFound");
        assert_eq!(
            error_name("Sfn", "InvalidToken"),
            "Sfn.InvalidTokenException"
        );
        assert_eq!(
            error_name("DynamoDb", "ConditionalCheckFailedException"),
            "DynamoDb.ConditionalCheckFailedException"
        );
    }
}
