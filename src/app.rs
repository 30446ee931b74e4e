//! Wiring for `sfn serve` and `sfn migrate`: store, operations, gRPC server (API, reflection, health) and,
//! depending on the role, the executor pool.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::api::pb::step_functions_server::StepFunctionsServer;
use crate::api::{pb, RpcLayer, StepFunctionsApi};
use crate::auth::{self, AuthLayer, SecurityError, TlsFiles};
use crate::clock::{self, SharedClock};
use crate::config::{MigrateArgs, ServeArgs};
use crate::executor::{retention, Executor, ExecutorSettings, Wakeups};
use crate::operations::{Service, ServiceSettings};
use crate::store::backend::{redacted, Backend, DEFAULT_DATABASE_URL};
use crate::store::lease::Wakeup;
use tokio::sync::watch;

use crate::aws::AwsDoor;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error(transparent)]
    Security(#[from] SecurityError),
    #[error("task integrations: {0}")]
    Integrations(String),
}

/// The HTTP Task's allowed hosts and connections, from `--http-allow` and `--connections`.
fn http_settings(
    args: &ServeArgs,
) -> Result<crate::executor::integrations::http::HttpSettings, AppError> {
    let flags = &args.integrations;
    let connections =
        match &flags.connections {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                AppError::Integrations(format!("cannot read {}: {e}", path.display()))
            })?),
            None => None,
        };
    let mut settings = crate::executor::integrations::http::HttpSettings::new(
        &flags.http_allow,
        connections.as_deref(),
    )
    .map_err(AppError::Integrations)?;
    settings.region = args.region.clone();
    Ok(settings)
}

/// Opens the database (the SQLite file `DEFAULT_DATABASE_URL` when none is configured) and brings its
/// schema up to date.
async fn open_store(database_url: Option<&str>, max_connections: u32) -> Result<Backend, AppError> {
    let url = database_url.unwrap_or(DEFAULT_DATABASE_URL);
    let backend = Backend::connect(url, max_connections)
        .await
        .map_err(|e| AppError::Connect(e.to_string()))?;
    tracing::info!(backend = backend.name(), database = %redacted(url), "storage backend");
    backend
        .migrate()
        .await
        .map_err(|e| AppError::Migrate(e.to_string()))?;
    Ok(backend)
}

/// `sfn migrate`: applies the schema migrations and returns.
pub async fn migrate(args: MigrateArgs) -> Result<(), AppError> {
    open_store(args.database_url.as_deref(), 1).await?;
    tracing::info!("database schema is up to date");
    Ok(())
}

/// The sockets `sfn serve` listens on, bound before it starts so that a taken port fails at once.
pub struct Listeners {
    pub grpc: TcpListener,
    /// The Prometheus endpoint; `None` when `--metrics-listen off`.
    pub metrics: Option<TcpListener>,
    /// The AWS JSON protocol; `None` when `--aws-listen off`.
    pub aws: Option<TcpListener>,
}

impl Listeners {
    /// Binds the addresses `args` names.
    pub async fn bind(args: &ServeArgs) -> Result<Listeners, String> {
        let grpc = TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let metrics = match args.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?,
            ),
            None => None,
        };
        let aws =
            match args.aws_listen {
                Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                    format!("cannot listen for the AWS JSON protocol on {addr}: {e}")
                })?),
                None => None,
            };
        Ok(Listeners { grpc, metrics, aws })
    }
}

/// `sfn serve`: serves on `listeners` until `shutdown` completes, then stops accepting, drains in-flight
/// calls and returns.
pub async fn serve(
    args: ServeArgs,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    serve_with_clock(args, listeners, shutdown, clock::system()).await
}

