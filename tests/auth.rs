//! Callers and transport security: `--auth-file` (bearer tokens, roles admin/worker/reader), health open
//! without a token, reflection with any valid token, an auth file open to other users refused at start,
//! TLS (`--tls-cert`/`--tls-key`) and mutual TLS (`--tls-client-ca`) with certificates made by the test.
//!
//! The AWS names and messages of refusals are written from memory of AWS's answers (the JSON protocol's
//! `MissingAuthenticationTokenException` "Missing Authentication Token", `UnrecognizedClientException`
//! "The security token included in the request is invalid.", and `AccessDeniedException` "User: X is not
//! authorized to perform: states:Op ..."), not checked against a live AWS account.

mod common;

use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::{Backend, TestServer};
use sfn::api::pb;
use sfn::api::pb::step_functions_client::StepFunctionsClient;
use sfn::config::ServeArgs;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_types::StatusExt;

const ADMIN_TOKEN: &str = "admin-token-0123456789";
const WORKER_TOKEN: &str = "worker-token-0123456789";
const READER_TOKEN: &str = "reader-token-0123456789";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/StepFunctionsRole";
/// Stays RUNNING, so the execution can be described and listed at leisure.
const WAIT_DEFINITION: &str =
    r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#;

/// Adds `authorization: Bearer TOKEN` to every call (or nothing).
#[derive(Clone)]
struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type Client = StepFunctionsClient<InterceptedService<Channel, Bearer>>;

fn bearer(authorization: Option<&str>) -> Bearer {
    Bearer(authorization.map(|value| value.parse().expect("ASCII metadata")))
}

fn client(server: &TestServer, token: Option<&str>) -> Client {
    let authorization = token.map(|token| format!("Bearer {token}"));
    StepFunctionsClient::with_interceptor(server.channel.clone(), bearer(authorization.as_deref()))
}

/// An auth file in `folder` with mode 0600: the admin's and reader's tokens as they are, the worker's as
/// its SHA-256 digest (both forms the file accepts).
fn write_auth_file(folder: &Path) -> PathBuf {
    use sha2::Digest;
    let worker_digest = hex::encode(sha2::Sha256::digest(WORKER_TOKEN.as_bytes()));
    let text = serde_json::json!({
        "principals": [
            {"name": "ops", "role": "admin", "token": ADMIN_TOKEN},
            {"name": "worker-1", "role": "worker", "token_sha256": worker_digest},
            {"name": "dashboard", "role": "reader", "token": READER_TOKEN,
             "access_key_id": "AKIDEXAMPLE", "secret_access_key": "not-used-yet"},
        ]
    });
    let path = folder.join("auth.json");
    std::fs::write(&path, text.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

async fn server_with_auth(backend: Backend, folder: &Path) -> TestServer {
    let path = write_auth_file(folder);
    TestServer::start_on(backend, |args| args.auth_file = Some(path)).await
}

/// The call got past authentication: it succeeded, or failed for a reason of its own.
#[track_caller]
fn passed<T: std::fmt::Debug>(what: &str, result: Result<tonic::Response<T>, Status>) {
    if let Err(status) = result {
        assert!(
            !matches!(
                status.code(),
                Code::Unauthenticated | Code::PermissionDenied
            ),
            "{what}: refused: {status:?}"
        );
    }
}

/// The status's code, and the AWS name that starts its message and is its ErrorInfo reason.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, Status>,
    code: Code,
    name: &str,
) -> String {
    let status = result.expect_err("expected a refusal");
    assert_eq!(status.code(), code, "{status:?}");
    let info = status.get_details_error_info().expect("ErrorInfo detail");
    assert_eq!(info.reason, name);
    assert_eq!(info.domain, sfn::api::ERROR_DOMAIN);
    let message = status.message().to_string();
    assert!(message.starts_with(&format!("{name}: ")), "{message}");
    message
}

#[track_caller]
fn denied<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, Status>,
    principal: &str,
    operation: &str,
) {
    let message = refused(result, Code::PermissionDenied, "AccessDeniedException");
    let expected = format!(
        "AccessDeniedException: User: {principal} is not authorized to perform: states:{operation} "
    );
    assert!(message.starts_with(&expected), "{message}");
}

fn list_services_request() -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    }
}

