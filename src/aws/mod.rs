//! The AWS JSON 1.0 door (`--aws-listen`): the protocol boto3, the AWS CLI and every AWS SDK speak to
//! Step Functions, beside the gRPC API and onto the same [`Service`]. HTTP/1.1 `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Operation>`; errors as AWS sends them (`__type`, `message`,
//! `x-amzn-ErrorType`); SigV4 verified against the auth file's access keys when there is one.
//! `GET /health` answers 200 while the API serves, 503 otherwise (for HTTP probes).

pub mod operations;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry::KeyValue;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::auth::sigv4::{self, SignedRequest};
use crate::auth::{self, Principals};
use crate::error::{ApiError, ErrorKind};
use crate::metrics::METRICS;
use crate::operations::Service;

pub use operations::{OPERATIONS, TARGET_PREFIX};

/// The content type of AWS JSON 1.0 bodies.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The largest body the door reads: the gRPC door's limit (a 1,048,576-character definition may take
/// 4 MiB in UTF-8).
const MAX_BODY_BYTES: usize = crate::api::MAX_REQUEST_BYTES;

/// What the door needs to answer a call.
pub struct AwsDoor {
    service: Arc<Service>,
    /// `None` without `--auth-file`: every call is let through, whatever it is signed with.
    principals: Option<Arc<Principals>>,
    /// Whether the API serves (database reachable, not shutting down), for `GET /health`.
    serving: Arc<AtomicBool>,
}

impl AwsDoor {
    pub fn new(
        service: Arc<Service>,
        principals: Option<Arc<Principals>>,
        serving: Arc<AtomicBool>,
    ) -> Self {
        AwsDoor {
            service,
            principals,
            serving,
        }
    }
}

/// Serves the door on `listener` until `shutdown` turns true; then stops accepting, lets in-flight calls
/// finish (long polls end as the service shuts down) and closes idle keep-alive connections.
pub async fn serve(listener: TcpListener, door: Arc<AwsDoor>, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(addr = ?listener.local_addr().ok(), "AWS JSON protocol serving");
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        // Reap finished connections so the set does not grow with every client.
        while connections.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "AWS connection failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let door = door.clone();
        let mut stop = shutdown.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let door = door.clone();
                async move {
                    // On its own task, so that a bug that panics is the caller's InternalFailure (500)
                    // instead of a dropped connection; aborted when the caller goes away (hyper drops
                    // this future), so a worker that hung up takes no activity task.
                    let call = tokio::spawn(async move { answer(&door, request).await });
                    let _abort = AbortOnDrop(call.abort_handle());
                    let answered = call.await;
                    Ok::<_, Infallible>(answered.unwrap_or_else(|e| {
                        let request_id = uuid::Uuid::new_v4().to_string();
                        error_reply(&request_id, &ApiError::internal(e))
                    }))
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = async { let _ = stop.wait_for(|stopped| *stopped).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "AWS connection ended");
            }
        });
    }
    while connections.join_next().await.is_some() {}
    tracing::info!("AWS JSON protocol server stopped");
}

/// Aborts a call's task when the connection that waits for it is dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn answer(door: &AwsDoor, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    if request.method() == Method::GET {
        return health(door, &request_id, request.uri().path());
    }
    let started = Instant::now();
    let operation = operations::operation_of(
        request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok()),
    );
    let label = operation.unwrap_or("unknown");
    let span = tracing::info_span!("aws", operation = label, request_id = %request_id);
    let result = tracing::Instrument::instrument(call(door, operation, request), span).await;
    let outcome = match &result {
        Ok(_) => "OK",
        Err(e) => e.kind.aws_name(),
    };
    let attributes = [
        KeyValue::new("operation", label),
        KeyValue::new("outcome", outcome),
    ];
    METRICS.aws_requests.add(1, &attributes);
    METRICS
        .aws_request_duration
        .record(started.elapsed().as_secs_f64(), &attributes);
    match result {
        Ok(body) => reply(StatusCode::OK, &request_id, None, body),
        Err(error) => error_reply(&request_id, &error),
    }
}

/// Authenticates, reads and dispatches one call.
async fn call(
    door: &AwsDoor,
    operation: Option<&'static str>,
    request: Request<Incoming>,
) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = request.into_parts();
    if parts.method != Method::POST {
        return Err(operations::unknown_operation());
    }
    let body = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorKind::ValidationException,
                format!("Request body could not be read: {e}"),
            )
        })?
        .to_bytes();
    // Who is calling before what they call: nothing about the API is told to unauthenticated callers.
    let caller = match &door.principals {
        Some(principals) => Some(sigv4::verify(
            principals,
            &SignedRequest {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                headers: &parts.headers,
                body: &body,
            },
            chrono::Utc::now(),
        )?),
        None => None,
    };
    let operation = operation.ok_or_else(operations::unknown_operation)?;
    if let Some(caller) = &caller {
        auth::authorize(caller, operation)?;
    }
    let body = operations::body_object(&body)?;
    operations::dispatch(&door.service, operation, body, &parts.headers).await
}

fn health(door: &AwsDoor, request_id: &str, path: &str) -> Response<Full<Bytes>> {
    if path != "/health" {
        return error_reply(request_id, &operations::unknown_operation());
    }
    let (status, text) = if door.serving.load(Ordering::Relaxed) {
        (StatusCode::OK, "SERVING")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING")
    };
    reply(
        status,
        request_id,
        None,
        serde_json::json!({ "status": text })
            .to_string()
            .into_bytes(),
    )
}

/// AWS's error answer: the status of the error kind, `{"__type": ..., "message": ...}` (no message when
/// there is none) and the `x-amzn-ErrorType` header the Rust SDK reads first.
fn error_reply(request_id: &str, error: &ApiError) -> Response<Full<Bytes>> {
    let code = error.kind.aws_name();
    let mut body = serde_json::Map::new();
    body.insert("__type".into(), code.into());
    if !error.message.is_empty() {
        body.insert("message".into(), error.message.clone().into());
    }
    let status = StatusCode::from_u16(error.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    reply(
        status,
        request_id,
        Some(code),
        serde_json::Value::Object(body).to_string().into_bytes(),
    )
}

fn reply(
    status: StatusCode,
    request_id: &str,
    error_type: Option<&str>,
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers: &mut HeaderMap = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    set("x-amzn-requestid", request_id);
    set("content-type", CONTENT_TYPE);
    // SDKs correct their clock skew from it.
    set(
        "date",
        &chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    );
    if let Some(code) = error_type {
        set("x-amzn-errortype", code);
    }
    response
}
