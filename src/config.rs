//! Command-line and environment settings of `sfn serve` / `sfn migrate`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::operations::Quotas;
use crate::telemetry::LogFormat;

/// Which parts of the service a process runs, so API and executor processes can scale separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Serve the gRPC API and run executors.
    All,
    /// Serve the gRPC API only.
    Api,
    /// Run executors only (gRPC health is still served, for probes).
    Executor,
}

impl Role {
    /// Whether this process serves the Step Functions RPCs.
    pub fn serves_api(self) -> bool {
        matches!(self, Role::All | Role::Api)
    }

    /// Whether this process runs the executor pool.
    pub fn runs_executors(self) -> bool {
        matches!(self, Role::All | Role::Executor)
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";
pub const DEFAULT_AWS_LISTEN: &str = "127.0.0.1:8083";
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
pub const DEFAULT_EXECUTORS: usize = 4;
pub const DEFAULT_EXECUTORS_MAX: usize = 256;
pub const DEFAULT_MAX_DB_CONNECTIONS: u32 = 10;
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(30);
pub const DEFAULT_ACTIVITY_POLL_TIMEOUT: Duration = Duration::from_secs(60);
/// AWS keeps a closed execution (and its history) for 90 days.
pub const DEFAULT_EXECUTION_RETENTION: Duration = Duration::from_secs(90 * 86_400);

/// Settings of `sfn serve`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ServeArgs {
    /// Address the gRPC server listens on.
    #[arg(long, env = "SFN_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Database URL: postgres://user:password@host:5432/sfn, sqlite://PATH or sqlite::memory:
    /// [default: sqlite://./sfn-data/sfn.db, created on first start]
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// AWS region used in the ARNs the service creates.
    #[arg(long, env = "SFN_REGION", default_value = DEFAULT_REGION)]
    pub region: String,

    /// AWS account id used in the ARNs the service creates.
    #[arg(long, env = "SFN_ACCOUNT_ID", default_value = DEFAULT_ACCOUNT_ID)]
    pub account_id: String,

    /// What this process runs: the API, the executors, or both.
    #[arg(long, env = "SFN_ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,

    /// How many due executions one claim takes when there is no backlog; claims double from it while
    /// they come back full, up to `--executors-max`.
    #[arg(long, env = "SFN_EXECUTORS", default_value_t = DEFAULT_EXECUTORS)]
    pub executors: usize,

    /// The most executions this process advances at once while a backlog lasts (their commits share
    /// transactions); never below `--executors`.
    #[arg(long, env = "SFN_EXECUTORS_MAX", default_value_t = DEFAULT_EXECUTORS_MAX)]
    pub executors_max: usize,

    /// Maximum number of database connections in the pool.
    #[arg(long, env = "SFN_MAX_DB_CONNECTIONS", default_value_t = DEFAULT_MAX_DB_CONNECTIONS)]
    pub max_db_connections: u32,

    /// How long an executor owns an execution without renewing its lease (e.g. 30s, 500ms, 2m; bare number = seconds).
    #[arg(long, env = "SFN_LEASE_DURATION", default_value = "30s", value_parser = parse_duration)]
    pub lease_duration: Duration,

    /// How long GetActivityTask waits for a task before returning an empty response.
    #[arg(long, env = "SFN_ACTIVITY_POLL_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub activity_poll_timeout: Duration,

    /// How long a closed execution and its history are kept before they are deleted (and its name can
    /// be used again); 0 keeps them forever.
    #[arg(long, env = "SFN_EXECUTION_RETENTION", default_value = "90d", value_parser = parse_duration)]
    pub execution_retention: Duration,

    /// How many state machines may exist (StateMachineLimitExceeded past it).
    #[arg(long, env = "SFN_MAX_STATE_MACHINES", default_value_t = Quotas::AWS.state_machines)]
    pub max_state_machines: u64,

    /// How many activities may exist (ActivityLimitExceeded past it).
    #[arg(long, env = "SFN_MAX_ACTIVITIES", default_value_t = Quotas::AWS.activities)]
    pub max_activities: u64,

    /// How many executions may be running at once (ExecutionLimitExceeded past it).
    #[arg(long, env = "SFN_MAX_OPEN_EXECUTIONS", default_value_t = Quotas::AWS.open_executions)]
    pub max_open_executions: u64,

    /// OTLP/gRPC endpoint to export traces to (e.g. http://localhost:4317); no export when absent.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Address of the Prometheus endpoint (GET /metrics), or `off`.
    #[arg(long, env = "SFN_METRICS_LISTEN", default_value = DEFAULT_METRICS_LISTEN, value_parser = parse_optional_addr)]
    pub metrics_listen: OptionalAddr,

    /// Address of the AWS JSON protocol listener (boto3, the AWS CLI, AWS SDKs: `endpoint_url`), or `off`.
    #[arg(long, env = "SFN_AWS_LISTEN", default_value = DEFAULT_AWS_LISTEN, value_parser = parse_optional_addr)]
    pub aws_listen: OptionalAddr,

    /// Log lines as `text` or `json` [default: json when stderr is not a terminal, else text].
    #[arg(long, env = "SFN_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// PEM certificate chain of the gRPC listener: serve TLS (needs --tls-key).
    #[arg(long, env = "SFN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "SFN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM CA certificates that clients' certificates must chain to: mutual TLS (needs --tls-cert).
    #[arg(long, env = "SFN_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// JSON file of the principals allowed to call, with their roles and bearer tokens; without it every
    /// call is allowed. Refused when other users can read it.
    #[arg(long, env = "SFN_AUTH_FILE")]
    pub auth_file: Option<PathBuf>,

    /// Boxed: the subcommand enum of `main` stays small.
    #[command(flatten)]
    pub integrations: Box<IntegrationArgs>,
}

impl ServeArgs {
    pub fn quotas(&self) -> Quotas {
        Quotas {
            state_machines: self.max_state_machines,
            activities: self.max_activities,
            open_executions: self.max_open_executions,
        }
    }
}

impl Default for ServeArgs {
    /// The documented defaults, ignoring the environment (what tests start from).
    fn default() -> Self {
        ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: None,
            region: DEFAULT_REGION.to_string(),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            role: Role::All,
            executors: DEFAULT_EXECUTORS,
            executors_max: DEFAULT_EXECUTORS_MAX,
            max_db_connections: DEFAULT_MAX_DB_CONNECTIONS,
            lease_duration: DEFAULT_LEASE_DURATION,
            activity_poll_timeout: DEFAULT_ACTIVITY_POLL_TIMEOUT,
            execution_retention: DEFAULT_EXECUTION_RETENTION,
            max_state_machines: Quotas::AWS.state_machines,
            max_activities: Quotas::AWS.activities,
            max_open_executions: Quotas::AWS.open_executions,
            otlp_endpoint: None,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            aws_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8083))),
            log_format: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            auth_file: None,
            integrations: Box::default(),
        }
    }
}