/// [`serve`] with every timestamp taken from `clock` (tests move a manual clock instead of sleeping).
pub async fn serve_with_clock(
    args: ServeArgs,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
    clock: SharedClock,
) -> Result<(), AppError> {
    let Listeners {
        grpc: listener,
        metrics: metrics_listener,
        aws: aws_listener,
    } = listeners;
    // Before the database: a bad certificate or auth file should fail without touching anything.
    let principals = match &args.auth_file {
        Some(path) => {
            let principals = Arc::new(auth::load_auth_file(path)?);
            tracing::info!(file = %path.display(), principals = principals.iter().count(), "callers authenticated");
            Some(principals)
        }
        None => None,
    };
    let server = secured_server(&args, principals.clone())?;
    let backend = open_store(args.database_url.as_deref(), args.max_db_connections).await?;
    // One object serves both traits, so the operations and the executor share its connections.
    let store = backend.store();
    let leases = backend.leases();
    let leases_for_watch = leases.clone();
    let clock_for_watch = clock.clone();
    let wakeups = Wakeups::new();
    let stopping = wakeups.clone();

    // Wake-ups from other processes (Postgres LISTEN), in every role: executors for new work, and
    // GetActivityTask long polls for tasks that another process's executor queued.
    let relay = wakeups.clone();
    leases
        .listen(Arc::new(move |wakeup| match wakeup {
            Wakeup::Work => relay.work_due(),
            Wakeup::Activity(arn) => relay.activity_queued(&arn),
        }))
        .await
        .map_err(|e| AppError::Connect(e.to_string()))?;

    // Every process starts executions through its executor; only executor processes run its pool, which
    // stops claiming when the server starts draining and finishes its in-flight steps.
    let executor = Executor::new(
        leases,
        store.clone(),
        ExecutorSettings::new(args.executors, args.lease_duration)
            .with_max_concurrency(args.executors_max),
        wakeups.clone(),
        clock.clone(),
    );
    let service = Arc::new(Service::new(
        store.clone(),
        ServiceSettings {
            region: args.region.clone(),
            account_id: args.account_id.clone(),
            activity_poll_timeout: args.activity_poll_timeout,
            quotas: args.quotas(),
        },
        executor.clone(),
        wakeups,
        clock.clone(),
    ));
    // Nested executions (a Task's `states:startExecution`) start their children through the operations.
    let starter: Arc<dyn crate::executor::ExecutionStarter> = service.clone();
    executor.set_execution_starter(Arc::downgrade(&starter));
    executor.set_http_settings(http_settings(&args)?);
    if let Some(calls) = args.integrations.integration_concurrency {
        executor.set_integration_concurrency(calls as usize);
    }
    if let Some(endpoint) = &args.integrations.lambda_endpoint {
        executor.set_lambda_endpoint(endpoint.clone());
    }
    if let Some(path) = &args.integrations.ca_file {
        let certs = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|pem| crate::executor::integrations::http::ca_certificates(&pem))
            .map_err(|e| AppError::Integrations(format!("--ca-file {}: {e}", path.display())))?;
        executor.set_extra_ca_certificates(certs);
    }
    // AWS services (optimized and SDK integrations) at the endpoints of the flags or the AWS_* environment.
    executor.set_aws_settings(
        crate::executor::integrations::aws::AwsSettings::resolve(
            &crate::executor::integrations::aws::AwsFlags {
                aws_endpoint_url: args.integrations.aws_endpoint_url.clone(),
                aws_service_endpoints: args.integrations.aws_service_endpoints.clone(),
                aws_region: args.integrations.aws_region.clone(),
                aws_access_key_id: args.integrations.aws_access_key_id.clone(),
                aws_secret_access_key: args.integrations.aws_secret_access_key.clone(),
                aws_session_token: args.integrations.aws_session_token.clone(),
                aws_web_identity_token_file: args.integrations.aws_web_identity_token_file.clone(),
                aws_role_arn: args.integrations.aws_role_arn.clone(),
                aws_role_session_name: args.integrations.aws_role_session_name.clone(),
            },
            &args.region,
            |name| std::env::var(name).ok(),
            |path| std::fs::read_to_string(path).ok(),
        )
        .map_err(AppError::Integrations)?,
    );
    if let Some(path) = &args.integrations.mock_config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AppError::Integrations(format!("cannot read {}: {e}", path.display())))?;
        let mocks = crate::executor::integrations::mocks::MockConfig::from_json(&text)
            .map_err(AppError::Integrations)?;
        executor.set_mock_config(mocks);
    }
    let (stop_executor, executor_stopped) = watch::channel(false);
    // Gauges show from the first scrape, at zero, rather than after their first change.
    crate::metrics::METRICS.activity_pollers.add(0, &[]);
    let metrics = metrics_listener.map(|listener| {
        tokio::spawn(crate::metrics::prometheus::serve(
            listener,
            executor_stopped.clone(),
        ))
    });
    let executor = args
        .role
        .runs_executors()
        .then(|| executor.spawn(executor_stopped.clone()));
    // Executor processes also delete closed executions past the retention period.
    let retention = args
        .role
        .runs_executors()
        .then(|| {
            retention::spawn(
                store.clone(),
                args.execution_retention,
                clock,
                executor_stopped.clone(),
            )
        })
        .flatten();

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let serves_api = args.role.serves_api();
    if serves_api {
        health_reporter
            .set_serving::<StepFunctionsServer<StepFunctionsApi>>()
            .await;
    }
    // The AWS door's health, kept with gRPC's.
    let api_serving = Arc::new(AtomicBool::new(serves_api));
    let database_watch = tokio::spawn(watch_database(
        backend.clone(),
        leases_for_watch,
        health_reporter.clone(),
        serves_api.then(|| api_serving.clone()),
        args.role.runs_executors(),
        clock_for_watch,
        executor_stopped.clone(),
    ));
    let step_functions = serves_api.then(|| StepFunctionsApi::server(service.clone()));
    // The AWS JSON door serves the same operations (only in processes that serve the API).
    let aws = aws_listener.filter(|_| serves_api).map(|listener| {
        let door = AwsDoor::new(service.clone(), principals.clone(), api_serving.clone());
        tokio::spawn(crate::aws::serve(
            listener,
            Arc::new(door),
            executor_stopped.clone(),
        ))
    });
    let (reflection_v1, reflection_v1alpha) = if serves_api {
        (
            Some(reflection_builder().build_v1()?),
            Some(reflection_builder().build_v1alpha()?),
        )
    } else {
        (None, None)
    };

    let shutdown = {
        let health_reporter = health_reporter.clone();
        let api_serving = api_serving.clone();
        async move {
            shutdown.await;
            api_serving.store(false, Ordering::Relaxed);
            tracing::info!("shutting down: draining in-flight calls");
            stopping.shut_down();
            let _ = stop_executor.send(true);
            health_reporter
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
            health_reporter
                .set_not_serving::<StepFunctionsServer<StepFunctionsApi>>()
                .await;
        }
    };

    tracing::info!(
        addr = ?listener.local_addr().ok(),
        role = ?args.role,
        "sfn serving"
    );
    server
        .trace_fn(|request| tracing::info_span!("grpc", path = %request.uri().path()))
        .add_service(health_service)
        .add_optional_service(step_functions)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming(listener), shutdown)
        .await?;
    tracing::info!("gRPC server stopped");
    if let Some(aws) = aws {
        let _ = aws.await;
    }
    if let Some(executor) = executor {
        // Only panics inside the pool make this fail; the process is exiting either way.
        if let Err(e) = executor.await {
            tracing::error!(error = %e, "executor pool ended abnormally");
        }
    }
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    let _ = database_watch.await;
    if let Some(retention) = retention {
        if let Err(e) = retention.await {
            tracing::error!(error = %e, "retention task ended abnormally");
        }
    }
    Ok(())
}

