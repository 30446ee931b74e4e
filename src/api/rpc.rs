//! The tower layer that measures every gRPC call and, when spans are exported, opens a server span for it
//! following the OpenTelemetry RPC conventions (`rpc.system`, `rpc.service`, `rpc.method`,
//! `rpc.grpc.status_code`), parented on the caller's W3C `traceparent`. Health checks and reflection are
//! neither traced nor counted: probes would drown the calls that matter.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::codegen::http::{self, HeaderMap};
use tonic::codegen::Service;
use tower_layer::Layer;

use crate::metrics::METRICS;

/// Calls that are not traced or counted.
const UNTRACED_PREFIXES: &[&str] = &["/grpc.health.", "/grpc.reflection."];

/// Spans and request metrics for the gRPC server's calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcLayer;

impl<S> Layer<S> for RpcLayer {
    type Service = RpcCalls<S>;

    fn layer(&self, inner: S) -> RpcCalls<S> {
        RpcCalls { inner }
    }
}

/// The service [`RpcLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct RpcCalls<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RpcCalls<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if UNTRACED_PREFIXES.iter().any(|p| path.starts_with(p)) {
            return Box::pin(self.inner.call(request));
        }
        let (service, method) = service_and_method(path);
        let span = crate::traces::enabled().then(|| {
            let parent = TraceContextPropagator::new().extract(&Headers(request.headers()));
            let tracer = crate::traces::tracer();
            let span = tracer
                .span_builder(format!("{service}/{method}"))
                .with_kind(SpanKind::Server)
                .with_attributes([
                    KeyValue::new("rpc.system", "grpc"),
                    KeyValue::new("rpc.service", service.clone()),
                    KeyValue::new("rpc.method", method.clone()),
                ])
                .start_with_context(&tracer, &parent);
            parent.with_span(span)
        });
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await;
            let code = match &result {
                Ok(response) => status_code(response.headers()),
                // The transport failed the call: UNKNOWN, as a client would see it.
                Err(_) => 2,
            };
            let attributes = [
                KeyValue::new("method", method),
                KeyValue::new("code", code_name(code)),
            ];
            METRICS.grpc_requests.add(1, &attributes);
            METRICS
                .grpc_request_duration
                .record(started.elapsed().as_secs_f64(), &attributes);
            if let Some(cx) = span {
                let span = cx.span();
                span.set_attribute(KeyValue::new("rpc.grpc.status_code", i64::from(code)));
                if server_error(code) {
                    span.set_status(Status::error(code_name(code)));
                }
                span.end();
            }
            result
        })
    }
}

/// `/pkg.Service/Method` → (`pkg.Service`, `Method`).
fn service_and_method(path: &str) -> (String, String) {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((service, method)) => (service.to_string(), method.to_string()),
        None => (String::new(), trimmed.to_string()),
    }
}

/// The call's status: `grpc-status` of a trailers-only response (how tonic answers an error), else OK.
fn status_code(headers: &HeaderMap) -> i32 {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The codes a server span marks as errors: the server's own failures, not the caller's mistakes.
fn server_error(code: i32) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

fn code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// The request headers as the propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            service_and_method("/stepfunctions.v1.StepFunctions/StartExecution"),
            (
                "stepfunctions.v1.StepFunctions".to_string(),
                "StartExecution".to_string()
            )
        );
    }

    #[test]
    fn a_trailers_only_status_is_read_and_its_absence_is_ok() {
        let mut headers = HeaderMap::new();
        assert_eq!(status_code(&headers), 0);
        headers.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(status_code(&headers), 5);
        assert_eq!(code_name(5), "NOT_FOUND");
        assert!(!server_error(5));
        assert!(server_error(13));
    }
}
