//! A local HTTP server for the integration tests: it records every request and answers by a handler.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};

use crate::common::TestServer;
use serde_json::Value;
use sfn::api::pb;
use sfn::api::pb::history_event::Details;

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the handler answers: status, headers, body; and how long to wait first.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: std::time::Duration,
}

impl Answer {
    pub fn json(status: u16, body: serde_json::Value) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: std::time::Duration::ZERO,
        }
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Answer + Send + Sync;

pub struct TestHttpServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestHttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestHttpServer {
    /// Serves on a free loopback port; the handler gets the request and how many came before it.
    pub async fn start(
        handler: impl Fn(&Recorded, usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        Self::serve(None, handler).await
    }

    /// [`TestHttpServer::start`] over TLS with this certificate (see [`TestCa`]).
    pub async fn start_https(
        tls: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Recorded, usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        Self::serve(Some(tokio_rustls::TlsAcceptor::from(tls)), handler).await
    }

    async fn serve(
        tls: Option<tokio_rustls::TlsAcceptor>,
        handler: impl Fn(&Recorded, usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let recorded = recorded.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let handler = handler.clone();
                        let recorded = recorded.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let request = Recorded {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_string(),
                                query: parts.uri.query().unwrap_or("").to_string(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(n, v)| {
                                        (n.to_string(), v.to_str().unwrap_or("").to_string())
                                    })
                                    .collect(),
                                body: String::from_utf8_lossy(&body).into_owned(),
                            };
                            let before = {
                                let mut all = recorded.lock().unwrap();
                                all.push(request.clone());
                                all.len() - 1
                            };
                            let answer = handler(&request, before);
                            tokio::time::sleep(answer.delay).await;
                            let mut response = Response::builder().status(answer.status);
                            for (n, v) in &answer.headers {
                                response = response.header(n, v);
                            }
                            Ok::<_, std::convert::Infallible>(
                                response.body(Full::new(Bytes::from(answer.body))).unwrap(),
                            )
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        // A client that refuses the certificate ends the handshake: nothing is served.
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                });
            }
        });
        TestHttpServer {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A CA made for a test, and server certificates for 127.0.0.1/localhost it signs.
pub struct TestCa {
    pub pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            pem,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A server's TLS settings with a certificate of this CA for 127.0.0.1 and localhost.
    pub fn server_tls(&self) -> Arc<rustls::ServerConfig> {
        use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyPair};
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
        Arc::new(config)
    }
}

// ---- gRPC helpers shared by the integration suites ----

pub const ROLE: &str = "arn:aws:iam::123456789012:role/test";

pub async fn create_machine(server: &mut TestServer, name: &str, definition: Value) -> String {
    server
        .client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: name.into(),
            definition: definition.to_string(),
            role_arn: ROLE.into(),
            ..Default::default()
        })
        .await
        .expect("create state machine")
        .into_inner()
        .state_machine_arn
}

pub async fn start(server: &mut TestServer, machine: &str, input: Value) -> String {
    server
        .client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: machine.into(),
            input: Some(input.to_string()),
            ..Default::default()
        })
        .await
        .expect("start execution")
        .into_inner()
        .execution_arn
}

pub async fn describe(server: &mut TestServer, execution: &str) -> pb::DescribeExecutionResponse {
    server
        .client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution.into(),
            included_data: 0,
        })
        .await
        .expect("describe execution")
        .into_inner()
}

pub fn status(d: &pb::DescribeExecutionResponse) -> &'static str {
    pb::execution_status::Value::try_from(d.status)
        .map(|s| s.as_str_name())
        .unwrap_or("?")
}

pub async fn wait_closed(
    server: &mut TestServer,
    execution: &str,
) -> pb::DescribeExecutionResponse {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = describe(server, execution).await;
        if status(&d) != "RUNNING" {
            return d;
        }
        if Instant::now() > deadline {
            let events = history(server, execution).await;
            panic!("{execution} never closed: {events:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn history(server: &mut TestServer, execution: &str) -> Vec<pb::HistoryEvent> {
    server
        .client
        .get_execution_history(pb::GetExecutionHistoryRequest {
            execution_arn: execution.into(),
            max_results: 1000,
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .events
}

pub fn type_name(e: &pb::HistoryEvent) -> String {
    pb::history_event_type::Value::try_from(e.r#type)
        .map(|t| t.as_str_name().to_string())
        .unwrap_or_default()
}

pub fn rows(events: &[pb::HistoryEvent]) -> Vec<(i32, i32, String)> {
    events
        .iter()
        .map(|e| (e.id, e.previous_event_id, type_name(e)))
        .collect()
}

pub fn rows_of(expected: &[(i32, i32, &str)]) -> Vec<(i32, i32, String)> {
    expected
        .iter()
        .map(|(id, prev, t)| (*id, *prev, t.to_string()))
        .collect()
}

pub async fn wait_for_type(server: &mut TestServer, execution: &str, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !history(server, execution)
        .await
        .iter()
        .any(|e| type_name(e) == wanted)
    {
        if Instant::now() > deadline {
            let events = history(server, execution).await;
            panic!("{execution} never recorded {wanted}: {events:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn executions_of(server: &mut TestServer, machine: &str) -> Vec<pb::ExecutionListItem> {
    server
        .client
        .list_executions(pb::ListExecutionsRequest {
            state_machine_arn: machine.into(),
            ..Default::default()
        })
        .await
        .expect("list executions")
        .into_inner()
        .executions
}

/// The error and cause of a failed execution (its ExecutionFailed event).
pub async fn failure(server: &mut TestServer, execution: &str) -> (Option<String>, Option<String>) {
    let events = history(server, execution).await;
    match &events.last().expect("events").details {
        Some(Details::ExecutionFailedEventDetails(f)) => (f.error.clone(), f.cause.clone()),
        other => panic!("not failed: {other:?}"),
    }
}

pub fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON text")
}
