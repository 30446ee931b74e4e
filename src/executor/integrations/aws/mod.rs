//! AWS services called by Task states, at the endpoint the operator configured the way the AWS SDKs read
//! it (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`), signed with SigV4 with the credentials of
//! the environment, a web identity or the shared files (`credentials`):
//!
//! * optimized integrations (`arn:aws:states:::dynamodb:putItem`, `sqs:sendMessage`, `events:putEvents`,
//!   `sns:publish`): results are the API's response with the SDK metadata Step Functions adds; API errors
//!   are `<Service>.<Exception>` with the SDK v1 cause, as AWS records them;
//! * AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`): one client driven by the
//!   services' models (`model`) speaks each protocol (`json`, `query`, `rest`); results are the output
//!   shape's members, errors `<Client>.<Code>Exception` named after the Java SDK v2 client (`sdk`).
//!
//! An endpoint is still a host the definition makes the server call: it must be on the HTTP Task's
//! allow-list (`--http-allow`). A service without an endpoint, or without credentials, fails its tasks
//! with `<Service>.SdkClientException` naming what to set, which `States.TaskFailed`/`States.ALL` catch.

mod credentials;
mod json;
mod model;
mod query;
mod rest;
mod sdk;
mod wire;
mod xml;
mod xml_body;

pub use credentials::{AwsFlags, AwsSettings};

use chrono::Utc;
use hyper::{Method, Uri};
use serde_json::{json, Map, Value};

use super::http::{HttpFailure, Incoming};
use super::sigv4::{self, AwsCredentials, SigningRequest};
use super::Executor;
use crate::store::{ActivityTaskRecord, TaskReport};
use credentials::{CredentialSource, WebIdentity, RENEW_BEFORE_EXPIRY};
use rest::WireRequest;
use sdk::SdkCall;

/// How an optimized integration's request is written.
#[derive(Debug)]
pub(super) enum Protocol {
    /// The JSON protocol, hand-shaped: the parameters are the body.
    Json {
        content_type: &'static str,
        target_prefix: &'static str,
    },
    /// Written and read by the model of this aws-sdk service (SNS's query protocol).
    Model(&'static str),
}

/// One optimized integration's service, and how it names itself on the wire and in errors.
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
    pub protocol: Protocol,
    /// Error codes without `Exception` (SQS's `QueueDoesNotExist`) get it, as SDK v1 exception names do.
    pub suffix_exception: bool,
    /// The actions supported, and whether `.waitForTaskToken` is.
    pub actions: &'static [&'static str],
    pub callback: bool,
}

pub(super) const SERVICES: [Service; 4] = [
    Service {
        resource: "dynamodb",
        env: "DYNAMODB",
        signing_name: "dynamodb",
        error_prefix: "DynamoDB",
        v1_name: "AmazonDynamoDBv2",
        protocol: Protocol::Json {
            content_type: "application/x-amz-json-1.0",
            target_prefix: "DynamoDB_20120810",
        },
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
        protocol: Protocol::Json {
            content_type: "application/x-amz-json-1.0",
            target_prefix: "AmazonSQS",
        },
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
        protocol: Protocol::Json {
            content_type: "application/x-amz-json-1.1",
            target_prefix: "AWSEvents",
        },
        suffix_exception: false,
        actions: &["putEvents"],
        callback: true,
    },
    Service {
        resource: "sns",
        env: "SNS",
        signing_name: "sns",
        error_prefix: "SNS",
        v1_name: "AmazonSNS",
        protocol: Protocol::Model("sns"),
        // SNS's codes (`NotFound`, `InvalidParameter`) are its v1 exceptions without the suffix.
        suffix_exception: true,
        actions: &["publish"],
        callback: true,
    },
];

/// An optimized integration's call.
#[derive(Debug, Clone, Copy)]
pub(super) struct OptimizedCall {
    pub service: &'static Service,
    pub action: &'static str,
    /// `.waitForTaskToken`: the API response is the submit output, the token's answer the result.
    pub callback: bool,
}

/// An AWS call a task row asks for.
#[derive(Debug, Clone)]
pub(super) enum AwsCall {
    Optimized(OptimizedCall),
    Sdk(SdkCall),
}