async fn tokens_are_checked_and_health_stays_open(backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let server = server_with_auth(backend, folder.path()).await;

    let list = pb::ListStateMachinesRequest::default;
    let message = refused(
        client(&server, None).list_state_machines(list()).await,
        Code::Unauthenticated,
        "MissingAuthenticationTokenException",
    );
    assert_eq!(
        message,
        "MissingAuthenticationTokenException: Missing Authentication Token"
    );
    let message = refused(
        client(&server, Some("not-a-token"))
            .list_state_machines(list())
            .await,
        Code::Unauthenticated,
        "UnrecognizedClientException",
    );
    assert_eq!(
        message,
        "UnrecognizedClientException: The security token included in the request is invalid."
    );
    // A token without the Bearer scheme is not taken as one.
    let mut basic =
        StepFunctionsClient::with_interceptor(server.channel.clone(), bearer(Some(ADMIN_TOKEN)));
    refused(
        basic.list_state_machines(list()).await,
        Code::Unauthenticated,
        "UnrecognizedClientException",
    );
    passed(
        "admin lists",
        client(&server, Some(ADMIN_TOKEN))
            .list_state_machines(list())
            .await,
    );

    // Health answers probes that carry no token.
    let health = HealthClient::new(server.channel.clone())
        .check(HealthCheckRequest {
            service: "stepfunctions.v1.StepFunctions".into(),
        })
        .await
        .expect("health without a token");
    assert_eq!(health.into_inner().status, 1, "SERVING");

    // Reflection needs a known caller, of any role.
    let without = ServerReflectionClient::new(server.channel.clone())
        .server_reflection_info(tokio_stream::iter(vec![list_services_request()]))
        .await;
    assert_eq!(without.unwrap_err().code(), Code::Unauthenticated);
    let mut with = ServerReflectionClient::with_interceptor(
        server.channel.clone(),
        bearer(Some(&format!("Bearer {READER_TOKEN}"))),
    );
    let mut answers = with
        .server_reflection_info(tokio_stream::iter(vec![list_services_request()]))
        .await
        .expect("reflection with a reader's token")
        .into_inner();
    assert!(answers.message().await.unwrap().is_some());
}

async fn roles_allow_their_operations_only(backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let server = server_with_auth(backend, folder.path()).await;
    let mut admin = client(&server, Some(ADMIN_TOKEN));
    let mut worker = client(&server, Some(WORKER_TOKEN));
    let mut reader = client(&server, Some(READER_TOKEN));

    // Admin: everything, here what the others then work on.
    let machine_request = |name: &str| pb::CreateStateMachineRequest {
        name: name.into(),
        definition: WAIT_DEFINITION.into(),
        role_arn: ROLE_ARN.into(),
        ..Default::default()
    };
    let machine = admin
        .create_state_machine(machine_request("waits"))
        .await
        .expect("admin creates a state machine")
        .into_inner()
        .state_machine_arn;
    let start = || pb::StartExecutionRequest {
        state_machine_arn: machine.clone(),
        ..Default::default()
    };
    let execution = admin
        .start_execution(start())
        .await
        .expect("admin starts an execution")
        .into_inner()
        .execution_arn;
    let activity = admin
        .create_activity(pb::CreateActivityRequest {
            name: "work".into(),
            tags: vec![],
            encryption_configuration: None,
        })
        .await
        .expect("admin creates an activity")
        .into_inner()
        .activity_arn;
    let describe = || pb::DescribeExecutionRequest {
        execution_arn: execution.clone(),
        included_data: 0,
    };
    let list_executions = || pb::ListExecutionsRequest {
        state_machine_arn: machine.clone(),
        ..Default::default()
    };
    let heartbeat = || pb::SendTaskHeartbeatRequest {
        task_token: "no-such-task".into(),
    };
    let success = || pb::SendTaskSuccessRequest {
        task_token: "no-such-task".into(),
        output: "{}".into(),
    };

    // Worker: GetActivityTask, SendTask*, Describe*.
    passed(
        "worker polls",
        worker
            .get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: activity.clone(),
                worker_name: Some("w".into()),
            })
            .await,
    );
    passed(
        "worker heartbeats",
        worker.send_task_heartbeat(heartbeat()).await,
    );
    passed("worker answers", worker.send_task_success(success()).await);
    passed(
        "worker describes",
        worker.describe_execution(describe()).await,
    );
    let worker_name = "worker-1";
    denied(
        worker.create_state_machine(machine_request("nope")).await,
        worker_name,
        "CreateStateMachine",
    );
    denied(
        worker.start_execution(start()).await,
        worker_name,
        "StartExecution",
    );
    denied(
        worker.list_executions(list_executions()).await,
        worker_name,
        "ListExecutions",
    );

    // Reader: Describe*, List*, GetExecutionHistory.
    passed(
        "reader lists machines",
        reader
            .list_state_machines(pb::ListStateMachinesRequest::default())
            .await,
    );
    passed(
        "reader lists executions",
        reader.list_executions(list_executions()).await,
    );
    passed(
        "reader describes a machine",
        reader
            .describe_state_machine(pb::DescribeStateMachineRequest {
                state_machine_arn: machine.clone(),
                included_data: 0,
            })
            .await,
    );
    passed(
        "reader describes",
        reader.describe_execution(describe()).await,
    );
    passed(
        "reader reads history",
        reader
            .get_execution_history(pb::GetExecutionHistoryRequest {
                execution_arn: execution.clone(),
                ..Default::default()
            })
            .await,
    );
    denied(
        reader.send_task_heartbeat(heartbeat()).await,
        "dashboard",
        "SendTaskHeartbeat",
    );
    denied(
        reader.send_task_success(success()).await,
        "dashboard",
        "SendTaskSuccess",
    );
    denied(
        reader.start_execution(start()).await,
        "dashboard",
        "StartExecution",
    );
}

