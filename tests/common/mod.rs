//! Test harness: a real `sfn serve` in-process on a fresh Postgres database per test.
//!
//! The admin connection comes from `SFN_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each server gets its own database `sfn_test_<uuid>`,
//! dropped when the `TestServer` is dropped.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::net::SocketAddr;
use std::time::Duration;

use sfn::api::pb::step_functions_client::StepFunctionsClient;
use sfn::config::ServeArgs;
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long a test waits for its server to become healthy.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: StepFunctionsClient<Channel>,
    /// The client's channel, for other services (health, reflection).
    pub channel: Channel,
    pub database_url: String,
    /// The settings the server was started with.
    pub args: ServeArgs,
    admin_url: String,
    database_name: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), sfn::app::AppError>>>,
}

impl TestServer {
    /// A server with test settings: listens on 127.0.0.1:0, 1 s activity poll timeout, small pool.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Like [`TestServer::start`], letting the test adjust the settings first.
    pub async fn start_with(tweak: impl FnOnce(&mut ServeArgs)) -> TestServer {
        init_tracing();
        let admin_url = std::env::var("SFN_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string());
        let database_name = format!("sfn_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("cannot connect to Postgres at {admin_url} (set SFN_TEST_DATABASE_URL): {e}")
        });
        admin
            .execute(format!("CREATE DATABASE {database_name}").as_str())
            .await
            .expect("create test database");
        admin.close().await.ok();
        let database_url = with_database(&admin_url, &database_name);

        let mut args = ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: Some(database_url.clone()),
            max_db_connections: 5,
            activity_poll_timeout: Duration::from_secs(1),
            lease_duration: Duration::from_secs(5),
            executors: 2,
            ..ServeArgs::default()
        };
        tweak(&mut args);

        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .expect("bind test listener");
        let addr = listener.local_addr().expect("listener address");
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let mut server = tokio::spawn(sfn::app::serve(args.clone(), listener, async {
            let _ = shutdown_rx.await;
        }));

        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect_lazy();
        let ready = async {
            let mut health = HealthClient::new(channel.clone());
            loop {
                let check = health.check(HealthCheckRequest {
                    service: String::new(),
                });
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(2), check).await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            _ = tokio::time::timeout(STARTUP_TIMEOUT, ready) => {}
            result = &mut server => panic!("test server stopped during startup: {result:?}"),
        }

        TestServer {
            addr,
            client: StepFunctionsClient::new(channel.clone()),
            channel,
            database_url,
            args,
            admin_url,
            database_name,
            shutdown: Some(shutdown_tx),
            server: Some(server),
        }
    }

    /// `host:port` of the server, as grpcurl wants it.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Shuts the server down gracefully and returns what `serve` returned.
    pub async fn stop(mut self) -> Result<(), sfn::app::AppError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await.expect("server task panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            handle.abort();
        }
        // Drop is sync and may run on the test's runtime thread: use a private runtime on another thread.
        let admin_url = self.admin_url.clone();
        let name = self.database_name.clone();
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        });
        if !matches!(dropper.join(), Ok(Some(()))) {
            eprintln!("note: could not drop test database {}", self.database_name);
        }
    }
}

/// `admin_url` with its database name replaced by `database`.
pub fn with_database(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
