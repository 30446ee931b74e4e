//! The scenarios where the work comes back to the executor later (issue 17): a burst of timers all due at the
//! same instant (`timer-burst`), and one Map fanning out to activity workers (`map-activity`). Both are
//! sized by a count of executions or tasks rather than by the window, because the question is how fast a
//! fixed backlog drains.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::client::{BenchClient, BenchError, RunStatus};
use super::cpu::{add_cpu_figures, CpuProbe};
use super::harness::{
    connect_clients, event_time, latency, wait_for_end, Settings, Target, ERROR_BACKOFF,
};
use super::report::{Figure, Rate, ScenarioReport};
use super::scenarios::{pass_chain_definition, Scenario};
use super::stats::LatencySummary;

/// Sizes of the count-bounded scenarios.
#[derive(Debug, Clone)]
pub struct AsyncSizes {
    /// Executions in one timer burst against sfn.
    pub burst_executions: u64,
    /// Executions in one timer burst against an `http://` endpoint (moto runs a thread per execution).
    pub burst_executions_aws_json: u64,
    /// Seconds from the start of the burst to its due instant; estimated from the start rate when absent.
    pub burst_lead: Option<Duration>,
    /// Map sizes of map-activity, one round each (per worker count).
    pub map_items: Vec<u64>,
    /// Worker counts of map-activity.
    pub map_workers: Vec<usize>,
}

/// Gap between DescribeExecution polls of one burst execution after its due time: the server does the
/// work meanwhile, and 16 pollers each checking one execution at a time must not compete with it.
const BURST_POLL: Duration = Duration::from_millis(50);

/// Gap between the ListExecutions calls that wait for the end of a burst's drain.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// The timer-burst machine: one Wait until the instant in the input's `due`.
pub fn timer_burst_definition() -> String {
    json!({
        "Comment": "sfn bench timer burst",
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "TimestampPath": "$.due", "End": true}}
    })
    .to_string()
}

/// A Map over `$.items` whose iterator is one activity Task, no concurrency limit.
pub fn map_activity_definition(activity_arn: &str) -> String {
    json!({
        "Comment": "sfn bench map-activity",
        "StartAt": "FanOut",
        "States": {"FanOut": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 0,
            "Iterator": {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity_arn, "End": true}}},
            "End": true
        }}
    })
    .to_string()
}

/// `2026-12-03T14:05:07Z`: whole seconds (moto truncates fractions, AWS's examples have none).
pub fn rfc3339_seconds(at: SystemTime) -> String {
    let seconds = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    chrono::DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The next whole second at or after `at`.
pub fn ceil_to_second(at: SystemTime) -> SystemTime {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    UNIX_EPOCH + Duration::from_secs(whole)
}

/// How far `at` is past `due`, clamped at zero, and how far before it when it was early.
fn after_due(at: SystemTime, due: SystemTime) -> (Duration, Option<Duration>) {
    match at.duration_since(due) {
        Ok(late) => (late, None),
        Err(early) => (Duration::ZERO, Some(early.duration())),
    }
}

/// Starts `count` executions with all clients at once; returns the ARNs and the calls/s achieved. Stops
/// starting at `stop_at` (wall clock) if given.
async fn start_many(
    clients: &[Arc<dyn BenchClient>],
    state_machine_arn: &str,
    input: &str,
    count: u64,
    stop_at: Option<SystemTime>,
) -> (Vec<String>, f64, Vec<String>) {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for client in clients {
        let (client, next) = (client.clone(), next.clone());
        let (arn, input) = (state_machine_arn.to_string(), input.to_string());
        tasks.spawn(async move {
            let mut arns = Vec::new();
            let mut errors = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                if stop_at.is_some_and(|stop| SystemTime::now() >= stop) {
                    break;
                }
                let name = uuid::Uuid::new_v4().to_string();
                match client.start_execution(&arn, &name, &input).await {
                    Ok(execution_arn) => arns.push(execution_arn),
                    Err(error) => {
                        errors.push(error.to_string());
                        tokio::time::sleep(ERROR_BACKOFF).await;
                    }
                }
            }
            (arns, errors)
        });
    }
    let mut arns = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((mine, failed)) => {
                arns.extend(mine);
                errors.extend(failed);
            }
            Err(error) => errors.push(format!("client task failed: {error}")),
        }
    }
    let rate = arns.len() as f64 / started.elapsed().as_secs_f64().max(f64::EPSILON);
    (arns, rate, errors)
}

