//! The `sfn` binary: `sfn serve` runs the service, `sfn migrate` applies the database schema.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sfn::config::{MigrateArgs, ServeArgs};
use sfn::{app, telemetry};

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
enum Command {
    /// Serve the Step Functions gRPC API and/or run executors.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(MigrateArgs),
    /// Benchmark a running server (sfn's gRPC API or an AWS JSON endpoint such as moto).
    Bench(sfn::bench::BenchArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match &cli.command {
        Command::Serve(args) => telemetry::TelemetrySettings {
            otlp_endpoint: args.otlp_endpoint.clone(),
            log_format: args.log_format,
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
        Command::Serve(args) => serve(args).await,
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
