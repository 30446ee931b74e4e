//! The Prometheus endpoint: `GET /metrics` on `--metrics-listen` answers with every instrument of the
//! process in the Prometheus text format (version 0.0.4), collected on demand from the meter provider.
//!
//! Names follow Prometheus conventions: dots become underscores, a unit of seconds adds `_seconds`, and
//! monotonic counters end in `_total`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The manual reader, shared between the provider (which owns its reader) and the endpoint.
#[derive(Debug)]
pub struct SharedReader(pub Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// Everything the process measured so far, in the Prometheus text format.
pub fn scrape() -> String {
    let mut collected = ResourceMetrics::default();
    if let Err(e) = super::installed().reader.collect(&mut collected) {
        tracing::warn!(error = %e, "collecting metrics failed");
    }
    render(&collected)
}

/// Renders collected metrics in the Prometheus text format.
pub fn render(collected: &ResourceMetrics) -> String {
    let mut out = String::new();
    for scope in collected.scope_metrics() {
        for metric in scope.metrics() {
            render_metric(&mut out, metric);
        }
    }
    out
}

fn render_metric(out: &mut String, metric: &Metric) {
    let mut name: String = metric
        .name()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    match metric.unit() {
        "s" => name.push_str("_seconds"),
        "ms" => name.push_str("_milliseconds"),
        "By" => name.push_str("_bytes"),
        _ => {}
    }
    match metric.data() {
        AggregatedMetrics::U64(data) => render_data(out, &name, metric.description(), data),
        AggregatedMetrics::I64(data) => render_data(out, &name, metric.description(), data),
        AggregatedMetrics::F64(data) => render_data(out, &name, metric.description(), data),
    }
}

/// A data point's value as the text format writes it.
trait Sample: Copy {
    fn as_f64(self) -> f64;
}

impl Sample for u64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Sample for i64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Sample for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}

fn render_data<T: Sample>(out: &mut String, name: &str, help: &str, data: &MetricData<T>) {
    match data {
        MetricData::Sum(sum) if sum.is_monotonic() => {
            let name = format!("{name}_total");
            header(out, &name, help, "counter");
            for point in sum.data_points() {
                sample(out, &name, point.attributes(), None, point.value().as_f64());
            }
        }
        MetricData::Sum(sum) => {
            header(out, name, help, "gauge");
            for point in sum.data_points() {
                sample(out, name, point.attributes(), None, point.value().as_f64());
            }
        }
        MetricData::Gauge(gauge) => {
            header(out, name, help, "gauge");
            for point in gauge.data_points() {
                sample(out, name, point.attributes(), None, point.value().as_f64());
            }
        }
        MetricData::Histogram(histogram) => {
            header(out, name, help, "histogram");
            let bucket = format!("{name}_bucket");
            for point in histogram.data_points() {
                let mut cumulative = 0;
                let bounds: Vec<f64> = point.bounds().collect();
                for (i, count) in point.bucket_counts().enumerate() {
                    cumulative += count;
                    let le = bounds
                        .get(i)
                        .map_or_else(|| "+Inf".to_string(), |b| number(*b));
                    sample(
                        out,
                        &bucket,
                        point.attributes(),
                        Some(&le),
                        cumulative as f64,
                    );
                }
                let sum = point.sum().as_f64();
                sample(out, &format!("{name}_sum"), point.attributes(), None, sum);
                let count = point.count() as f64;
                sample(
                    out,
                    &format!("{name}_count"),
                    point.attributes(),
                    None,
                    count,
                );
            }
        }
        // No instrument of ours makes exponential histograms.
        MetricData::ExponentialHistogram(_) => {}
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample<'a>(
    out: &mut String,
    name: &str,
    attributes: impl Iterator<Item = &'a KeyValue>,
    le: Option<&str>,
    value: f64,
) {
    let mut labels: Vec<(String, String)> = attributes
        .map(|kv| (label_name(kv.key.as_str()), label_value(&kv.value)))
        .collect();
    labels.sort();
    if let Some(le) = le {
        labels.push(("le".to_string(), le.to_string()));
    }
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let value = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(out, "{key}=\"{value}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", number(value));
}

fn label_name(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn label_value(value: &Value) -> String {
    value.as_str().into_owned()
}

fn number(value: f64) -> String {
    if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(addr = ?listener.local_addr().ok(), "metrics endpoint serving");
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "metrics connection failed");
                continue;
            }
        };
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(|request: Request<hyper::body::Incoming>| async move {
                    Ok::<_, std::convert::Infallible>(respond(&request))
                });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "metrics connection ended");
            }
        });
    }
}

fn respond<B>(request: &Request<B>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&hyper::Method::GET, "/metrics") => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            scrape(),
        ),
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "metrics are at /metrics\n".to_string(),
        ),
    };
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// Binds the metrics listener (`None` when disabled).
pub async fn bind(addr: Option<SocketAddr>) -> std::io::Result<Option<TcpListener>> {
    match addr {
        Some(addr) => TcpListener::bind(addr).await.map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_labels_render_as_prometheus_expects() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::INFINITY), "+Inf");
        let mut out = String::new();
        let labels = [KeyValue::new("state_machine_arn", "arn:\"x\"\\y")];
        sample(&mut out, "sfn_x_total", labels.iter(), None, 2.0);
        assert_eq!(
            out,
            "sfn_x_total{state_machine_arn=\"arn:\\\"x\\\"\\\\y\"} 2\n"
        );
    }
}