/// How often the database is checked for health (and the pool and backlog gauges are refreshed).
const DATABASE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps health in step with the database, checked in the background (never per call): NOT_SERVING while
/// it cannot be reached, SERVING again as soon as it answers. Also refreshes the pool gauges and, in
/// executor processes, the due backlog. Returns when `stopped` turns true (shutdown sets health itself).
async fn watch_database(
    backend: Backend,
    leases: Arc<dyn crate::store::lease::LeaseStore>,
    health: tonic_health::server::HealthReporter,
    // The AWS door's health flag; `None` when this process does not serve the API.
    api_serving: Option<Arc<AtomicBool>>,
    runs_executors: bool,
    clock: SharedClock,
    mut stopped: watch::Receiver<bool>,
) {
    use crate::metrics::METRICS;
    use opentelemetry::KeyValue;
    let mut up = true;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(DATABASE_CHECK_INTERVAL) => {}
            _ = stopped.changed() => return,
        }
        let answered = tokio::time::timeout(crate::store::ACQUIRE_TIMEOUT, backend.ping()).await;
        let now_up = matches!(answered, Ok(Ok(())));
        if *stopped.borrow() {
            return;
        }
        METRICS.db_up.record(u64::from(now_up), &[]);
        let (open, idle) = backend.pool_connections();
        let idle = u64::try_from(idle).unwrap_or(0);
        let in_use = u64::from(open).saturating_sub(idle);
        METRICS
            .db_connections
            .record(in_use, &[KeyValue::new("state", "in_use")]);
        METRICS
            .db_connections
            .record(idle, &[KeyValue::new("state", "idle")]);
        if now_up && runs_executors {
            if let Ok(backlog) = leases.due_backlog(clock.now()).await {
                METRICS.due_backlog.record(backlog, &[]);
            }
        }
        if now_up == up {
            continue;
        }
        up = now_up;
        let status = if up {
            tracing::info!("the database answers again: serving");
            tonic_health::ServingStatus::Serving
        } else {
            let error = match answered {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer within the timeout".to_string(),
            };
            tracing::warn!(%error, "the database cannot be reached: health is NOT_SERVING");
            tonic_health::ServingStatus::NotServing
        };
        health.set_service_status("", status).await;
        if let Some(api_serving) = &api_serving {
            api_serving.store(up, Ordering::Relaxed);
            health
                .set_service_status(
                    <StepFunctionsServer<StepFunctionsApi> as tonic::server::NamedService>::NAME,
                    status,
                )
                .await;
        }
    }
}

