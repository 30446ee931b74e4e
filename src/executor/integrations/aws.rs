//! Optimized integrations with AWS services that speak a JSON protocol (DynamoDB, SQS, EventBridge), sent
//! to the endpoint the operator configured the way the AWS SDKs read it (`AWS_ENDPOINT_URL_<SERVICE>`, then
//! `AWS_ENDPOINT_URL`), signed with SigV4 with the credentials of the environment.
//!
//! An endpoint is still a host the definition makes the server call: it must be on the HTTP Task's
//! allow-list (`--http-allow`). A service without an endpoint, or without credentials, fails its tasks
//! with `<Service>.SdkClientException` naming what to set, which `States.TaskFailed`/`States.ALL` catch.
//! Results are the API's response with the SDK metadata Step Functions adds; API errors are
//! `<Service>.<Exception>` with the SDK v1 cause, as AWS records them.

use std::collections::HashMap;

use hyper::{Method, Uri};
use serde_json::{json, Map, Value};

use super::http::{HttpFailure, Incoming};
use super::sigv4::{self, AwsCredentials, SigningRequest};
use super::Executor;
use crate::store::{ActivityTaskRecord, TaskReport};

/// One AWS service this runner can call, and how it names itself on the wire and in errors.
#[derive(Debug)]
pub(super) struct Service {
    /// The service in `arn:aws:states:::<service>:<action>` (and in `resourceType`).
    pub resource: &'static str,
    /// The SDKs' service id as used in `AWS_ENDPOINT_URL_<SERVICE>`.
    pub env: &'static str,
    /// The SigV4 signing name.
    pub signing_name: &'static str,
    /// The prefix of Step Functions' error names (`DynamoDB.ConditionalCheckFailedException`).
    pub error_prefix: &'static str,
    /// The Java SDK v1 client name in causes (`Service: AmazonDynamoDBv2`).
    pub v1_name: &'static str,
    pub content_type: &'static str,
    pub target_prefix: &'static str,
    /// Error codes without `Exception` (SQS's `QueueDoesNotExist`) get it, as SDK v1 exception names do.
    pub suffix_exception: bool,
    /// The actions supported, and whether `.waitForTaskToken` is.
    pub actions: &'static [&'static str],
    pub callback: bool,
}

pub(super) const SERVICES: [Service; 3] = [
    Service {
        resource: "dynamodb",
        env: "DYNAMODB",
        signing_name: "dynamodb",
        error_prefix: "DynamoDB",
        v1_name: "AmazonDynamoDBv2",
        content_type: "application/x-amz-json-1.0",
        target_prefix: "DynamoDB_20120810",
        suffix_exception: false,
        actions: &["getItem", "putItem", "updateItem", "deleteItem"],
        callback: false,
    },
    Service {
        resource: "sqs",
        env: "SQS",
        signing_name: "sqs",
        error_prefix: "SQS",
        v1_name: "AmazonSQS",
        content_type: "application/x-amz-json-1.0",
        target_prefix: "AmazonSQS",
        suffix_exception: true,
        actions: &["sendMessage"],
        callback: true,
    },
    Service {
        resource: "events",
        env: "EVENTBRIDGE",
        signing_name: "events",
        error_prefix: "EventBridge",
        v1_name: "AmazonEventBridge",
        content_type: "application/x-amz-json-1.1",
        target_prefix: "AWSEvents",
        suffix_exception: false,
        actions: &["putEvents"],
        callback: true,
    },
];

/// An AWS call a task row asks for.
#[derive(Debug, Clone, Copy)]
pub(super) struct AwsCall {
    pub service: &'static Service,
    pub action: &'static str,
    /// `.waitForTaskToken`: the API response is the submit output, the token's answer the result.
    pub callback: bool,
}

impl AwsCall {
    /// Every resource this runner calls (the runner claims them all by their `arn:aws:states:::` prefix).
    #[cfg(test)]
    pub(super) fn resources() -> Vec<String> {
        let mut out = Vec::new();
        for service in &SERVICES {
            for action in service.actions {
                out.push(format!("arn:aws:states:::{}:{action}", service.resource));
                if service.callback {
                    out.push(format!(
                        "arn:aws:states:::{}:{action}.waitForTaskToken",
                        service.resource
                    ));
                }
            }
        }
        out
    }

