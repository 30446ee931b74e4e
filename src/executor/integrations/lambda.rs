//! Lambda over its Invoke API (`POST /2015-03-31/functions/{name}/invocations` at `--lambda-endpoint`: the
//! Lambda Runtime Interface Emulator, `sam local start-lambda`, LocalStack, or AWS).
//!
//! Two forms, as on AWS: a function ARN as the resource (the effective input is the payload, the response
//! payload the result, `LambdaFunction*` events) and `arn:aws:states:::lambda:invoke` (Invoke's members
//! as parameters, the result wrapped with `Payload`, `StatusCode`, ...; `Task*` events; also
//! `.waitForTaskToken`). A function error becomes the function's `errorType` (`Lambda.Unknown` without
//! one), an Invoke API error `Lambda.<Exception>` with the SDK v1 cause, an unreachable endpoint
//! `Lambda.SdkClientException`.

use hyper::{Method, Uri};
use serde_json::{json, Map, Value};

use super::http::{HttpFailure, Incoming};
use super::Executor;
use crate::store::{ActivityTaskRecord, TaskReport};

/// How long an Invoke may take: a function runs up to 15 minutes (Lambda's own limit), far beyond the
/// HTTP Task's 60 s cap; a margin covers Lambda's start. The task's TimeoutSeconds still closes the task
/// sooner (the engine times it out; the call's late report is refused).
const INVOKE_LIMIT: std::time::Duration = std::time::Duration::from_secs(900 + 10);