/// What one burst execution showed in its history.
struct BurstOutcome {
    wait_exit: Option<SystemTime>,
    end: Option<SystemTime>,
}

/// Waits (politely) for each of `arns` to end, then reads its history; the clients share the list.
async fn collect_outcomes(
    clients: &[Arc<dyn BenchClient>],
    arns: Vec<String>,
    give_up_at: Instant,
) -> (Vec<BurstOutcome>, Vec<String>) {
    let arns = Arc::new(arns);
    let next = Arc::new(AtomicU64::new(0));
    let poll = Settings {
        duration: Duration::ZERO,
        clients: 1,
        workers: 1,
        poll_interval: BURST_POLL,
        max_poll_interval: BURST_POLL,
        drain_timeout: Duration::ZERO,
    };
    let mut tasks = JoinSet::new();
    for client in clients {
        let (client, next, arns) = (client.clone(), next.clone(), arns.clone());
        tasks.spawn(async move {
            let mut outcomes = Vec::new();
            let mut errors = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(arn) = arns.get(index) else { break };
                let outcome = async {
                    let (status, _) = wait_for_end(client.as_ref(), arn, &poll, give_up_at).await?;
                    if status != RunStatus::Succeeded {
                        return Err(BenchError::Response {
                            operation: "DescribeExecution",
                            message: format!("{arn} ended {status:?}, expected SUCCEEDED"),
                        });
                    }
                    let history = client.get_execution_history(arn).await?;
                    Ok(BurstOutcome {
                        wait_exit: event_time(&history, "WaitStateExited"),
                        end: event_time(&history, "ExecutionSucceeded"),
                    })
                }
                .await;
                match outcome {
                    Ok(outcome) => outcomes.push(outcome),
                    Err(error) => errors.push(error.to_string()),
                }
            }
            (outcomes, errors)
        });
    }
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((mine, failed)) => {
                outcomes.extend(mine);
                errors.extend(failed);
            }
            Err(error) => errors.push(format!("client task failed: {error}")),
        }
    }
    (outcomes, errors)
}