/// The gRPC server's layers: RPC spans and metrics outside, then authentication.
type Layers = tower_layer::Stack<AuthLayer, tower_layer::Stack<RpcLayer, tower_layer::Identity>>;

/// The gRPC server with the TLS and caller authentication `args` ask for (both off by default). Warns,
/// once, when the API listens beyond loopback with nobody checked.
fn secured_server(
    args: &ServeArgs,
    principals: Option<Arc<auth::Principals>>,
) -> Result<Server<Layers>, AppError> {
    let mut server = Server::builder();
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: args.tls_client_ca.clone(),
        };
        server = auth::with_tls(server, &files)?;
        tracing::info!(mutual = files.client_ca.is_some(), "gRPC over TLS");
    }
    let layer = match principals {
        Some(principals) => AuthLayer::shared(principals),
        None => AuthLayer::open(),
    };
    for listen in std::iter::once(args.listen).chain(args.aws_listen) {
        if auth::exposed_without_auth(listen, args.auth_file.is_some(), args.role.serves_api()) {
            tracing::warn!(
                %listen,
                "THE API IS OPEN TO ANYONE WHO CAN REACH {listen}: it listens beyond loopback without \
                 --auth-file, so any caller can create, run, read and delete state machines; set \
                 --auth-file (and --tls-cert/--tls-key) to protect it",
            );
        }
    }
    // Outermost, so refused calls are traced and counted too.
    Ok(server.layer(RpcLayer).layer(layer))
}

/// Accepted connections with Nagle's algorithm off: small gRPC frames would otherwise wait for delayed
/// ACKs (tens of milliseconds per call).
fn incoming(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|stream| {
        if let Ok(stream) = &stream {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        }
        stream
    })
}

/// Reflection serves our API and the health service, so grpcurl can call both without .proto files.
fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(pb::ERROR_DETAILS_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}
