//! Test harness: a real `sfn serve` in-process on a fresh database per test, on either backend.
//!
//! Postgres: the admin connection comes from `SFN_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each server gets its own database `sfn_test_<uuid>`,
//! dropped when the `TestServer` is dropped. SQLite: a file in a temporary folder, removed on drop.
//! Every suite runs its scenarios on both backends the same way: write each scenario as
//! `async fn name(backend: Backend)` and list it in [`on_both_backends!`], which makes a `postgres::name`
//! and a `sqlite::name` test of it.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod tools;

use std::net::SocketAddr;
use std::time::Duration;

use sfn::api::pb::step_functions_client::StepFunctionsClient;
use sfn::clock::SharedClock;
use sfn::config::ServeArgs;
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

pub mod store_facts;

/// Runs each scenario `async fn name(backend: Backend)` of the calling module as a `postgres::name` and a
/// `sqlite::name` test (multi-threaded runtime, so a test server and its client run in parallel).
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::common::Backend::Postgres).await
                }
            )+
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::common::Backend::Sqlite).await
                }
            )+
        }
    };
}

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long a test waits for its server to become healthy.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Which storage backend a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A test's database; dropping it removes the database.
pub enum TestDatabase {
    Postgres { admin_url: String, name: String },
    Sqlite { _folder: tempfile::TempDir },
}

impl TestDatabase {
    /// Creates a fresh database and returns it with its URL.
    pub async fn create(backend: Backend) -> (TestDatabase, String) {
        match backend {
            Backend::Postgres => {
                let admin_url = std::env::var("SFN_TEST_DATABASE_URL")
                    .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string());
                let name = format!("sfn_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "cannot connect to Postgres at {admin_url} (set SFN_TEST_DATABASE_URL): {e}"
                    )
                });
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = with_database(&admin_url, &name);
                (TestDatabase::Postgres { admin_url, name }, url)
            }
            Backend::Sqlite => {
                let folder = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}", folder.path().join("sfn.db").display());
                (TestDatabase::Sqlite { _folder: folder }, url)
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let TestDatabase::Postgres { admin_url, name } = self else {
            return;
        };
        // Drop is sync and may run on the test's runtime thread: use a private runtime on another thread.
        let admin_url = admin_url.clone();
        let name = name.clone();
        let database = name.clone();
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
            eprintln!("note: could not drop test database {database}");
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: StepFunctionsClient<Channel>,
    /// The client's channel, for other services (health, reflection).
    pub channel: Channel,
    pub database_url: String,
    /// The settings the server was started with.
    pub args: ServeArgs,
    pub backend: Backend,
    /// Where the server takes its time from.
    pub clock: SharedClock,
    /// The Prometheus endpoint (`GET /metrics`).
    pub metrics_addr: Option<SocketAddr>,
    /// The AWS JSON protocol listener (`None` when the test turned it off).
    pub aws_addr: Option<SocketAddr>,
    database: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), sfn::app::AppError>>>,
}

impl TestServer {
    /// A server with test settings (listens on 127.0.0.1:0, 1 s activity poll timeout, small pool) on the
    /// given backend, after `tweak` adjusted the settings.
    pub async fn start_on(backend: Backend, tweak: impl FnOnce(&mut ServeArgs)) -> TestServer {
        TestServer::start_timed(backend, sfn::clock::system(), tweak).await
    }

    /// Like [`TestServer::start_on`], with every timestamp of the server taken from `clock` (a
    /// `ManualClock` lets a test move time instead of sleeping).
    pub async fn start_timed(
        backend: Backend,
        clock: SharedClock,
        tweak: impl FnOnce(&mut ServeArgs),
    ) -> TestServer {
        init_tracing();
        let (database, database_url) = TestDatabase::create(backend).await;
        let mut args = test_args(&database_url);
        tweak(&mut args);
        TestServer::launch(args, backend, Some(database), database_url, clock).await
    }

    /// Like [`TestServer::start_on`], with the client's channel made by `endpoint` from the server's
    /// address (TLS, client certificates). Health is checked through it, so it must be able to connect.
    pub async fn start_with_endpoint(
        backend: Backend,
        tweak: impl FnOnce(&mut ServeArgs),
        endpoint: impl FnOnce(SocketAddr) -> Endpoint,
    ) -> TestServer {
        init_tracing();
        let (database, database_url) = TestDatabase::create(backend).await;
        let mut args = test_args(&database_url);
        tweak(&mut args);
        TestServer::launch_with(
            args,
            backend,
            Some(database),
            database_url,
            sfn::clock::system(),
            endpoint,
        )
        .await
    }

