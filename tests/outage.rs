//! A database outage as a client sees it: the server's health turns NOT_SERVING within seconds (checked in
//! the background), calls fail fast as UNAVAILABLE with AWS's `ServiceUnavailable` instead of hanging, and
//! everything recovers by itself when the database answers again, the running execution included. The
//! outage is made by a TCP proxy between the server and Postgres that the test cuts and restores.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Backend, TestServer};
use sfn::api::pb;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// Forwards connections to Postgres while up; when cut, drops every open connection and refuses new ones.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let up = up.clone();
            let connections = connections.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue; // dropped: the connection is refused
                    }
                    let forward = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    connections.lock().unwrap().push(forward);
                }
            }
        });
        Proxy {
            addr,
            up,
            connections,
            accept,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn health(server: &TestServer, service: &str) -> Option<ServingStatus> {
    let mut client = HealthClient::new(server.channel.clone());
    let check = client.check(HealthCheckRequest {
        service: service.to_string(),
    });
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(response)) => Some(response.into_inner().status()),
        _ => None,
    }
}

async fn wait_for_health(server: &TestServer, wanted: ServingStatus, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let overall = health(server, "").await;
        let api = health(server, "stepfunctions.v1.StepFunctions").await;
        if overall == Some(wanted) && api == Some(wanted) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "health stayed {overall:?}/{api:?}, expected {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_calls_follow_a_database_outage() {
    // The harness creates the database; the server reaches it through the proxy.
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let proxy_port = proxy.addr.port();
    let mut server = TestServer::start_on(Backend::Postgres, move |args| {
        let url = args.database_url.clone().expect("a database URL");
        args.database_url = Some(url.replacen(":5432/", &format!(":{proxy_port}/"), 1));
    })
    .await;
    wait_for_health(&server, ServingStatus::Serving, Duration::from_secs(5)).await;

    let machine = server
        .client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "through-an-outage".into(),
            definition: r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":2,"End":true}}}"#
                .into(),
            role_arn: "arn:aws:iam::123456789012:role/test".into(),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner()
        .state_machine_arn;
    let execution = server
        .client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: machine,
            ..Default::default()
        })
        .await
        .expect("start")
        .into_inner()
        .execution_arn;

    proxy.cut();
    let noticed =
        wait_for_health(&server, ServingStatus::NotServing, Duration::from_secs(10)).await;
    eprintln!("outage noticed after {noticed:?}");

    let called = Instant::now();
    let refused = server
        .client
        .list_state_machines(pb::ListStateMachinesRequest::default())
        .await
        .expect_err("no database, no answer");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().starts_with("ServiceUnavailable"),
        "{}",
        refused.message()
    );
    assert!(
        called.elapsed() < Duration::from_secs(8),
        "the call failed only after {:?}",
        called.elapsed()
    );

    proxy.restore();
    wait_for_health(&server, ServingStatus::Serving, Duration::from_secs(15)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let described = server
            .client
            .describe_execution(pb::DescribeExecutionRequest {
                execution_arn: execution.clone(),
                included_data: 0,
            })
            .await;
        if let Ok(d) = described {
            if d.get_ref().status() == pb::execution_status::Value::Succeeded {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the execution did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