/// N executions parked on a Wait that ends at one instant: how late each one's Wait exits and how late the
/// last one ends, from the server's history timestamps.
pub async fn timer_burst(
    target: &Target,
    settings: &Settings,
    sizes: &AsyncSizes,
    run_id: &str,
) -> Result<ScenarioReport, BenchError> {
    let count = match target {
        Target::AwsJson(_) => sizes.burst_executions_aws_json,
        Target::Grpc(_) | Target::AwsDoor(_) => sizes.burst_executions,
    }
    .max(1);
    let clients = connect_clients(target, settings.clients).await?;
    let mut report = ScenarioReport {
        scenario: Scenario::TimerBurst.name(),
        target: target.address().to_string(),
        clients: clients.len(),
        items: Some(count),
        ..Default::default()
    };
    let mut errors: Vec<String> = Vec::new();

    // The due instant must come after the last StartExecution returns: estimate the start rate from a
    // short run of 1-state executions unless told.
    let lead = match sizes.burst_lead {
        Some(lead) => lead,
        None => {
            let probe_arn = clients[0]
                .create_state_machine(
                    &format!("bench-timer-burst-probe-{run_id}"),
                    &pass_chain_definition(1),
                )
                .await?;
            let probes = (count / 20).clamp(20, 500);
            let (_, rate, failed) = start_many(&clients, &probe_arn, "{}", probes, None).await;
            errors.extend(failed);
            // Half again the estimate, and the parked executions make starts slower than 1-state ones.
            Duration::from_secs_f64(count as f64 / rate.max(1.0) * 1.5 + 2.0)
        }
    };
    let state_machine_arn = clients[0]
        .create_state_machine(
            &format!("bench-timer-burst-{run_id}"),
            &timer_burst_definition(),
        )
        .await?;
    let burst_started = SystemTime::now();
    let due = ceil_to_second(burst_started + lead);
    let input = json!({"due": rfc3339_seconds(due)}).to_string();
    let start_clock = Instant::now();
    let (arns, start_rate, failed) =
        start_many(&clients, &state_machine_arn, &input, count, Some(due)).await;
    let start_phase = start_clock.elapsed();
    errors.extend(failed);
    let started_all = SystemTime::now();
    if (arns.len() as u64) < count {
        report.notes.push(format!(
            "only {} of {count} executions started before the due instant (raise --burst-lead)",
            arns.len()
        ));
    }

    // Nothing can end before the due instant; then wait for each execution and read its history.
    if let Ok(until_due) = due.duration_since(SystemTime::now()) {
        tokio::time::sleep(until_due).await;
    }
    let give_up_at = Instant::now() + settings.drain_timeout;
    // Histories are read once the drain is over: read during it, 16 clients chasing the executions as
    // they end would compete with the executor for the CPU. The lateness comes from the server's event
    // timestamps, so when they are read does not change it.
    while Instant::now() < give_up_at {
        match clients[0].any_running(&state_machine_arn).await {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => errors.push(error.to_string()),
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let (outcomes, failed) = collect_outcomes(&clients, arns, give_up_at).await;
    errors.extend(failed);

    let mut wait_lateness = Vec::new();
    let mut end_lateness = Vec::new();
    let mut early = Vec::new();
    let mut no_wait_event = 0u64;
    for outcome in &outcomes {
        let exit = match outcome.wait_exit {
            Some(exit) => exit,
            None => {
                no_wait_event += 1;
                match outcome.end {
                    Some(end) => end,
                    None => continue,
                }
            }
        };
        let (late, was_early) = after_due(exit, due);
        early.extend(was_early);
        wait_lateness.push(late);
        if let Some(end) = outcome.end {
            end_lateness.push(after_due(end, due).0);
        }
    }
    report.completed = wait_lateness.len() as u64;
    report.errors = errors.len() as u64;
    report.first_error = errors.into_iter().next();
    report.duration_s = start_phase.as_secs_f64();
    report.rates = vec![Rate {
        label: "burst starts/s",
        per_second: start_rate,
    }];
    let last_end = end_lateness.iter().max().copied();
    report.latencies = [
        latency(
            "Wait exit after due",
            "wait_exit_lateness_ms",
            wait_lateness,
        ),
        latency("end after due", "end_lateness_ms", end_lateness),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(last) = last_end {
        report.figures.push(Figure {
            label: "last ended after due (ms)",
            key: "last_end_after_due_ms",
            value: last.as_secs_f64() * 1000.0,
        });
    }
    report.figures.push(Figure {
        label: "due after last start (ms)",
        key: "due_after_last_start_ms",
        value: due
            .duration_since(started_all)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0,
    });
    if let Some(summary) = LatencySummary::of(early) {
        report.notes.push(format!(
            "{} Wait state(s) exited before the due instant (counted as 0 late): early by p50 {:.0} ms, \
             max {:.0} ms",
            summary.samples, summary.p50_ms, summary.max_ms
        ));
    }
    if no_wait_event > 0 {
        report.notes.push(format!(
            "{no_wait_event} history(ies) without WaitStateExited: the end event stands in for it"
        ));
    }
    report.method = format!(
        "{count} executions of one Wait (TimestampPath, whole seconds) all due at one instant, started by {} \
         clients before it; lateness = server timestamp of WaitStateExited (and of ExecutionSucceeded) - \
         the due instant, from GetExecutionHistory once none was RUNNING any more; early exits count as 0 and \
         are noted",
        clients.len()
    );
    Ok(report)
}

/// What the workers of one map-activity round saw.
#[derive(Default)]
struct WorkerTally {
    answered: u64,
    errors: Vec<String>,
    /// GetActivityTask calls that returned a task: how long each waited.
    poll_waits: Vec<Duration>,
    /// SendTaskSuccess calls: how long each took.
    answer_calls: Vec<Duration>,
}

async fn map_worker(
    client: Arc<dyn BenchClient>,
    activity_arn: Arc<str>,
    worker_name: String,
    mut stop: watch::Receiver<bool>,
    tally: Arc<Mutex<WorkerTally>>,
) {
    let mut mine = WorkerTally::default();
    loop {
        if *stop.borrow() {
            break;
        }
        let polled_at = Instant::now();
        let polled = tokio::select! {
            polled = client.get_activity_task(&activity_arn, &worker_name) => polled,
            _ = stop.changed() => break,
        };
        match polled {
            Ok(None) => {}
            Ok(Some(task)) => {
                let received = Instant::now();
                mine.poll_waits.push(received - polled_at);
                match client.send_task_success(&task.task_token, "{}").await {
                    Ok(()) => {
                        mine.answered += 1;
                        mine.answer_calls.push(received.elapsed());
                    }
                    Err(error) => mine.errors.push(error.to_string()),
                }
            }
            Err(error) => {
                mine.errors.push(error.to_string());
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
    let mut tally = tally
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    tally.answered += mine.answered;
    tally.errors.extend(mine.errors);
    tally.poll_waits.extend(mine.poll_waits);
    tally.answer_calls.extend(mine.answer_calls);
}

/// One execution whose Map fans out `items` activity tasks to `workers` workers; tasks/s = items / (start
/// → SUCCEEDED seen), or tasks answered / window when it did not end within `--duration`.
async fn map_activity_round(
    target: &Target,
    settings: &Settings,
    run_id: &str,
    items: u64,
    workers: usize,
) -> Result<ScenarioReport, BenchError> {
    let client = target.connect().await?;
    let name = format!("bench-map-activity-{run_id}-{items}-{workers}");
    let activity_arn: Arc<str> = client.create_activity(&name).await?.into();
    let state_machine_arn = client
        .create_state_machine(&name, &map_activity_definition(&activity_arn))
        .await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let tally = Arc::new(Mutex::new(WorkerTally::default()));
    let mut tasks = JoinSet::new();
    for index in 0..workers {
        tasks.spawn(map_worker(
            target.connect().await?,
            activity_arn.clone(),
            format!("bench-map-worker-{index}"),
            stop_rx.clone(),
            tally.clone(),
        ));
    }

    let input = json!({"items": (0..items).collect::<Vec<_>>()}).to_string();
    let started = Instant::now();
    let execution_arn = client
        .start_execution(
            &state_machine_arn,
            &uuid::Uuid::new_v4().to_string(),
            &input,
        )
        .await?;
    let poll = Settings {
        poll_interval: settings.poll_interval.max(Duration::from_millis(5)),
        max_poll_interval: Duration::from_millis(20),
        ..*settings
    };
    let window_end = started + settings.duration;
    let ended = wait_for_end(client.as_ref(), &execution_arn, &poll, window_end).await;
    let elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));

    let mut report = ScenarioReport {
        scenario: Scenario::MapActivity.name(),
        target: target.address().to_string(),
        clients: 1,
        workers: Some(workers),
        items: Some(items),
        duration_s: elapsed.as_secs_f64(),
        completed: tally.answered,
        ..Default::default()
    };
    let mut errors = tally.errors;
    let per_second = match ended {
        Ok((RunStatus::Succeeded, seen_at)) => items as f64 / (seen_at - started).as_secs_f64(),
        Ok((status, _)) => {
            errors.push(format!(
                "{execution_arn} ended {status:?}, expected SUCCEEDED"
            ));
            0.0
        }
        Err(_) => {
            report.notes.push(format!(
                "did not end within the {} s window: {} of {items} tasks answered; stopped",
                settings.duration.as_secs(),
                tally.answered
            ));
            if let Err(error) = client.stop_execution(&execution_arn).await {
                errors.push(error.to_string());
            }
            tally.answered as f64 / elapsed.as_secs_f64()
        }
    };
    report.errors = errors.len() as u64;
    report.first_error = errors.into_iter().next();
    report.rates = vec![Rate {
        label: "tasks/s",
        per_second,
    }];
    report.latencies = [
        latency("GetActivityTask wait", "poll_wait_ms", tally.poll_waits),
        latency("SendTaskSuccess call", "answer_call_ms", tally.answer_calls),
    ]
    .into_iter()
    .flatten()
    .collect();
    report.method = format!(
        "one execution, a Map (MaxConcurrency 0) of {items} activity Tasks; {workers} worker(s) loop \
         GetActivityTask -> SendTaskSuccess at once; tasks/s = items / (StartExecution -> SUCCEEDED seen \
         by polling every <= 20 ms), or answered / window when the window (--duration) ends first"
    );
    Ok(report)
}

/// Every (items, workers) round of map-activity against one target.
pub async fn map_activity(
    target: &Target,
    settings: &Settings,
    sizes: &AsyncSizes,
    probe: &CpuProbe,
    run_id: &str,
) -> Vec<ScenarioReport> {
    if let Target::AwsJson(_) = target {
        return vec![ScenarioReport {
            scenario: Scenario::MapActivity.name(),
            target: target.address().to_string(),
            skipped: Some("moto has no GetActivityTask".to_string()),
            ..Default::default()
        }];
    }
    let mut reports = Vec::new();
    for &items in &sizes.map_items {
        for &workers in &sizes.map_workers {
            eprintln!(
                "sfn bench: map-activity N={items} W={workers} against {}",
                target.address()
            );
            let before = probe.sample();
            let round = map_activity_round(target, settings, run_id, items, workers.max(1)).await;
            let mut round = round.unwrap_or_else(|error| ScenarioReport {
                scenario: Scenario::MapActivity.name(),
                target: target.address().to_string(),
                workers: Some(workers),
                items: Some(items),
                errors: 1,
                first_error: Some(format!("setup: {error}")),
                ..Default::default()
            });
            add_cpu_figures(&mut round, before, probe.sample());
            reports.push(round);
        }
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_instants_are_whole_utc_seconds() {
        let at = UNIX_EPOCH + Duration::from_millis(1_796_306_707_250);
        assert_eq!(
            ceil_to_second(at),
            UNIX_EPOCH + Duration::from_secs(1_796_306_708)
        );
        let whole = UNIX_EPOCH + Duration::from_secs(1_796_306_708);
        assert_eq!(ceil_to_second(whole), whole);
        assert_eq!(rfc3339_seconds(whole), "2026-12-03T14:05:08Z");
    }

    #[test]
    fn lateness_is_measured_from_the_due_instant() {
        let due = UNIX_EPOCH + Duration::from_secs(100);
        assert_eq!(
            after_due(due + Duration::from_millis(250), due),
            (Duration::from_millis(250), None)
        );
        assert_eq!(
            after_due(due - Duration::from_millis(1), due),
            (Duration::ZERO, Some(Duration::from_millis(1)))
        );
    }

    #[test]
    fn definitions_validate_with_our_engine() {
        let activity = "arn:aws:states:us-east-1:123456789012:activity:bench";
        for definition in [timer_burst_definition(), map_activity_definition(activity)] {
            assert!(
                crate::asl::validate_definition(&definition, false).is_ok(),
                "{definition}"
            );
        }
    }
}