    /// Stops this server gracefully and starts a new one (new port) on the same database.
    pub async fn restart(mut self) -> TestServer {
        let database = self.database.take();
        let (args, backend, url) = (self.args.clone(), self.backend, self.database_url.clone());
        let clock = self.clock.clone();
        self.stop().await.expect("server stops cleanly");
        let args = ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..args
        };
        TestServer::launch(args, backend, database, url, clock).await
    }

    async fn launch(
        args: ServeArgs,
        backend: Backend,
        database: Option<TestDatabase>,
        database_url: String,
        clock: SharedClock,
    ) -> TestServer {
        let plaintext = |addr| Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
        TestServer::launch_with(args, backend, database, database_url, clock, plaintext).await
    }

    async fn launch_with(
        args: ServeArgs,
        backend: Backend,
        database: Option<TestDatabase>,
        database_url: String,
        clock: SharedClock,
        endpoint: impl FnOnce(SocketAddr) -> Endpoint,
    ) -> TestServer {
        // Port 0 for all: the test asks the listeners where they are.
        let any_port = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        let listeners = sfn::app::Listeners::bind(&ServeArgs {
            metrics_listen: any_port,
            aws_listen: args.aws_listen.and(any_port),
            ..args.clone()
        })
        .await
        .expect("bind test listeners");
        let addr = listeners.grpc.local_addr().expect("listener address");
        let metrics_addr = listeners.metrics.as_ref().and_then(|l| l.local_addr().ok());
        let aws_addr = listeners.aws.as_ref().and_then(|l| l.local_addr().ok());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = shutdown_rx.await;
        };
        let mut server = tokio::spawn(sfn::app::serve_with_clock(
            args.clone(),
            listeners,
            shutdown,
            clock.clone(),
        ));

        let channel = endpoint(addr).connect_lazy();
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
            backend,
            clock,
            metrics_addr,
            aws_addr,
            database,
            shutdown: Some(shutdown_tx),
            server: Some(server),
        }
    }

    /// Edits one execution's row behind the server's back (what an upgrade or a hand edit would have left):
    /// `UPDATE executions SET <set> WHERE arn = <execution_arn>`, on either backend.
    pub async fn update_execution_row(&self, set: &str, execution_arn: &str) {
        let sql = format!("UPDATE executions SET {set} WHERE arn = $1");
        let done = match self.backend {
            Backend::Postgres => {
                let mut db = PgConnection::connect(&self.database_url).await.unwrap();
                sqlx::query(&sql)
                    .bind(execution_arn)
                    .execute(&mut db)
                    .await
                    .map(|done| done.rows_affected())
            }
            Backend::Sqlite => {
                let mut db = sqlx::SqliteConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::query(&sql)
                    .bind(execution_arn)
                    .execute(&mut db)
                    .await
                    .map(|done| done.rows_affected())
            }
        };
        assert_eq!(done.expect("update the execution row"), 1);
    }

    /// Runs statements beside the server (a SQLite file's lock is the server's: a bare connection) and
    /// returns the rows they changed: what an upgrade's data step or a hand edit would do.
    pub async fn execute_beside(&self, sql: &str) -> u64 {
        match self.backend {
            Backend::Postgres => {
                let mut db = PgConnection::connect(&self.database_url).await.unwrap();
                sqlx::raw_sql(sql)
                    .execute(&mut db)
                    .await
                    .unwrap()
                    .rows_affected()
            }
            Backend::Sqlite => {
                let mut db = sqlx::SqliteConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::raw_sql(sql)
                    .execute(&mut db)
                    .await
                    .unwrap()
                    .rows_affected()
            }
        }
    }

    /// Runs a query that counts something, beside the server (see [`Self::execute_beside`]).
    pub async fn count_beside(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Postgres => {
                let mut db = PgConnection::connect(&self.database_url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut db).await.unwrap()
            }
            Backend::Sqlite => {
                let mut db = sqlx::SqliteConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut db).await.unwrap()
            }
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
        // The database goes after the server (field drop order), so the server never sees it vanish.
    }
}

/// The settings every test server starts from: any free port, a short activity poll, a small pool.
fn test_args(database_url: &str) -> ServeArgs {
    ServeArgs {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: Some(database_url.to_string()),
        max_db_connections: 5,
        activity_poll_timeout: Duration::from_secs(1),
        lease_duration: Duration::from_secs(5),
        executors: 2,
        ..ServeArgs::default()
    }
}

/// `admin_url` with its database name replaced by `database`.
pub fn with_database(admin_url: &str, database: &str) -> String {
    sfn::store::backend::with_database(admin_url, database)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
