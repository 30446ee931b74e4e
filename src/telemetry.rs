//! Logging and tracing: `tracing` to stderr (filter from `RUST_LOG`, default `info`) as text or JSON lines,
//! plus OTLP/gRPC span and metric export (see `crate::metrics`) when an endpoint is configured. Spans are
//! made with the OpenTelemetry API where their ids and times are known (`crate::traces`: executions,
//! states, tasks, RPCs); `tracing` spans stay in the logs, so a step's or a call's log context does not
//! become a trace of its own.

use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot build the OTLP exporter for {endpoint}: {source}")]
    Exporter {
        endpoint: String,
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("cannot install the tracing subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours only on a terminal).
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    /// JSON when stderr is not a terminal (a container, a file), text on a terminal.
    pub fn detect() -> LogFormat {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            LogFormat::Text
        } else {
            LogFormat::Json
        }
    }
}

/// What [`init`] sets up.
#[derive(Debug, Clone, Default)]
pub struct TelemetrySettings {
    pub otlp_endpoint: Option<String>,
    /// `None`: [`LogFormat::detect`].
    pub log_format: Option<LogFormat>,
}

/// Keeps the span exporter alive; call [`Telemetry::shutdown`] before exiting to flush pending spans.
#[must_use = "dropping it without shutdown() may lose spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
}

impl Telemetry {
    /// Flushes and stops the span exporter. Blocks while flushing, so async callers should run it on a
    /// blocking thread (the exporter itself needs the Tokio runtime to make progress).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                eprintln!("sfn: flushing traces failed: {error}");
            }
        }
        if let Some(meters) = self.meters {
            if let Err(error) = meters.shutdown() {
                eprintln!("sfn: flushing metrics failed: {error}");
            }
        }
    }
}

/// Installs the global subscriber and the process's meter provider. Must run inside a Tokio runtime when
/// an OTLP endpoint is set.
pub fn init(settings: &TelemetrySettings) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let resource = crate::metrics::resource();
    let endpoint = settings.otlp_endpoint.as_deref();
    let provider = match endpoint {
        Some(endpoint) => Some(otlp_provider(endpoint, resource.clone())?),
        None => None,
    };
    let exporter = match endpoint {
        Some(endpoint) => Some(otlp_metric_exporter(endpoint)?),
        None => None,
    };
    let (installed, built) = crate::metrics::install(exporter, resource);
    let meters = (built && endpoint.is_some()).then(|| installed.provider.clone());
    if let Some(provider) = &provider {
        // The executor's and the RPC layer's spans come from the global provider.
        opentelemetry::global::set_tracer_provider(provider.clone());
        crate::traces::enable();
    }
    let (text, json) = match settings.log_format.unwrap_or_else(LogFormat::detect) {
        LogFormat::Text => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr),
            ),
            None,
        ),
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    // The current span names the call (gRPC path) or the execution being stepped.
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            ),
        ),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .try_init()?;
    Ok(Telemetry { provider, meters })
}

fn otlp_metric_exporter(
    endpoint: &str,
) -> Result<opentelemetry_otlp::MetricExporter, TelemetryError> {
    opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_string(),
            source,
        })
}

fn otlp_provider(endpoint: &str, resource: Resource) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_string(),
            source,
        })?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
