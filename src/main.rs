//! The `sfn` binary: `sfn serve` runs the service, `sfn migrate` applies the database schema.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sfn::config::{MigrateArgs, ServeArgs};
use sfn::{app, telemetry};

/// mimalloc instead of glibc's malloc: a short execution allocates and frees thousands of small blocks
/// (JSON values, history events, protocol buffers), and glibc's malloc/free were the largest user-space
/// cost of a pass-chain execution in the profile (BENCHMARKS.md, 2026-12-03 session 5).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sfn",
    version,
    about = "A self-hosted AWS Step Functions service over gRPC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing would only add noise
enum Command {
    /// Serve the Step Functions API (gRPC and the AWS JSON protocol) and/or run executors.
    Serve(Serve),
    /// Apply the database migrations and exit.
    Migrate(MigrateArgs),
    /// Benchmark a running server (sfn's gRPC API, its AWS JSON door, or an AWS JSON endpoint such as moto).
    Bench(sfn::bench::BenchArgs),
}

#[derive(clap::Args)]
struct Serve {
    #[command(flatten)]
    args: ServeArgs,
    /// Parse the settings (flags and environment), print them and exit without opening the database,
    /// so a deployment's configuration can be checked before it rolls out (a bad value exits 2).
    #[arg(long)]
    check_config: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Serve(Serve {
        args,
        check_config: true,
    }) = &cli.command
    {
        let mut shown = args.clone();
        // The URL usually carries the database password.
        if shown.database_url.is_some() {
            shown.database_url = Some("(set)".to_string());
        }
        for secret in [
            &mut shown.integrations.aws_secret_access_key,
            &mut shown.integrations.aws_session_token,
        ] {
            if secret.is_some() {
                *secret = Some("(set)".to_string());
            }
        }
        println!("{shown:#?}");
        return ExitCode::SUCCESS;
    }
    let settings = match &cli.command {
        Command::Serve(serve) => telemetry::TelemetrySettings {
            otlp_endpoint: serve.args.otlp_endpoint.clone(),
            log_format: serve.args.log_format,
        },
        Command::Migrate(_) | Command::Bench(_) => telemetry::TelemetrySettings::default(),
    };
    let telemetry = match telemetry::init(&settings) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("sfn: {error}");
            return ExitCode::FAILURE;
        }
    };

    let result = match cli.command {
        Command::Serve(command) => serve(command.args).await,
        Command::Migrate(args) => app::migrate(args).await.map_err(|e| e.to_string()),
        Command::Bench(args) => sfn::bench::run(args).await,
    };

    // The exporter needs the runtime while flushing, so flush from a blocking thread.
    if let Err(error) = tokio::task::spawn_blocking(move || telemetry.shutdown()).await {
        eprintln!("sfn: flushing traces failed: {error}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sfn: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let listeners = app::Listeners::bind(&args).await?;
    app::serve(args, listeners, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