on_both_backends!(
    tokens_are_checked_and_health_stays_open,
    roles_allow_their_operations_only
);

/// `sfn serve`'s answer to `args`, which must fail before serving (nothing else stops it).
async fn start_error(args: ServeArgs) -> String {
    let listeners = sfn::app::Listeners::bind(&args).await.unwrap();
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        sfn::app::serve(args, listeners, std::future::pending()),
    )
    .await
    .expect("serve returns at once");
    outcome.expect_err("serve refuses to start").to_string()
}

/// Settings for a server that never gets far enough to open its database.
fn refused_args(folder: &Path) -> ServeArgs {
    ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: None,
        aws_listen: None,
        database_url: Some(format!("sqlite://{}", folder.join("sfn.db").display())),
        ..ServeArgs::default()
    }
}

// Start-up refusals and TLS do not involve the storage backend: they run on SQLite only.

#[tokio::test]
async fn an_auth_file_readable_by_others_is_refused_at_start() {
    let folder = tempfile::tempdir().unwrap();
    let path = write_auth_file(folder.path());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = start_error(ServeArgs {
        auth_file: Some(path.clone()),
        ..refused_args(folder.path())
    })
    .await;
    assert!(
        error.contains(&format!(
            "the auth file {} can be read or written by other users (mode 0644)",
            path.display()
        )),
        "{error}"
    );
    assert!(
        !folder.path().join("sfn.db").exists(),
        "refused before opening the database"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        &path,
        r#"{"principals": [{"name": "x", "role": "superuser", "token": "t"}]}"#,
    )
    .unwrap();
    let error = start_error(ServeArgs {
        auth_file: Some(path),
        ..refused_args(folder.path())
    })
    .await;
    assert!(error.contains("unknown role \"superuser\""), "{error}");
}

/// Kubernetes mounts a Secret for a non-root pod readable by the pod's group (`fsGroup`), which the chart
/// makes the server's own: group read is accepted for that group only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_file_readable_by_the_servers_own_group_only_is_accepted() {
    let folder = tempfile::tempdir().unwrap();
    let path = write_auth_file(folder.path());
    let own_group = std::fs::metadata(&path).unwrap().gid();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o440)).unwrap();
    let accepted = path.clone();
    let server =
        TestServer::start_on(Backend::Sqlite, |args| args.auth_file = Some(accepted)).await;
    passed(
        "admin lists",
        client(&server, Some(ADMIN_TOKEN))
            .list_state_machines(pb::ListStateMachinesRequest::default())
            .await,
    );
    drop(server);

    // Another group (changing it needs root or membership: skipped when neither).
    let other_group = if own_group == 0 { 1 } else { 0 };
    if std::os::unix::fs::chown(&path, None, Some(other_group)).is_ok() {
        let error = start_error(ServeArgs {
            auth_file: Some(path),
            ..refused_args(folder.path())
        })
        .await;
        assert!(error.contains("(mode 0440)"), "{error}");
    }
}

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, as PEM files.
struct Pki {
    folder: tempfile::TempDir,
    ca: String,
    client_cert: String,
    client_key: String,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "sfn test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let mut server_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().unwrap();
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "worker-1");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().unwrap();
        let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

        let folder = tempfile::tempdir().unwrap();
        let write =
            |name: &str, text: &str| std::fs::write(folder.path().join(name), text).unwrap();
        write("ca.crt", &ca);
        write("tls.crt", &server_cert.pem());
        write("tls.key", &server_key.serialize_pem());
        Pki {
            folder,
            ca,
            client_cert: client_cert.pem(),
            client_key: client_key.serialize_pem(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.folder.path().join(name)
    }

    /// Serve TLS with this PKI's server certificate; with `mutual`, require client certificates from its CA.
    fn serve_tls(&self, args: &mut ServeArgs, mutual: bool) {
        args.tls_cert = Some(self.path("tls.crt"));
        args.tls_key = Some(self.path("tls.key"));
        args.tls_client_ca = mutual.then(|| self.path("ca.crt"));
    }

    /// An endpoint that trusts this PKI's CA, with the client certificate when `with_cert`.
    fn endpoint(&self, addr: SocketAddr, with_cert: bool) -> Endpoint {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca))
            .domain_name("localhost");
        if with_cert {
            tls = tls.identity(Identity::from_pem(&self.client_cert, &self.client_key));
        }
        Endpoint::from_shared(format!("https://{addr}"))
            .unwrap()
            .tls_config(tls)
            .expect("client TLS settings")
    }
}