    pub(super) fn of(resource: &str) -> Option<AwsCall> {
        let rest = resource.strip_prefix("arn:aws:states:::")?;
        let (name, action) = rest.split_once(':')?;
        let (action, callback) = match action.strip_suffix(".waitForTaskToken") {
            Some(a) => (a, true),
            None => (action, false),
        };
        let service = SERVICES.iter().find(|s| s.resource == name)?;
        let action = service.actions.iter().find(|a| **a == action)?;
        (!callback || service.callback).then_some(AwsCall {
            service,
            action,
            callback,
        })
    }

    /// The API operation (`putItem` → `PutItem`).
    fn operation(&self) -> String {
        let mut chars = self.action.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }
}

/// What the operator gave as flags (or the AWS_* variables clap reads): `--aws-endpoint-url`,
/// `--aws-service-endpoint SERVICE=URL`, `--aws-region` and the credentials.
#[derive(Debug, Clone, Default)]
pub struct AwsFlags {
    pub aws_endpoint_url: Option<String>,
    pub aws_service_endpoints: Vec<String>,
    pub aws_region: Option<String>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_session_token: Option<String>,
}

/// Where AWS services are and who calls them (resolved once at start-up).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// `AWS_ENDPOINT_URL`: every service not configured on its own.
    endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_<SERVICE>` by service id (`DYNAMODB`).
    service_endpoints: HashMap<String, String>,
    region: String,
    credentials: Option<AwsCredentials>,
}

impl AwsSettings {
    /// From the flags (which clap also fills from `AWS_ENDPOINT_URL`, `AWS_REGION` and the credential
    /// variables), `env` for the per-service endpoints, `AWS_DEFAULT_REGION` and the shared files'
    /// variables, and the shared credentials and config files (`read`), in the AWS SDKs' order; `region`
    /// is the server's own when none names one.
    pub fn resolve(
        flags: &AwsFlags,
        region: &str,
        env: impl Fn(&str) -> Option<String>,
        read: impl Fn(&std::path::Path) -> Option<String>,
    ) -> Result<AwsSettings, String> {
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let mut service_endpoints = HashMap::new();
        for service in &SERVICES {
            if let Some(url) = nonempty(env(&format!("AWS_ENDPOINT_URL_{}", service.env))) {
                service_endpoints.insert(service.env.to_string(), url);
            }
        }
        for entry in &flags.aws_service_endpoints {
            let (service, url) = entry
                .split_once('=')
                .ok_or_else(|| format!("--aws-service-endpoint {entry:?}: expected SERVICE=URL"))?;
            let id = service.trim().to_ascii_uppercase().replace('-', "_");
            service_endpoints.insert(id, url.trim().to_string());
        }
        let credentials = match (
            nonempty(flags.aws_access_key_id.clone()),
            nonempty(flags.aws_secret_access_key.clone()),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(AwsCredentials {
                access_key_id,
                secret_access_key,
                session_token: nonempty(flags.aws_session_token.clone()),
            }),
            _ => None,
        };
        let shared = SharedFiles::read(&env, read);
        Ok(AwsSettings {
            endpoint: nonempty(flags.aws_endpoint_url.clone()),
            service_endpoints,
            region: nonempty(flags.aws_region.clone())
                .or_else(|| nonempty(env("AWS_DEFAULT_REGION")))
                .or_else(|| shared.value("region"))
                .unwrap_or_else(|| region.to_string()),
            credentials: credentials.or_else(|| shared.credentials()),
        })
    }

    fn endpoint(&self, service: &Service) -> Option<&str> {
        self.service_endpoints
            .get(service.env)
            .or(self.endpoint.as_ref())
            .map(String::as_str)
    }
}

/// The selected profile (`AWS_PROFILE`, else `default`) of the shared credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`) and of the config file (`AWS_CONFIG_FILE`,
/// else `~/.aws/config`, where it is `[profile NAME]` except for `[default]`).
struct SharedFiles {
    credentials: HashMap<String, String>,
    config: HashMap<String, String>,
}

impl SharedFiles {
    fn read(
        env: &impl Fn(&str) -> Option<String>,
        read: impl Fn(&std::path::Path) -> Option<String>,
    ) -> SharedFiles {
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
        let home = env("HOME").map(std::path::PathBuf::from);
        let path = |var: &str, name: &str| {
            env(var)
                .map(std::path::PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
        };
        let section = |file: Option<std::path::PathBuf>, header: &str| {
            file.and_then(|f| read(&f))
                .map(|text| ini_section(&text, header))
                .unwrap_or_default()
        };
        let config_header = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        SharedFiles {
            credentials: section(path("AWS_SHARED_CREDENTIALS_FILE", "credentials"), &profile),
            config: section(path("AWS_CONFIG_FILE", "config"), &config_header),
        }
    }

    fn value(&self, key: &str) -> Option<String> {
        self.credentials
            .get(key)
            .or_else(|| self.config.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    }

    fn credentials(&self) -> Option<AwsCredentials> {
        Some(AwsCredentials {
            access_key_id: self.value("aws_access_key_id")?,
            secret_access_key: self.value("aws_secret_access_key")?,
            session_token: self.value("aws_session_token"),
        })
    }
}

/// The `key = value` lines of `[header]` in an INI text (comments `#`/`;`; keys lower-cased).
fn ini_section(text: &str, header: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.split_whitespace().collect::<Vec<_>>().join(" ") == header;
            continue;
        }
        if let (true, Some((key, value))) = (inside, line.split_once('=')) {
            out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    out
}

fn failure(error: impl Into<String>, cause: impl Into<String>) -> TaskReport {
    TaskReport::Failure {
        error: Some(error.into()),
        cause: Some(cause.into()),
    }
}

/// The region of an ARN (`arn:aws:dynamodb:eu-west-1:…`) or of an AWS endpoint URL
/// (`https://sqs.eu-west-1.amazonaws.com/…`), if it names one.
fn region_in(text: &str) -> Option<&str> {
    if let Some(rest) = text.strip_prefix("arn:") {
        let region = rest.split(':').nth(2)?;
        return (!region.is_empty()).then_some(region);
    }
    let host = text.split("://").nth(1)?.split('/').next()?;
    let mut labels = host.split('.');
    let (_, region) = (labels.next()?, labels.next()?);
    host.ends_with(".amazonaws.com").then_some(region)
}

/// The request body: the parameters, with the members AWS's API takes as strings of JSON text
/// (`MessageBody`, an event's `Detail`) serialised when the definition gave a JSON value.
fn request_body(call: &AwsCall, parameters: &Value) -> Value {
    let mut body = parameters.clone();
    let stringify = |v: &mut Value| {
        if !v.is_string() && !v.is_null() {
            *v = Value::String(v.to_string());
        }
    };
    match (call.service.resource, &mut body) {
        ("sqs", Value::Object(m)) => {
            if let Some(v) = m.get_mut("MessageBody") {
                stringify(v)
            }
        }
        ("events", Value::Object(m)) => {
            if let Some(Value::Array(entries)) = m.get_mut("Entries") {
                for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(v) = entry.get_mut("Detail") {
                        stringify(v)
                    }
                }
            }
        }
        _ => {}
    }
    body
}

/// The region the call is signed for: the one an ARN or queue URL among the parameters names, else the
/// configured one.
fn call_region<'a>(parameters: &'a Value, configured: &'a str) -> &'a str {
    let named = ["TableName", "QueueUrl", "EventBusName"]
        .iter()
        .find_map(|k| {
            parameters
                .get(*k)
                .and_then(Value::as_str)
                .and_then(region_in)
        })
        .or_else(|| {
            parameters
                .get("Entries")
                .and_then(Value::as_array)
                .and_then(|entries| {
                    entries.iter().find_map(|e| {
                        e.get("EventBusName")
                            .and_then(Value::as_str)
                            .and_then(region_in)
                    })
                })
        });
    named.unwrap_or(configured)
}

impl Executor {
    /// Where AWS services are and the credentials to call them with (`app` calls this once).
    pub fn set_aws_settings(&self, settings: AwsSettings) {
        let _ = self.integrations.aws.set(std::sync::Arc::new(settings));
    }

    pub(super) async fn call_aws(&self, task: &ActivityTaskRecord, call: AwsCall) {
        let parameters: Value = serde_json::from_str(&task.input).unwrap_or(Value::Null);
        let report = self.aws_report(&parameters, call).await;
        self.report(task, report).await
    }

    async fn aws_report(&self, parameters: &Value, call: AwsCall) -> TaskReport {
        let service = call.service;
        let client_error = format!("{}.SdkClientException", service.error_prefix);
        let settings = self.integrations.aws.get().cloned().unwrap_or_default();
        let Some(endpoint) = settings.endpoint(service) else {
            return failure(
                client_error,
                format!(
                    "Unable to execute HTTP request: no endpoint is configured for {} (set AWS_ENDPOINT_URL_{} or \
                     AWS_ENDPOINT_URL, or start the server with --aws-service-endpoint {}=URL or \
                     --aws-endpoint-url URL, and allow its host with --http-allow)",
                    service.resource, service.env, service.resource
                ),
            );
        };
        let Some(credentials) = &settings.credentials else {
            return failure(
                client_error,
                format!(
                    "Unable to load AWS credentials to call {}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                     (and AWS_SESSION_TOKEN for temporary credentials) in the server's environment",
                    service.resource
                ),
            );
        };
        let uri_text = format!("{}/", endpoint.trim_end_matches('/'));
        let Ok(uri) = uri_text.parse::<Uri>() else {
            return failure(
                client_error,
                format!(
                    "Unable to execute HTTP request: the endpoint {endpoint} is not a valid URL"
                ),
            );
        };
        let Some(authority) = uri.authority().map(|a| a.as_str().to_string()) else {
            return failure(
                client_error,
                format!("Unable to execute HTTP request: the endpoint {endpoint} names no host"),
            );
        };
        let body = request_body(&call, parameters).to_string().into_bytes();
        let mut headers = vec![
            ("host".to_string(), authority),
            ("content-type".to_string(), service.content_type.to_string()),
            (
                "x-amz-target".to_string(),
                format!("{}.{}", service.target_prefix, call.operation()),
            ),
        ];
        // Signed with the wall clock, not the server's clock (which tests may move): AWS checks it.
        let signing = SigningRequest {
            method: "POST",
            path: uri.path(),
            query: uri.query().unwrap_or(""),
            headers: &headers,
            body: &body,
        };
        let region = call_region(parameters, &settings.region);
        let signed = sigv4::sign(
            &signing,
            credentials,
            region,
            service.signing_name,
            chrono::Utc::now(),
        );
        headers.extend(signed);
        let allow = self
            .integrations
            .http_settings
            .get()
            .cloned()
            .unwrap_or_default();
        let response = match self
            .integrations
            .http
            .send_allowed(&allow, Method::POST, uri, headers, body)
            .await
        {
            Ok(r) => r,
            Err(HttpFailure { error, cause }) if error == "States.Permissions" => {
                return failure(error, cause)
            }
            Err(f) if f.error == super::http::DATA_LIMIT => {
                let HttpFailure { error, cause } = f.naming(call.service.resource);
                return failure(error, cause);
            }
            Err(HttpFailure { cause, .. }) => {
                return failure(
                    client_error,
                    format!("Unable to execute HTTP request: {cause}"),
                )
            }
        };
        aws_outcome(&response, call)
    }
}

fn header<'a>(response: &'a Incoming, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The text of the first `<name>…</name>` of an XML error body.
fn xml_element(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + text[start..].find(&format!("</{name}>"))?;
    Some(text[start..end].to_string()).filter(|t| !t.is_empty())
}

/// What a JSON-protocol response means for the task.
fn aws_outcome(response: &Incoming, call: AwsCall) -> TaskReport {
    let service = call.service;
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    let request_id = header(response, "x-amzn-RequestId")
        .or_else(|| header(response, "x-amz-request-id"))
        .unwrap_or("00000000-0000-0000-0000-000000000000")
        .to_string();
    if !(200..300).contains(&response.status) {
        // `__type` is `namespace#Code` (or just `Code`); the header may add `:uri`.
        let code = parsed
            .as_ref()
            .and_then(|v| v.get("__type"))
            .and_then(Value::as_str)
            .or_else(|| header(response, "x-amzn-ErrorType"))
            .map(|t| {
                let t = t.rsplit('#').next().unwrap_or(t);
                t.split(':').next().unwrap_or(t).to_string()
            })
            .filter(|c| !c.is_empty())
            // Some emulators answer authentication errors in the query protocol's XML.
            .or_else(|| xml_element(&text, "Code"));
        let message = parsed
            .as_ref()
            .and_then(|v| v.get("message").or_else(|| v.get("Message")))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| xml_element(&text, "Message"))
            .unwrap_or(text);
        let (name, code) = match code {
            Some(code) if service.suffix_exception && !code.ends_with("Exception") => {
                (format!("{code}Exception"), code)
            }
            Some(code) => (code.clone(), code),
            // The SDK's base exception of the service (`DynamoDB.AmazonDynamoDBException`).
            None => (
                format!("Amazon{}Exception", service.error_prefix),
                format!("Amazon{}Exception", service.error_prefix),
            ),
        };
        return failure(
            format!("{}.{name}", service.error_prefix),
            format!(
                "{message} (Service: {}; Status Code: {}; Error Code: {code}; Request ID: {request_id}; Proxy: null)",
                service.v1_name, response.status
            ),
        );
    }
    let mut result = match parsed {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut all_headers = Map::new();
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        all_headers.insert(name.clone(), json!([value]));
        headers.insert(name.clone(), json!(value));
    }
    result.insert(
        "SdkHttpMetadata".into(),
        json!({"AllHttpHeaders": all_headers, "HttpHeaders": headers,
               "HttpStatusCode": response.status}),
    );
    result.insert(
        "SdkResponseMetadata".into(),
        json!({"RequestId": request_id}),
    );
    let output = Value::Object(result).to_string();
    if call.callback {
        TaskReport::Submitted { output }
    } else {
        TaskReport::Success { output }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    type IntegrationArgs = AwsFlags;

    fn response(status: u16, body: &str) -> Incoming {
        Incoming {
            status,
            reason: String::new(),
            headers: vec![("x-amzn-RequestId".into(), "r1".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn resources_map_to_calls() {
        let call = AwsCall::of("arn:aws:states:::dynamodb:putItem").unwrap();
        assert_eq!(call.operation(), "PutItem");
        assert!(!call.callback);
        assert!(AwsCall::of("arn:aws:states:::dynamodb:putItem.waitForTaskToken").is_none());
        assert!(
            AwsCall::of("arn:aws:states:::sqs:sendMessage.waitForTaskToken")
                .is_some_and(|c| c.callback)
        );
        assert!(AwsCall::of("arn:aws:states:::dynamodb:query").is_none());
        for resource in AwsCall::resources() {
            assert!(AwsCall::of(&resource).is_some(), "{resource}");
        }
    }

    #[test]
    fn endpoints_resolve_service_first() {
        let flags = IntegrationArgs {
            aws_endpoint_url: Some("http://all:4566".into()),
            aws_access_key_id: Some("AKID".into()),
            aws_secret_access_key: Some("secret".into()),
            ..IntegrationArgs::default()
        };
        let env = |name: &str| match name {
            "AWS_ENDPOINT_URL_DYNAMODB" => Some("http://ddb:8000".to_string()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".to_string()),
            _ => None,
        };
        let settings = AwsSettings::resolve(&flags, "us-east-1", env, |_| None).unwrap();
        assert_eq!(settings.endpoint(&SERVICES[0]), Some("http://ddb:8000"));
        assert_eq!(settings.endpoint(&SERVICES[1]), Some("http://all:4566"));
        assert_eq!(settings.region, "eu-west-1");
        assert!(settings.credentials.is_some());
        let flags = IntegrationArgs {
            aws_service_endpoints: vec!["sqs=http://mq:9324".into()],
            aws_region: Some("ap-south-1".into()),
            ..IntegrationArgs::default()
        };
        let settings = AwsSettings::resolve(&flags, "us-east-1", |_| None, |_| None).unwrap();
        assert_eq!(settings.endpoint(&SERVICES[1]), Some("http://mq:9324"));
        assert_eq!(settings.endpoint(&SERVICES[0]), None);
        assert_eq!(settings.region, "ap-south-1");
        assert!(settings.credentials.is_none());
        let bad = IntegrationArgs {
            aws_service_endpoints: vec!["sqs".into()],
            ..IntegrationArgs::default()
        };
        assert!(AwsSettings::resolve(&bad, "us-east-1", |_| None, |_| None).is_err());
    }

    #[test]
    fn shared_files_give_credentials_and_region_of_the_profile() {
        let files = |path: &std::path::Path| {
            match path.to_str()? {
            "/home/u/.aws/credentials" => Some(
                "[default]\naws_access_key_id = DEF\naws_secret_access_key = d\n\
                 [ci]\n# comment\naws_access_key_id = CI\naws_secret_access_key = c\naws_session_token = t\n"
                    .to_string(),
            ),
            "/home/u/.aws/config" => {
                Some("[default]\nregion = us-west-2\n[profile ci]\nregion = eu-north-1\n".to_string())
            }
            _ => None,
        }
        };
        let flags = IntegrationArgs::default();
        let env = |name: &str| match name {
            "HOME" => Some("/home/u".to_string()),
            "AWS_PROFILE" => Some("ci".to_string()),
            _ => None,
        };
        let settings = AwsSettings::resolve(&flags, "us-east-1", env, files).unwrap();
        let credentials = settings.credentials.unwrap();
        assert_eq!(credentials.access_key_id, "CI");
        assert_eq!(credentials.session_token.as_deref(), Some("t"));
        assert_eq!(settings.region, "eu-north-1");
        let home = |name: &str| (name == "HOME").then(|| "/home/u".to_string());
        let settings = AwsSettings::resolve(&flags, "us-east-1", home, files).unwrap();
        assert_eq!(settings.credentials.unwrap().access_key_id, "DEF");
        assert_eq!(settings.region, "us-west-2");
        // The environment's keys come first.
        let keyed = IntegrationArgs {
            aws_access_key_id: Some("ENV".into()),
            aws_secret_access_key: Some("e".into()),
            ..IntegrationArgs::default()
        };
        let settings = AwsSettings::resolve(&keyed, "us-east-1", home, files).unwrap();
        assert_eq!(settings.credentials.unwrap().access_key_id, "ENV");
    }

    #[test]
    fn regions_come_from_arns_and_queue_urls() {
        assert_eq!(
            call_region(
                &json!({"TableName": "arn:aws:dynamodb:eu-west-2:123456789012:table/T"}),
                "us-east-1"
            ),
            "eu-west-2"
        );
        assert_eq!(
            call_region(
                &json!({"QueueUrl": "https://sqs.ap-east-1.amazonaws.com/123456789012/q"}),
                "us-east-1"
            ),
            "ap-east-1"
        );
        assert_eq!(
            call_region(
                &json!({"QueueUrl": "http://127.0.0.1:5000/123456789012/q"}),
                "us-east-1"
            ),
            "us-east-1"
        );
    }

    #[test]
    fn errors_are_named_as_aws_names_them() {
        let dynamo = AwsCall::of("arn:aws:states:::dynamodb:putItem").unwrap();
        assert_eq!(
            aws_outcome(
                &response(
                    400,
                    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#
                ),
                dynamo
            ),
            failure(
                "DynamoDB.ConditionalCheckFailedException",
                "The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: r1; Proxy: null)"
            )
        );
        let sqs = AwsCall::of("arn:aws:states:::sqs:sendMessage").unwrap();
        assert!(matches!(
            aws_outcome(&response(400, r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no"}"#), sqs),
            TaskReport::Failure { error: Some(e), .. } if e == "SQS.QueueDoesNotExistException"));
        assert_eq!(
            aws_outcome(&response(403, "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error></Errors></ErrorResponse>"), dynamo),
            failure("DynamoDB.SignatureDoesNotMatch", "bad (Service: AmazonDynamoDBv2; Status Code: 403; Error Code: SignatureDoesNotMatch; Request ID: r1; Proxy: null)")
        );
        assert!(matches!(aws_outcome(&response(500, "oops"), dynamo),
            TaskReport::Failure { error: Some(e), .. } if e == "DynamoDB.AmazonDynamoDBException"));
        let TaskReport::Success { output } = aws_outcome(&response(200, r#"{"Item":{}}"#), dynamo)
        else {
            panic!("success")
        };
        let v: Value = serde_json::from_str(&output).unwrap();
        assert_eq!(v["Item"], json!({}));
        assert_eq!(v["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
        assert_eq!(v["SdkResponseMetadata"]["RequestId"], json!("r1"));
    }

    #[test]
    fn json_members_become_json_text() {
        let sqs = AwsCall::of("arn:aws:states:::sqs:sendMessage").unwrap();
        assert_eq!(
            request_body(&sqs, &json!({"QueueUrl": "u", "MessageBody": {"a": 1}})),
            json!({"QueueUrl": "u", "MessageBody": "{\"a\":1}"})
        );
        let events = AwsCall::of("arn:aws:states:::events:putEvents").unwrap();
        assert_eq!(
            request_body(
                &events,
                &json!({"Entries": [{"Detail": {"a": 1}, "Source": "s"}]})
            ),
            json!({"Entries": [{"Detail": "{\"a\":1}", "Source": "s"}]})
        );
    }
}