/// The task rows of function-ARN tasks (the function's name is in the row's input).
pub(super) const FUNCTION_RESOURCE: &str = "arn:aws:states:::lambda:function";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// A function ARN as the resource.
    Direct,
    /// `arn:aws:states:::lambda:invoke`.
    Invoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`.
    InvokeCallback,
}

impl Form {
    pub(super) const RESOURCES: [&'static str; 3] = [
        FUNCTION_RESOURCE,
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
    ];

    pub(super) fn of(resource: &str) -> Option<Form> {
        Some(match Self::RESOURCES.iter().position(|r| *r == resource)? {
            0 => Form::Direct,
            1 => Form::Invoke,
            _ => Form::InvokeCallback,
        })
    }
}

fn failure(error: impl Into<String>, cause: impl Into<String>) -> TaskReport {
    TaskReport::Failure {
        error: Some(error.into()),
        cause: Some(cause.into()),
    }
}

/// Percent-encodes a function name, ARN or partial ARN for the request path.
fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Executor {
    pub(super) async fn invoke_lambda(&self, task: &ActivityTaskRecord, form: Form) {
        let parameters: Value = serde_json::from_str(&task.input).unwrap_or(Value::Null);
        let report = self.lambda_report(&parameters, form).await;
        self.report(task, report).await
    }

    async fn lambda_report(&self, parameters: &Value, form: Form) -> TaskReport {
        let text = |key: &str| parameters.get(key).and_then(Value::as_str);
        let Some(function) = text("FunctionName") else {
            return failure(
                "Lambda.AWSLambdaException",
                "1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null (Service: AWSLambda; Status Code: 400; Error Code: ValidationException; Request ID: none; Proxy: null)",
            );
        };
        let Some(endpoint) = self.integrations.lambda_endpoint.get() else {
            return failure(
                "Lambda.SdkClientException",
                format!(
                    "Unable to execute HTTP request: no Lambda endpoint is configured for function {function} \
                     (start the server with --lambda-endpoint URL)"
                ),
            );
        };
        let payload = match (form, parameters.get("Payload")) {
            (_, None) => "{}".to_string(),
            (Form::Direct, Some(v)) => v.to_string(),
            // lambda:invoke sends a string payload as it is.
            (_, Some(Value::String(s))) => s.clone(),
            (_, Some(v)) => v.to_string(),
        };
        let mut uri = format!(
            "{}/2015-03-31/functions/{}/invocations",
            endpoint.trim_end_matches('/'),
            path_segment(function)
        );
        if let Some(q) = text("Qualifier") {
            uri.push_str(&format!("?Qualifier={}", path_segment(q)));
        }
        let Ok(uri) = uri.parse::<Uri>() else {
            return failure(
                "Lambda.SdkClientException",
                format!("Unable to execute HTTP request: the URL {uri} is not valid"),
            );
        };
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        for (member, header) in [
            ("InvocationType", "X-Amz-Invocation-Type"),
            ("LogType", "X-Amz-Log-Type"),
            ("ClientContext", "X-Amz-Client-Context"),
        ] {
            if let Some(v) = text(member) {
                headers.push((header.to_string(), v.to_string()));
            }
        }
        let response = match self
            .integrations
            .http
            .send_configured(
                Method::POST,
                uri,
                headers,
                payload.into_bytes(),
                INVOKE_LIMIT,
            )
            .await
        {
            Ok(r) => r,
            Err(f) if f.error == super::http::DATA_LIMIT => {
                let name = if form == Form::Direct {
                    function
                } else {
                    "lambda"
                };
                let HttpFailure { error, cause } = f.naming(name);
                return failure(error, cause);
            }
            Err(HttpFailure { cause, .. }) => {
                return failure(
                    "Lambda.SdkClientException",
                    format!("Unable to execute HTTP request: {cause}"),
                )
            }
        };
        invoke_outcome(&response, form)
    }
}

fn header<'a>(response: &'a Incoming, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What an Invoke response means for the task.
fn invoke_outcome(response: &Incoming, form: Form) -> TaskReport {
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    let request_id = header(response, "x-amzn-RequestId")
        .unwrap_or("00000000-0000-0000-0000-000000000000")
        .to_string();
    if !(200..300).contains(&response.status) {
        let code = header(response, "x-amzn-ErrorType")
            .map(|t| t.split(':').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| {
                match response.status {
                    404 => "ResourceNotFoundException",
                    429 => "TooManyRequestsException",
                    413 => "RequestTooLargeException",
                    500..=599 => "ServiceException",
                    _ => "AWSLambdaException",
                }
                .to_string()
            });
        let message = parsed
            .as_ref()
            .and_then(|v| v.get("Message").or_else(|| v.get("message")))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or(text);
        return failure(
            format!("Lambda.{code}"),
            format!(
                "{message} (Service: AWSLambda; Status Code: {}; Error Code: {code}; Request ID: {request_id}; Proxy: null)",
                response.status
            ),
        );
    }
    if header(response, "X-Amz-Function-Error").is_some() {
        let error = parsed
            .as_ref()
            .and_then(|v| v.get("errorType"))
            .and_then(Value::as_str)
            .unwrap_or("Lambda.Unknown")
            .to_string();
        // The direct form passes the runtime's text on as it is; lambda:invoke re-serialises it.
        let cause = match (form, &parsed) {
            (Form::Direct, _) | (_, None) => text,
            (_, Some(v)) => v.to_string(),
        };
        return failure(error, cause);
    }
    let payload = parsed.unwrap_or(Value::String(text));
    let output = match form {
        Form::Direct => payload,
        Form::Invoke | Form::InvokeCallback => {
            let mut all_headers = Map::new();
            let mut headers = Map::new();
            for (name, value) in &response.headers {
                all_headers.insert(name.clone(), json!([value]));
                headers.insert(name.clone(), json!(value));
            }
            let mut result = Map::new();
            result.insert(
                "ExecutedVersion".into(),
                json!(header(response, "X-Amz-Executed-Version").unwrap_or("$LATEST")),
            );
            if let Some(log) = header(response, "X-Amz-Log-Result") {
                result.insert("LogResult".into(), json!(log));
            }
            result.insert("Payload".into(), payload);
            result.insert(
                "SdkHttpMetadata".into(),
                json!({"AllHttpHeaders": all_headers, "HttpHeaders": headers,
                       "HttpStatusCode": response.status}),
            );
            result.insert(
                "SdkResponseMetadata".into(),
                json!({"RequestId": request_id}),
            );
            result.insert("StatusCode".into(), json!(response.status));
            Value::Object(result)
        }
    };
    match form {
        Form::InvokeCallback => TaskReport::Submitted {
            output: output.to_string(),
        },
        _ => TaskReport::Success {
            output: output.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Incoming {
        Incoming {
            status,
            reason: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn function_errors_take_their_error_type() {
        let raised = response(
            200,
            &[("X-Amz-Function-Error", "Unhandled")],
            r#"{"errorMessage": "boom", "errorType": "CustomException"}"#,
        );
        assert_eq!(
            invoke_outcome(&raised, Form::Direct),
            failure(
                "CustomException",
                r#"{"errorMessage": "boom", "errorType": "CustomException"}"#
            )
        );
        assert_eq!(
            invoke_outcome(&raised, Form::Invoke),
            failure(
                "CustomException",
                r#"{"errorMessage":"boom","errorType":"CustomException"}"#
            )
        );
        let crashed = response(200, &[("X-Amz-Function-Error", "Unhandled")], "killed");
        assert!(matches!(invoke_outcome(&crashed, Form::Direct),
            TaskReport::Failure { error: Some(e), .. } if e == "Lambda.Unknown"));
    }

    #[test]
    fn api_errors_are_lambda_exceptions() {
        let missing = response(
            404,
            &[
                (
                    "x-amzn-ErrorType",
                    "ResourceNotFoundException:http://internal",
                ),
                ("x-amzn-RequestId", "r1"),
            ],
            r#"{"Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f"}"#,
        );
        assert_eq!(
            invoke_outcome(&missing, Form::Invoke),
            failure(
                "Lambda.ResourceNotFoundException",
                "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: r1; Proxy: null)"
            )
        );
        assert!(
            matches!(invoke_outcome(&response(500, &[], "{}"), Form::Direct),
            TaskReport::Failure { error: Some(e), .. } if e == "Lambda.ServiceException")
        );
    }

    #[test]
    fn invoke_results_are_wrapped() {
        let ok = response(200, &[("X-Amz-Executed-Version", "3")], r#"{"x":1}"#);
        assert_eq!(
            invoke_outcome(&ok, Form::Direct),
            TaskReport::Success {
                output: r#"{"x":1}"#.into()
            }
        );
        let TaskReport::Success { output } = invoke_outcome(&ok, Form::Invoke) else {
            panic!("success");
        };
        let v: Value = serde_json::from_str(&output).unwrap();
        assert_eq!(v["Payload"], json!({"x": 1}));
        assert_eq!(v["ExecutedVersion"], json!("3"));
        assert_eq!(v["StatusCode"], json!(200));
        assert_eq!(
            path_segment("arn:aws:lambda:r:a:function:f"),
            "arn%3Aaws%3Alambda%3Ar%3Aa%3Afunction%3Af"
        );
    }
}