async fn list_on(
    channel: Channel,
) -> Result<tonic::Response<pb::ListStateMachinesResponse>, Status> {
    StepFunctionsClient::new(channel)
        .list_state_machines(pb::ListStateMachinesRequest::default())
        .await
}

/// The call failed in the transport, without an answer from the server: the TLS server dropped the
/// connection (the code depends on when: broken pipe, closed connection, failed handshake).
#[track_caller]
fn connection_refused(result: Result<tonic::Response<pb::ListStateMachinesResponse>, Status>) {
    let error = result.expect_err("the connection is refused");
    assert!(
        std::error::Error::source(&error).is_some(),
        "an answer, not a transport failure: {error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_clients_that_trust_the_ca_and_not_plaintext_ones() {
    let pki = Pki::new();
    let server = TestServer::start_with_endpoint(
        Backend::Sqlite,
        |args| pki.serve_tls(args, false),
        |addr| pki.endpoint(addr, false),
    )
    .await;
    list_on(server.channel.clone())
        .await
        .expect("a call over TLS");

    let plaintext = Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect_lazy();
    connection_refused(list_on(plaintext).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_needs_a_client_certificate_from_the_ca() {
    let pki = Pki::new();
    let server = TestServer::start_with_endpoint(
        Backend::Sqlite,
        |args| pki.serve_tls(args, true),
        |addr| pki.endpoint(addr, true),
    )
    .await;
    list_on(server.channel.clone())
        .await
        .expect("a call with a client certificate");

    let without_cert = pki.endpoint(server.addr, false).connect_lazy();
    connection_refused(list_on(without_cert).await);

    // A certificate from another CA is refused as well.
    let stranger = Pki::new();
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    tls = tls.identity(Identity::from_pem(
        &stranger.client_cert,
        &stranger.client_key,
    ));
    let foreign = Endpoint::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_lazy();
    connection_refused(list_on(foreign).await);
}

#[tokio::test]
async fn tls_files_that_cannot_be_used_are_refused_at_start() {
    let pki = Pki::new();
    let folder = pki.folder.path();
    let missing = start_error(ServeArgs {
        tls_cert: Some(pki.path("nope.crt")),
        tls_key: Some(pki.path("tls.key")),
        ..refused_args(folder)
    })
    .await;
    assert!(
        missing.contains(&format!(
            "cannot read the TLS certificate {}",
            pki.path("nope.crt").display()
        )),
        "{missing}"
    );
    std::fs::write(pki.path("garbage.key"), "not a key").unwrap();
    let not_pem = start_error(ServeArgs {
        tls_cert: Some(pki.path("tls.crt")),
        tls_key: Some(pki.path("garbage.key")),
        ..refused_args(folder)
    })
    .await;
    assert!(not_pem.contains("holds no PEM block"), "{not_pem}");
    // The CA's certificate with the server's key: rustls refuses the pair.
    let mismatched = start_error(ServeArgs {
        tls_cert: Some(pki.path("ca.crt")),
        tls_key: Some(pki.path("tls.key")),
        ..refused_args(folder)
    })
    .await;
    assert!(
        mismatched.starts_with("cannot use the TLS certificate"),
        "{mismatched}"
    );
}