/// What the service integrations of Task states may reach (see README "Task integrations").
#[derive(Debug, Clone, PartialEq, Eq, Default, Args)]
pub struct IntegrationArgs {
    /// A host (`HOST` or `HOST:PORT`) HTTP tasks may call; repeat the flag, or comma-separate in the
    /// environment. Without it no HTTP task may call anything.
    #[arg(long = "http-allow", env = "SFN_HTTP_ALLOW", value_delimiter = ',')]
    pub http_allow: Vec<String>,

    /// JSON file of EventBridge-style connections (ARN → API key, basic or OAuth client credentials) whose
    /// credentials HTTP tasks add when their `Authentication.ConnectionArn` names one.
    #[arg(long, env = "SFN_CONNECTIONS")]
    pub connections: Option<PathBuf>,

    /// Base URL of a server of Lambda's Invoke API (e.g. http://127.0.0.1:3001 for `sam local
    /// start-lambda`): Lambda Task states call it. Without it they fail with Lambda.SdkClientException.
    #[arg(long, env = "SFN_LAMBDA_ENDPOINT")]
    pub lambda_endpoint: Option<String>,

    /// PEM file of CA certificates that `https://` calls of task integrations (HTTP, Lambda, AWS services)
    /// trust besides the system's roots (which `SSL_CERT_FILE`/`SSL_CERT_DIR` replace): a private CA.
    #[arg(long, env = "SFN_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// How many integration calls (HTTP, Lambda, AWS services, nested starts) one process makes at once;
    /// further tasks wait queued [default: 256].
    #[arg(long, env = "SFN_INTEGRATION_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..))]
    pub integration_concurrency: Option<u32>,

    /// Step Functions Local's MockConfigFile.json: StartExecution with `stateMachineArn#TestCase` runs that
    /// test case, its Task states answering with the mocked responses.
    #[arg(long, env = "SFN_MOCK_CONFIG")]
    pub mock_config: Option<PathBuf>,

    /// Base URL of every AWS service Task states call (DynamoDB, SQS, EventBridge), as the AWS SDKs read
    /// it; `AWS_ENDPOINT_URL_<SERVICE>` in the environment (e.g. `AWS_ENDPOINT_URL_DYNAMODB`) or
    /// `--aws-service-endpoint` overrides it per service. Its host must also be allowed with --http-allow.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,

    /// `SERVICE=URL` (e.g. `dynamodb=http://127.0.0.1:8000`): one service's endpoint; repeat the flag.
    #[arg(long = "aws-service-endpoint", value_name = "SERVICE=URL")]
    pub aws_service_endpoints: Vec<String>,

    /// Region AWS calls are signed for when the resource's ARN names none [default: AWS_DEFAULT_REGION,
    /// else --region].
    #[arg(long, env = "AWS_REGION")]
    pub aws_region: Option<String>,

    /// Credentials AWS calls are signed with (SigV4).
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub aws_access_key_id: Option<String>,

    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub aws_secret_access_key: Option<String>,

    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    pub aws_session_token: Option<String>,

