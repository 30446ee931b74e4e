//! OTLP export setup: with an endpoint configured, logging installs, spans are turned on and flow, and
//! shutdown's flush returns even when no collector listens (it must not hang or panic the process on exit).

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_export_installs_and_flushes_without_a_collector() {
    // Port 9 (discard) on loopback: nothing listens, so the export fails fast.
    let settings = sfn::telemetry::TelemetrySettings {
        otlp_endpoint: Some("http://127.0.0.1:9".to_string()),
        log_format: Some(sfn::telemetry::LogFormat::Json),
    };
    assert!(!sfn::traces::enabled());
    let telemetry = sfn::telemetry::init(&settings).expect("telemetry installs");
    assert!(sfn::traces::enabled(), "an OTLP endpoint turns spans on");
    {
        use opentelemetry::trace::{Span as _, Tracer as _};
        let mut span = sfn::traces::tracer().start("test_span");
        span.set_attribute(opentelemetry::KeyValue::new("answer", 42));
        span.end();
        let span = tracing::info_span!("log_span", answer = 42);
        let _entered = span.enter();
        tracing::info!("inside a span");
    }
    let flushed = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || telemetry.shutdown()),
    )
    .await;
    assert!(
        matches!(flushed, Ok(Ok(()))),
        "shutdown hung or panicked: {flushed:?}"
    );

    // A second install in the same process is refused with an error, not a panic.
    assert!(sfn::telemetry::init(&Default::default()).is_err());
}