impl OptimizedCall {
    /// Every resource this runner calls as an optimized integration.
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

    fn of(resource: &str) -> Option<OptimizedCall> {
        let rest = resource.strip_prefix("arn:aws:states:::")?;
        let (name, action) = rest.split_once(':')?;
        let (action, callback) = match action.strip_suffix(".waitForTaskToken") {
            Some(a) => (a, true),
            None => (action, false),
        };
        let service = SERVICES.iter().find(|s| s.resource == name)?;
        let action = service.actions.iter().find(|a| **a == action)?;
        (!callback || service.callback).then_some(OptimizedCall {
            service,
            action,
            callback,
        })
    }

    /// The API operation (`putItem` → `PutItem`).
    fn operation(&self) -> String {
        model::pascal(self.action)
    }
}

impl AwsCall {
    pub(super) fn of(resource: &str) -> Option<AwsCall> {
        if let Some(call) = SdkCall::of(resource) {
            return Some(AwsCall::Sdk(call));
        }
        OptimizedCall::of(resource).map(AwsCall::Optimized)
    }
}

/// The `<ID>`s of `AWS_ENDPOINT_URL_<ID>` of every service this runner calls.
fn endpoint_variables() -> Vec<String> {
    let mut ids: Vec<String> = SERVICES.iter().map(|s| s.env.to_string()).collect();
    for service in model::services() {
        if let Some(m) = model::model(service) {
            ids.push(m.metadata.endpoint_variable.clone());
        }
    }
    ids.sort();
    ids.dedup();
    ids
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
    let region = if let Some(rest) = text.strip_prefix("arn:") {
        rest.split(':').nth(2)?
    } else {
        // Only a service URL: free text that merely mentions one must not choose the signing region.
        let host = text.strip_prefix("https://")?.split('/').next()?;
        let mut labels = host.split('.');
        let (_, region) = (labels.next()?, labels.next()?);
        if !host.ends_with(".amazonaws.com") {
            return None;
        }
        region
    };
    is_region(region).then_some(region)
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`: what a region name looks like, so that no other text
/// ends up in a request's credential scope.
fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// The members whose value names the resource a call acts on, and so its region: the only parameters a
/// region is read from.
const REGION_MEMBERS: [&str; 9] = [
    "QueueUrl",
    "TopicArn",
    "TargetArn",
    "StateMachineArn",
    "ExecutionArn",
    "FunctionName",
    "SecretId",
    "TableName",
    "ResourceArn",
];

/// The request body of an optimized JSON call: the parameters, with the members AWS's API takes as
/// strings of JSON text (`MessageBody`, an event's `Detail`) serialised when the definition gave a JSON
/// value.
fn request_body(call: &OptimizedCall, parameters: &Value) -> Value {
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

/// The region the call is signed for: the one an ARN or queue URL among the parameters (or an
/// EventBridge entry's bus) names, else the configured one.
fn call_region<'a>(parameters: &'a Value, configured: &'a str) -> &'a str {
    let top = REGION_MEMBERS.iter().find_map(|member| {
        parameters
            .get(*member)
            .and_then(Value::as_str)
            .and_then(region_in)
    });
    let named = top.or_else(|| {
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

/// What a call needs besides its request: the endpoint's id and the names in its errors.
struct Target<'a> {
    /// `<ID>` of `AWS_ENDPOINT_URL_<ID>`.
    endpoint_id: &'a str,
    /// The service as the definition names it (in messages).
    resource: &'a str,
    signing_name: &'a str,
    /// The prefix of client-side errors (`DynamoDB.SdkClientException`).
    error_prefix: &'a str,
}

impl Executor {
    /// Where AWS services are and the credentials to call them with (`app` calls this once).
    pub fn set_aws_settings(&self, settings: AwsSettings) {
        let _ = self.integrations.aws.set(std::sync::Arc::new(settings));
    }

    pub(super) async fn call_aws(&self, task: &ActivityTaskRecord, call: AwsCall) {
        let parameters: Value = serde_json::from_str(&task.input).unwrap_or(Value::Null);
        let report = match &call {
            AwsCall::Optimized(call) => self.optimized_report(&parameters, *call).await,
            AwsCall::Sdk(call) => self.sdk_report(&parameters, call).await,
        };
        self.report(task, report).await
    }

    async fn optimized_report(&self, parameters: &Value, call: OptimizedCall) -> TaskReport {
        let service = call.service;
        let target = Target {
            endpoint_id: service.env,
            resource: service.resource,
            signing_name: service.signing_name,
            error_prefix: service.error_prefix,
        };
        let request = match &service.protocol {
            Protocol::Json {
                content_type,
                target_prefix,
            } => WireRequest {
                method: "POST".into(),
                path: "/".into(),
                query: Vec::new(),
                headers: vec![
                    ("content-type".into(), content_type.to_string()),
                    (
                        "x-amz-target".into(),
                        format!("{target_prefix}.{}", call.operation()),
                    ),
                ],
                body: request_body(&call, parameters).to_string().into_bytes(),
            },
            Protocol::Model(name) => {
                let model = model::model(name).expect("the optimized integrations' models exist");
                let operation = call.operation();
                let built = model
                    .operations
                    .get(&operation)
                    .ok_or_else(|| format!("{operation} is not in the model"))
                    .and_then(|op| sdk::request(model, &operation, op, parameters));
                match built {
                    Ok(r) => r,
                    Err(e) => {
                        return failure(format!("{}.SdkClientException", service.error_prefix), e)
                    }
                }
            }
        };
        let response = match self.send_aws(&target, parameters, request).await {
            Ok(r) => r,
            Err(report) => return report,
        };
        optimized_outcome(&response, call)
    }

    async fn sdk_report(&self, parameters: &Value, call: &SdkCall) -> TaskReport {
        let (model, operation_name) = match &call.target {
            Ok(t) => *t,
            Err(cause) => return failure("States.TaskFailed", cause.clone()),
        };
        let operation = &model.operations[operation_name];
        let prefix = &model.metadata.error_prefix;
        let client_error = format!("{prefix}.SdkClientException");
        let request = match sdk::request(model, operation_name, operation, parameters) {
            Ok(r) => r,
            Err(e) => return failure(client_error, format!("Unable to marshall request: {e}")),
        };
        let target = Target {
            endpoint_id: &model.metadata.endpoint_variable,
            resource: &call.service,
            signing_name: &model.metadata.signing_name,
            error_prefix: prefix,
        };
        let response = match self.send_aws(&target, parameters, request).await {
            Ok(r) => r,
            Err(report) => return report,
        };
        if !(200..300).contains(&response.status) {
            let error = sdk::error(
                &model.metadata.protocol,
                response.status,
                &response.headers,
                &response.body,
            );
            let request_id = request_id(&response);
            let extended = header(&response, "x-amz-id-2")
                .map(|id| format!(", Extended Request ID: {id}"))
                .unwrap_or_default();
            return failure(
                sdk::error_name(prefix, &error.code),
                format!(
                    "{} (Service: {prefix}, Status Code: {}, Request ID: {request_id}{extended}) (SDK Attempt Count: 1)",
                    error.message, response.status
                ),
            );
        }
        match sdk::result(
            model,
            operation,
            response.status,
            &response.headers,
            &response.body,
        ) {
            Ok(result) => {
                let output = Value::Object(result).to_string();
                if call.callback {
                    TaskReport::Submitted { output }
                } else {
                    TaskReport::Success { output }
                }
            }
            Err(e) => failure(client_error, format!("Unable to unmarshall response: {e}")),
        }
    }

    /// Signs `request` for the service's endpoint and sends it there, if the allow-list lets it; the
    /// task's failure when it cannot be sent.
    async fn send_aws(
        &self,
        target: &Target<'_>,
        parameters: &Value,
        request: WireRequest,
    ) -> Result<Incoming, TaskReport> {
        let client_error = format!("{}.SdkClientException", target.error_prefix);
        let settings = self.integrations.aws.get().cloned().unwrap_or_default();
        let Some(endpoint) = settings.endpoint(target.endpoint_id) else {
            return Err(failure(
                client_error,
                format!(
                    "Unable to execute HTTP request: no endpoint is configured for {} (set AWS_ENDPOINT_URL_{} or \
                     AWS_ENDPOINT_URL, or start the server with --aws-service-endpoint {}=URL or \
                     --aws-endpoint-url URL, and allow its host with --http-allow)",
                    target.resource, target.endpoint_id, target.resource
                ),
            ));
        };
        let credentials = match self.aws_credentials(&settings, target).await {
            Ok(c) => c,
            Err(cause) => return Err(failure(client_error, cause)),
        };
        let region = call_region(parameters, &settings.region).to_string();
        self.send_signed(endpoint, target, Some((&credentials, &region)), request)
            .await
    }

    /// Sends `request` to `endpoint` (signed when `signing` is given) through the HTTP client, within the
    /// allow-list.
    async fn send_signed(
        &self,
        endpoint: &str,
        target: &Target<'_>,
        signing: Option<(&AwsCredentials, &str)>,
        request: WireRequest,
    ) -> Result<Incoming, TaskReport> {
        let client_error = format!("{}.SdkClientException", target.error_prefix);
        let base = endpoint.trim_end_matches('/');
        let query = request.query_string();
        let uri_text = if query.is_empty() {
            format!("{base}{}", request.path)
        } else {
            format!("{base}{}?{query}", request.path)
        };
        let Ok(uri) = uri_text.parse::<Uri>() else {
            return Err(failure(
                client_error,
                format!(
                    "Unable to execute HTTP request: the endpoint {endpoint} is not a valid URL"
                ),
            ));
        };
        let Some(authority) = uri.authority().map(|a| a.as_str().to_string()) else {
            return Err(failure(
                client_error,
                format!("Unable to execute HTTP request: the endpoint {endpoint} names no host"),
            ));
        };
        let Ok(method) = Method::from_bytes(request.method.as_bytes()) else {
            return Err(failure(
                client_error,
                format!("bad method {}", request.method),
            ));
        };
        let mut headers = vec![("host".to_string(), authority)];
        headers.extend(request.headers);
        if target.signing_name == "s3" {
            // S3 checks the payload hash it is told against the body.
            use sha2::Digest;
            let hash: String = sha2::Sha256::digest(&request.body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            headers.push(("x-amz-content-sha256".into(), hash));
        }
        if let Some((credentials, region)) = signing {
            // S3 signs the path as sent; every other service signs it URI-encoded once more.
            let path = uri.path().to_string();
            let signed_path = if target.signing_name == "s3" {
                path
            } else {
                wire::uri_encode(&path, true)
            };
            let signing = SigningRequest {
                method: method.as_str(),
                path: &signed_path,
                query: uri.query().unwrap_or(""),
                headers: &headers,
                body: &request.body,
            };
            // Signed with the wall clock, not the server's clock (which tests may move): AWS checks it.
            let signed = sigv4::sign(
                &signing,
                credentials,
                region,
                target.signing_name,
                Utc::now(),
            );
            headers.extend(signed);
        }
        let allow = self
            .integrations
            .http_settings
            .get()
            .cloned()
            .unwrap_or_default();
        match self
            .integrations
            .http
            .send_allowed(&allow, method, uri, headers, request.body)
            .await
        {
            Ok(r) => Ok(r),
            Err(HttpFailure { error, cause }) if error == "States.Permissions" => {
                Err(failure(error, cause))
            }
            Err(f) if f.error == super::http::DATA_LIMIT => {
                let HttpFailure { error, cause } = f.naming(target.resource);
                Err(failure(error, cause))
            }
            Err(HttpFailure { cause, .. }) => Err(failure(
                client_error,
                format!("Unable to execute HTTP request: {cause}"),
            )),
        }
    }

    /// The credentials of the call: the configured ones, or a web identity's temporary ones (from the
    /// cache while they are fresh); the cause naming what to configure when there are none.
    async fn aws_credentials(
        &self,
        settings: &AwsSettings,
        target: &Target<'_>,
    ) -> Result<AwsCredentials, String> {
        match &settings.credentials {
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::WebIdentity(identity) => {
                let mut cached = identity.cached.lock().await;
                if let Some((credentials, expires)) = cached.as_ref() {
                    if Utc::now() + RENEW_BEFORE_EXPIRY < *expires {
                        return Ok(credentials.clone());
                    }
                }
                let (credentials, expires) = self
                    .assume_role_with_web_identity(settings, identity)
                    .await
                    .map_err(|e| {
                        format!(
                            "Unable to load credentials from the web identity token {} for role {}: {e}",
                            identity.token_file.display(),
                            identity.role_arn
                        )
                    })?;
                *cached = Some((credentials.clone(), expires));
                Ok(credentials)
            }
            CredentialSource::None => Err(format!(
                "Unable to load AWS credentials to call {}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                 (and AWS_SESSION_TOKEN for temporary credentials), or AWS_WEB_IDENTITY_TOKEN_FILE and \
                 AWS_ROLE_ARN, in the server's environment, or a profile in the shared credentials file",
                target.resource
            )),
        }
    }

    /// STS AssumeRoleWithWebIdentity (unsigned: the token is the proof) at the STS endpoint.
    async fn assume_role_with_web_identity(
        &self,
        settings: &AwsSettings,
        identity: &WebIdentity,
    ) -> Result<(AwsCredentials, chrono::DateTime<Utc>), String> {
        let sts = model::model("sts").expect("the STS model is embedded");
        let token = std::fs::read_to_string(&identity.token_file)
            .map_err(|e| format!("cannot read the token file: {e}"))?;
        let target = Target {
            endpoint_id: &sts.metadata.endpoint_variable,
            resource: "sts",
            signing_name: &sts.metadata.signing_name,
            error_prefix: &sts.metadata.error_prefix,
        };
        let endpoint = settings.endpoint(target.endpoint_id).ok_or(
            "no STS endpoint is configured (set AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL)",
        )?;
        let name = "AssumeRoleWithWebIdentity";
        let operation = &sts.operations[name];
        let parameters = json!({"RoleArn": identity.role_arn, "RoleSessionName": identity.session_name,
            "WebIdentityToken": token.trim()});
        let request = sdk::request(sts, name, operation, &parameters)?;
        let response = self
            .send_signed(endpoint, &target, None, request)
            .await
            .map_err(|report| match report {
                TaskReport::Failure { cause, .. } => cause.unwrap_or_default(),
                _ => String::new(),
            })?;
        if !(200..300).contains(&response.status) {
            let e = sdk::error("query", response.status, &response.headers, &response.body);
            return Err(format!("STS answered {}: {}", e.code, e.message));
        }
        let result = sdk::result(
            sts,
            operation,
            response.status,
            &response.headers,
            &response.body,
        )?;
        let c = result
            .get("Credentials")
            .ok_or("STS returned no credentials")?;
        let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
        let credentials = AwsCredentials {
            access_key_id: text("AccessKeyId").ok_or("no AccessKeyId")?,
            secret_access_key: text("SecretAccessKey").ok_or("no SecretAccessKey")?,
            session_token: text("SessionToken"),
        };
        let expires = text("Expiration")
            .and_then(|e| wire::parse_timestamp(&e))
            .ok_or("no Expiration")?;
        Ok((credentials, expires))
    }
}

fn header<'a>(response: &'a Incoming, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn request_id(response: &Incoming) -> String {
    header(response, "x-amzn-RequestId")
        .or_else(|| header(response, "x-amz-request-id"))
        .map(str::to_string)
        .or_else(|| {
            xml::parse(&String::from_utf8_lossy(&response.body))
                .ok()
                .and_then(|d| d.find_text("RequestId").map(str::to_string))
        })
        .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".to_string())
}

/// What an optimized integration's response means for the task.
fn optimized_outcome(response: &Incoming, call: OptimizedCall) -> TaskReport {
    let service = call.service;
    let request_id = request_id(response);
    let protocol = match service.protocol {
        Protocol::Json { .. } => "json",
        Protocol::Model(name) => {
            model::model(name).map_or("json", |m| m.metadata.protocol.as_str())
        }
    };
    if !(200..300).contains(&response.status) {
        let text = String::from_utf8_lossy(&response.body);
        let parsed = sdk::error(protocol, response.status, &response.headers, &response.body);
        // A body without a code is the SDK's base exception of the service (`DynamoDB.AmazonDynamoDBException`).
        let recognised = serde_json::from_str::<Value>(&text)
            .ok()
            .is_some_and(|v| v.get("__type").is_some())
            || header(response, "x-amzn-ErrorType").is_some()
            || query::error(&text).is_some();
        let (name, code, message) = if !recognised {
            let base = format!("Amazon{}Exception", service.error_prefix);
            (base.clone(), base, text.into_owned())
        } else if service.suffix_exception && !parsed.code.ends_with("Exception") {
            (
                format!("{}Exception", parsed.code),
                parsed.code,
                parsed.message,
            )
        } else {
            (parsed.code.clone(), parsed.code, parsed.message)
        };
        return failure(
            format!("{}.{name}", service.error_prefix),
            format!(
                "{message} (Service: {}; Status Code: {}; Error Code: {code}; Request ID: {request_id}; Proxy: null)",
                service.v1_name, response.status
            ),
        );
    }
    // A success whose body cannot be read fails as the SDK fails it, rather than passing on an empty result.
    let unreadable = |e: String| {
        failure(
            format!("{}.SdkClientException", service.error_prefix),
            format!("Unable to unmarshall response: {e}"),
        )
    };
    let mut result = match service.protocol {
        Protocol::Json { .. } if response.body.is_empty() => Map::new(),
        Protocol::Json { .. } => match serde_json::from_slice(&response.body) {
            Ok(Value::Object(m)) => m,
            Ok(other) => return unreadable(format!("a JSON object was expected, not {other}")),
            Err(e) => return unreadable(e.to_string()),
        },
        Protocol::Model(name) => {
            let model = model::model(name).expect("the optimized integrations' models exist");
            let operation = &model.operations[&call.operation()];
            match sdk::result(
                model,
                operation,
                response.status,
                &response.headers,
                &response.body,
            ) {
                Ok(result) => result,
                Err(e) => return unreadable(e),
            }
        }
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

    fn response(status: u16, body: &str) -> Incoming {
        Incoming {
            status,
            reason: String::new(),
            headers: vec![("x-amzn-RequestId".into(), "r1".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn optimized(resource: &str) -> OptimizedCall {
        match AwsCall::of(resource) {
            Some(AwsCall::Optimized(call)) => call,
            other => panic!("{resource}: {other:?}"),
        }
    }

    #[test]
    fn resources_map_to_calls() {
        let call = optimized("arn:aws:states:::dynamodb:putItem");
        assert_eq!(call.operation(), "PutItem");
        assert!(!call.callback);
        assert!(AwsCall::of("arn:aws:states:::dynamodb:putItem.waitForTaskToken").is_none());
        assert!(optimized("arn:aws:states:::sqs:sendMessage.waitForTaskToken").callback);
        assert!(optimized("arn:aws:states:::sns:publish.waitForTaskToken").callback);
        assert!(AwsCall::of("arn:aws:states:::dynamodb:query").is_none());
        for resource in OptimizedCall::resources() {
            assert!(AwsCall::of(&resource).is_some(), "{resource}");
        }
        assert!(matches!(
            AwsCall::of("arn:aws:states:::aws-sdk:dynamodb:query"),
            Some(AwsCall::Sdk(SdkCall { target: Ok(_), .. }))
        ));
    }

    #[test]
    fn every_service_has_an_endpoint_variable() {
        let ids = endpoint_variables();
        for id in [
            "S3",
            "DYNAMODB",
            "SQS",
            "SNS",
            "EVENTBRIDGE",
            "SFN",
            "LAMBDA",
            "SECRETS_MANAGER",
            "SSM",
            "STS",
        ] {
            assert!(ids.contains(&id.to_string()), "{id}: {ids:?}");
        }
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
                &json!({"Message": "m", "TopicArn": "arn:aws:sns:eu-central-1:123456789012:t"}),
                "us-east-1"
            ),
            "eu-central-1"
        );
        assert_eq!(
            call_region(
                &json!({"QueueUrl": "http://127.0.0.1:5000/123456789012/q"}),
                "us-east-1"
            ),
            "us-east-1"
        );
        // Free text that mentions a URL or an ARN, and ARNs without a region name, choose nothing.
        for parameters in [
            json!({"Message": "see https://bkt.s3.amazonaws.com/x", "Subject": "arn:aws:sns:eu-west-1:1:t"}),
            json!({"TopicArn": "arn:aws:sns:not a region:1:t"}),
            json!({"QueueUrl": "https://s3.amazonaws.com/q"}),
        ] {
            assert_eq!(
                call_region(&parameters, "us-east-1"),
                "us-east-1",
                "{parameters}"
            );
        }
        assert!(is_region("us-gov-west-1") && is_region("eu-central-2"));
        assert!(!is_region("s3") && !is_region("amazonaws") && !is_region("us-east-x"));
    }

    #[test]
    fn a_success_that_cannot_be_read_fails_the_task() {
        let dynamo = optimized("arn:aws:states:::dynamodb:putItem");
        let TaskReport::Failure { error, cause } =
            optimized_outcome(&response(200, "<html>proxy</html>"), dynamo)
        else {
            panic!("an unreadable success must fail");
        };
        assert_eq!(error.as_deref(), Some("DynamoDB.SdkClientException"));
        let cause = cause.unwrap_or_default();
        assert!(
            cause.starts_with("Unable to unmarshall response"),
            "{cause}"
        );
        let dynamo = optimized("arn:aws:states:::dynamodb:deleteItem");
        assert!(matches!(
            optimized_outcome(&response(200, ""), dynamo),
            TaskReport::Success { .. }
        ));
    }

    #[test]
    fn errors_are_named_as_aws_names_them() {
        let dynamo = optimized("arn:aws:states:::dynamodb:putItem");
        assert_eq!(
            optimized_outcome(
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
        let sqs = optimized("arn:aws:states:::sqs:sendMessage");
        assert!(matches!(
            optimized_outcome(&response(400, r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no"}"#), sqs),
            TaskReport::Failure { error: Some(e), .. } if e == "SQS.QueueDoesNotExistException"));
        assert_eq!(
            optimized_outcome(&response(403, "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error></Errors></ErrorResponse>"), dynamo),
            failure("DynamoDB.SignatureDoesNotMatch", "bad (Service: AmazonDynamoDBv2; Status Code: 403; Error Code: SignatureDoesNotMatch; Request ID: r1; Proxy: null)")
        );
        assert!(matches!(optimized_outcome(&response(500, "oops"), dynamo),
            TaskReport::Failure { error: Some(e), .. } if e == "DynamoDB.AmazonDynamoDBException"));
        let TaskReport::Success { output } =
            optimized_outcome(&response(200, r#"{"Item":{}}"#), dynamo)
        else {
            panic!("success")
        };
        let v: Value = serde_json::from_str(&output).unwrap();
        assert_eq!(v["Item"], json!({}));
        assert_eq!(v["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
        assert_eq!(v["SdkResponseMetadata"]["RequestId"], json!("r1"));
    }

    #[test]
    fn sns_publish_reads_the_query_protocol() {
        let sns = optimized("arn:aws:states:::sns:publish.waitForTaskToken");
        let TaskReport::Submitted { output } = optimized_outcome(
            &response(
                200,
                "<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>",
            ),
            sns,
        ) else {
            panic!("submitted")
        };
        let v: Value = serde_json::from_str(&output).unwrap();
        assert_eq!(v["MessageId"], json!("m-1"));
        assert_eq!(v["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
        assert_eq!(
            optimized_outcome(
                &response(404, "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>"),
                sns
            ),
            failure("SNS.NotFoundException", "Topic does not exist (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request ID: r1; Proxy: null)")
        );
    }

    #[test]
    fn json_members_become_json_text() {
        let sqs = optimized("arn:aws:states:::sqs:sendMessage");
        assert_eq!(
            request_body(&sqs, &json!({"QueueUrl": "u", "MessageBody": {"a": 1}})),
            json!({"QueueUrl": "u", "MessageBody": "{\"a\":1}"})
        );
        let events = optimized("arn:aws:states:::events:putEvents");
        assert_eq!(
            request_body(
                &events,
                &json!({"Entries": [{"Detail": {"a": 1}, "Source": "s"}]})
            ),
            json!({"Entries": [{"Detail": "{\"a\":1}", "Source": "s"}]})
        );
    }
}