    /// A web identity token (a Kubernetes service account's) exchanged with STS
    /// (AssumeRoleWithWebIdentity at the STS endpoint) for the role of --aws-role-arn, when no keys are set.
    #[arg(long, env = "AWS_WEB_IDENTITY_TOKEN_FILE")]
    pub aws_web_identity_token_file: Option<String>,

    #[arg(long, env = "AWS_ROLE_ARN")]
    pub aws_role_arn: Option<String>,

    #[arg(long, env = "AWS_ROLE_SESSION_NAME")]
    pub aws_role_session_name: Option<String>,
}

/// Settings of `sfn migrate`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct MigrateArgs {
    /// Database URL: postgres://user:password@host:5432/sfn, sqlite://PATH or sqlite::memory:
    /// [default: sqlite://./sfn-data/sfn.db, created on first start]
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

/// Parses `500ms`, `30s`, `2m`, `1h`, `90d`, or a bare number of seconds.
/// A listen address that can be turned off. (An alias, so that clap takes the parser's `Option` as the
/// value instead of making the flag optional.)
pub type OptionalAddr = Option<SocketAddr>;

/// A listen address, or `off` for none.
pub fn parse_optional_addr(text: &str) -> Result<Option<SocketAddr>, String> {
    match text.trim() {
        "off" | "" => Ok(None),
        addr => addr
            .parse()
            .map(Some)
            .map_err(|e| format!("{e} (expected HOST:PORT or off)")),
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 500ms, 30s, 2m, 90d"))?;
    let seconds_per_unit = match unit.trim() {
        "ms" => return Ok(Duration::from_millis(amount)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {text:?}: use ms, s, m, h or d"
            ))
        }
    };
    amount
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("duration {text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn durations_parse() {
        let cases = [
            ("500ms", Ok(Duration::from_millis(500))),
            ("30s", Ok(Duration::from_secs(30))),
            ("30", Ok(Duration::from_secs(30))),
            ("2m", Ok(Duration::from_secs(120))),
            ("1h", Ok(Duration::from_secs(3600))),
            ("0ms", Ok(Duration::ZERO)),
            ("90d", Ok(Duration::from_secs(90 * 86_400))),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), expected, "{text}");
        }
        for bad in ["", "s", "1.5s", "3w", "-1s", "ms5"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn clap_defaults_match_default_impl() {
        // Explicit flags for the settings whose env vars a CI environment may set.
        let cli = Cli::parse_from([
            "sfn",
            "--database-url",
            "postgres://x",
            "--otlp-endpoint",
            "http://c:4317",
        ]);
        let parsed = cli.serve;
        let expected = ServeArgs {
            database_url: Some("postgres://x".into()),
            otlp_endpoint: Some("http://c:4317".into()),
            ..ServeArgs::default()
        };
        assert_eq!(parsed.database_url, expected.database_url);
        assert_eq!(parsed.otlp_endpoint, expected.otlp_endpoint);
        if std::env::vars().all(|(k, _)| !k.starts_with("SFN_")) {
            assert_eq!(parsed, expected);
        }
    }

    #[test]
    fn tls_flags_come_in_pairs() {
        for args in [
            &["sfn", "--tls-cert", "c.pem"][..],
            &["sfn", "--tls-key", "k.pem"],
            &["sfn", "--tls-client-ca", "ca.pem"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn flags_override_defaults() {
        let cli = Cli::parse_from([
            "sfn",
            "--listen",
            "0.0.0.0:9000",
            "--role",
            "executor",
            "--lease-duration",
            "1500ms",
            "--activity-poll-timeout",
            "2",
            "--executors",
            "8",
            "--executors-max",
            "32",
            "--execution-retention",
            "7d",
            "--max-state-machines",
            "5",
            "--max-activities",
            "6",
            "--max-open-executions",
            "7",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-client-ca",
            "ca.pem",
            "--auth-file",
            "auth.json",
        ]);
        assert_eq!(cli.serve.tls_cert, Some("c.pem".into()));
        assert_eq!(cli.serve.tls_key, Some("k.pem".into()));
        assert_eq!(cli.serve.tls_client_ca, Some("ca.pem".into()));
        assert_eq!(cli.serve.auth_file, Some("auth.json".into()));
        assert_eq!(cli.serve.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(cli.serve.role, Role::Executor);
        assert!(!cli.serve.role.serves_api());
        assert!(cli.serve.role.runs_executors());
        assert_eq!(cli.serve.lease_duration, Duration::from_millis(1500));
        assert_eq!(cli.serve.activity_poll_timeout, Duration::from_secs(2));
        assert_eq!(cli.serve.executors, 8);
        assert_eq!(cli.serve.executors_max, 32);
        assert_eq!(
            cli.serve.execution_retention,
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            cli.serve.quotas(),
            Quotas {
                state_machines: 5,
                activities: 6,
                open_executions: 7
            }
        );
    }
}
