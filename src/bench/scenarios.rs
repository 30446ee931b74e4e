//! The benchmark scenarios, each bounded in time, written once against [`BenchClient`].
//!
//! Every scenario is closed-loop: each client runs one unit of work (e.g. start an execution and poll it to its
//! end), then the next, until the deadline. Work that finishes after the deadline is drained (awaited, so the
//! next scenario starts on an idle server) but not counted; rates are units finished in the window / window.

//!
//! The machinery they share (targets, the closed loop, tallies, report fields) is in [`super::harness`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use super::client::{BenchClient, BenchError};
use super::harness::{
    base_report, closed_loop, connect_clients, event_time, latency, per_second, poll_method,
    require_succeeded, run_to_success, timer_lateness, wait_for_end, Sample, Settings, Tally,
    Target, ERROR_BACKOFF,
};
use super::report::{Rate, ScenarioReport};

/// States entered by one pass-chain execution.
pub const PASS_CHAIN_STATES: u64 = 10;
/// Items of the map scenario's input array.
pub const MAP_ITEMS: u64 = 100;
/// States entered by one map execution: the Map state, then 3 Pass states per item.
pub const MAP_STATES: u64 = 1 + MAP_ITEMS * 3;
/// The Wait state's Seconds in the wait scenario.
pub const WAIT_SECONDS: u64 = 1;

/// A scenario of `sfn bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// 10-state Pass chain, C clients each looping start → poll until done.
    PassChain,
    /// The pass chain in JSONata: each state's Output an expression, variables assigned and read.
    JsonataChain,
    /// StartExecution alone (1-state Pass machine), C callers.
    StartOnly,
    /// 1 client, 1-state Pass machine: start → SUCCEEDED latency.
    Latency,
    /// Map over 100 items with a 3-state Pass iterator, MaxConcurrency 0.
    Map,
    /// W workers long-polling one activity; executions with one activity Task.
    Activity,
    /// Executions with a 1-second Wait: how late the timer fires.
    Wait,
    /// pass-chain against 1, 2 and 3 executor processes on one Postgres (needs --scale-out-database).
    ScaleOut,
    /// A parent whose one Task starts a 1-state Pass child with `states:startExecution.sync:2`.
    Nested,
    /// One HTTP Task (`http:invoke`) against an endpoint the bench serves on loopback (the server must
    /// allow it: `--http-allow 127.0.0.1`).
    Http,
    /// N executions parked on one Wait that ends at the same instant: how late they leave it.
    TimerBurst,
    /// One Map of N activity Tasks served by W workers: tasks/s.
    MapActivity,
    /// pass-chain, then N executions (default 1,000,000) through the same database, then pass-chain again.
    /// Only when named: it is not among the scenarios run by default.
    Soak,
    /// Executions of one `aws-sdk:dynamodb:putItem` Task against the server's DynamoDB endpoint: tasks/s.
    /// Not in `ALL`: the server must be configured with that endpoint.
    AwsSdk,
}

impl Scenario {
    /// All scenarios, in the order they run by default.
    pub const ALL: [Scenario; 12] = [
        Scenario::PassChain,
        Scenario::JsonataChain,
        Scenario::StartOnly,
        Scenario::Latency,
        Scenario::Map,
        Scenario::Activity,
        Scenario::Wait,
        Scenario::ScaleOut,
        Scenario::Nested,
        Scenario::Http,
        Scenario::TimerBurst,
        Scenario::MapActivity,
    ];

    /// The name used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::PassChain => "pass-chain",
            Scenario::JsonataChain => "jsonata-chain",
            Scenario::StartOnly => "start-only",
            Scenario::Latency => "latency",
            Scenario::Map => "map",
            Scenario::Activity => "activity",
            Scenario::Wait => "wait",
            Scenario::ScaleOut => "scale-out",
            Scenario::Nested => "nested",
            Scenario::Http => "http",
            Scenario::TimerBurst => "timer-burst",
            Scenario::MapActivity => "map-activity",
            Scenario::Soak => "soak",
            Scenario::AwsSdk => "aws-sdk",
        }
    }
}

/// A chain of `states` Pass states.
pub fn pass_chain_definition(states: u64) -> String {
    let mut chain = serde_json::Map::new();
    for index in 1..=states {
        let state = if index == states {
            json!({"Type": "Pass", "End": true})
        } else {
            json!({"Type": "Pass", "Next": format!("Step{}", index + 1)})
        };
        chain.insert(format!("Step{index}"), state);
    }
    json!({"Comment": "sfn bench pass chain", "StartAt": "Step1", "States": chain}).to_string()
}

/// [`pass_chain_definition`] in JSONata: each state builds its Output with an expression over
/// `$states.input`, the first assigns a variable and the others read it.
pub fn jsonata_chain_definition(states: u64) -> String {
    let mut chain = serde_json::Map::new();
    for index in 1..=states {
        let mut state = json!({"Type": "Pass",
            "Output": {"input": "{% $states.input %}", "step": index, "first": "{% $first %}"}});
        if index == 1 {
            state["Assign"] = json!({"first": "{% $states.context.State.Name %}"});
            state["Output"]["first"] = json!("Step1");
        }
        if index == states {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("Step{}", index + 1));
        }
        chain.insert(format!("Step{index}"), state);
    }
    json!({"Comment": "sfn bench jsonata chain", "QueryLanguage": "JSONata", "StartAt": "Step1", "States": chain})
        .to_string()
}

/// A Map over `$.items` with a 3-state Pass iterator and no concurrency limit.
pub fn map_definition() -> String {
    json!({
        "Comment": "sfn bench map",
        "StartAt": "FanOut",
        "States": {
            "FanOut": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 0,
                "Iterator": {
                    "StartAt": "First",
                    "States": {
                        "First": {"Type": "Pass", "Next": "Second"},
                        "Second": {"Type": "Pass", "Next": "Third"},
                        "Third": {"Type": "Pass", "End": true}
                    }
                },
                "End": true
            }
        }
    })
    .to_string()
}

/// The map scenario's input: `{"items": [0, 1, …, 99]}`.
pub fn map_input() -> String {
    json!({"items": (0..MAP_ITEMS).collect::<Vec<_>>()}).to_string()
}

/// One activity Task state.
pub fn activity_definition(activity_arn: &str) -> String {
    json!({
        "Comment": "sfn bench activity",
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity_arn, "End": true}}
    })
    .to_string()
}

/// One Wait state of [`WAIT_SECONDS`].
pub fn wait_definition() -> String {
    json!({
        "Comment": "sfn bench wait",
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": WAIT_SECONDS, "End": true}}
    })
    .to_string()
}

/// Runs one scenario against one target.
pub async fn run_scenario(
    scenario: Scenario,
    target: &Target,
    settings: &Settings,
    run_id: &str,
) -> ScenarioReport {
    let result = match scenario {
        Scenario::PassChain => {
            executions_scenario(
                scenario,
                target,
                settings,
                run_id,
                settings.clients,
                ExecutionShape::pass_chain(),
            )
            .await
        }
        Scenario::JsonataChain => {
            executions_scenario(
                scenario,
                target,
                settings,
                run_id,
                settings.clients,
                ExecutionShape::jsonata_chain(),
            )
            .await
        }
        Scenario::Latency => {
            // One client: poll at the finest interval throughout, for the most exact latency.
            let fine = Settings {
                max_poll_interval: settings.poll_interval,
                ..*settings
            };
            executions_scenario(
                scenario,
                target,
                &fine,
                run_id,
                1,
                ExecutionShape::single_pass(),
            )
            .await
        }
        Scenario::Map => {
            executions_scenario(
                scenario,
                target,
                settings,
                run_id,
                settings.clients,
                ExecutionShape::map(),
            )
            .await
        }
        Scenario::Nested => match target {
            Target::AwsJson(_) => {
                return ScenarioReport {
                    scenario: scenario.name(),
                    target: target.address().to_string(),
                    skipped: Some("nested executions are not measured against moto".to_string()),
                    ..Default::default()
                }
            }
            Target::Grpc(_) | Target::AwsDoor(_) => {
                executions_scenario(
                    scenario,
                    target,
                    settings,
                    run_id,
                    settings.clients,
                    ExecutionShape::nested(),
                )
                .await
            }
        },
        Scenario::Http => match target {
            Target::AwsJson(_) => {
                return ScenarioReport {
                    scenario: scenario.name(),
                    target: target.address().to_string(),
                    skipped: Some("HTTP tasks are not measured against moto".to_string()),
                    ..Default::default()
                }
            }
            Target::Grpc(_) | Target::AwsDoor(_) => http_tasks(target, settings, run_id).await,
        },
        Scenario::AwsSdk => match target {
            Target::AwsJson(_) => {
                return ScenarioReport {
                    scenario: scenario.name(),
                    target: target.address().to_string(),
                    skipped: Some("moto does not run Task states".to_string()),
                    ..Default::default()
                }
            }
            Target::Grpc(_) | Target::AwsDoor(_) => {
                super::aws_sdk::aws_sdk(target, settings, run_id).await
            }
        },
        Scenario::StartOnly => start_only(target, settings, run_id).await,
        Scenario::Activity => match target {
            Target::AwsJson(_) => {
                return ScenarioReport {
                    scenario: scenario.name(),
                    target: target.address().to_string(),
                    skipped: Some("moto has no GetActivityTask".to_string()),
                    ..Default::default()
                }
            }
            Target::Grpc(_) | Target::AwsDoor(_) => {
                // One caller (the idle case): poll at the finest interval, as the latency scenario does.
                let polling = if settings.clients == 1 {
                    Settings {
                        max_poll_interval: settings.poll_interval,
                        ..*settings
                    }
                } else {
                    *settings
                };
                activity(target, &polling, run_id).await
            }
        },
        Scenario::Wait => wait(target, settings, run_id).await,
        // Sized by counts, not the window: `measure` runs them through `async_work` and `soak`.
        Scenario::TimerBurst | Scenario::MapActivity | Scenario::Soak => {
            return ScenarioReport {
                scenario: scenario.name(),
                target: target.address().to_string(),
                skipped: Some("runs through sfn bench's measure (async_work, soak)".to_string()),
                ..Default::default()
            }
        }
        // It starts its own servers (see `scale_out`); `measure` runs it once, not per target.
        Scenario::ScaleOut => {
            return ScenarioReport {
                scenario: scenario.name(),
                target: target.address().to_string(),
                skipped: Some(
                    "scale-out starts its own servers; it runs once per bench".to_string(),
                ),
                ..Default::default()
            }
        }
    };
    result.unwrap_or_else(|error| ScenarioReport {
        scenario: scenario.name(),
        target: target.address().to_string(),
        duration_s: settings.duration.as_secs_f64(),
        errors: 1,
        first_error: Some(format!("setup: {error}")),
        ..Default::default()
    })
}

/// A state machine whose executions are run start → SUCCEEDED, and how many states each enters.
#[derive(Clone)]
pub(super) struct ExecutionShape {
    /// With `child`: `CHILD_ARN` in it stands for the child machine's ARN.
    pub(super) definition: String,
    /// A second machine the first one starts (nested executions).
    pub(super) child: Option<String>,
    pub(super) input: String,
    pub(super) states_per_execution: u64,
    pub(super) states_label: &'static str,
    pub(super) states_note: &'static str,
}

impl ExecutionShape {
    fn nested() -> Self {
        ExecutionShape {
            definition:
                json!({"Comment": "sfn bench nested", "StartAt": "Child", "States": {"Child": {
                "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": "CHILD_ARN", "Input": {"n": 1}},
                "OutputPath": "$.Output", "End": true}}})
                .to_string(),
            child: Some(pass_chain_definition(1)),
            input: "{}".to_string(),
            states_per_execution: 2,
            states_label: "states/s",
            states_note: "per execution: the parent's Task (.sync:2) and the child's 1 Pass state",
        }
    }

    fn pass_chain() -> Self {
        ExecutionShape {
            child: None,
            definition: pass_chain_definition(PASS_CHAIN_STATES),
            input: "{}".to_string(),
            states_per_execution: PASS_CHAIN_STATES,
            states_label: "state transitions/s",
            states_note: "state transitions = states entered = 10 per execution",
        }
    }

    fn jsonata_chain() -> Self {
        ExecutionShape {
            definition: jsonata_chain_definition(PASS_CHAIN_STATES),
            child: None,
            input: "{}".to_string(),
            states_per_execution: PASS_CHAIN_STATES,
            states_label: "state transitions/s",
            states_note: "state transitions = states entered = 10 per execution (JSONata)",
        }
    }

    fn single_pass() -> Self {
        ExecutionShape {
            child: None,
            definition: pass_chain_definition(1),
            input: "{}".to_string(),
            states_per_execution: 1,
            states_label: "state transitions/s",
            states_note: "1 Pass state per execution",
        }
    }

    fn map() -> Self {
        ExecutionShape {
            child: None,
            definition: map_definition(),
            input: map_input(),
            states_per_execution: MAP_STATES,
            states_label: "states/s",
            states_note: "states = states entered = 1 Map + 100 items x 3 Pass = 301 per execution",
        }
    }
}

/// HTTP Tasks against the bench's own endpoint: executions of one `http:invoke` Task, C clients, then the
/// latency one client sees against the same for a 1-state Pass machine (what the HTTP Task adds).
async fn http_tasks(
    target: &Target,
    settings: &Settings,
    run_id: &str,
) -> Result<ScenarioReport, BenchError> {
    let endpoint = super::http_endpoint::HttpEndpoint::start()
        .await
        .map_err(|e| BenchError::Transport {
            operation: "the http scenario's endpoint",
            message: e.to_string(),
        })?;
    let definition = json!({"Comment": "sfn bench http", "StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {"ApiEndpoint": format!("http://{}/bench", endpoint.addr), "Method": "GET"},
        "ResultSelector": {"status.$": "$.StatusCode"}, "End": true}}})
    .to_string();
    // One call first: a server that does not allow the endpoint fails it (States.Permissions).
    let probe = connect_clients(target, 1).await?;
    let machine = probe[0]
        .create_state_machine(&format!("bench-http-probe-{run_id}"), &definition)
        .await?;
    let give_up_at = Instant::now() + settings.drain_timeout;
    if let Err(error) =
        run_to_success(probe[0].as_ref(), &machine, "{}", settings, give_up_at).await
    {
        return Ok(ScenarioReport {
            scenario: Scenario::Http.name(),
            target: target.address().to_string(),
            skipped: Some(format!(
                "an HTTP Task to {} failed ({error}): start the server with --http-allow 127.0.0.1",
                endpoint.addr
            )),
            ..Default::default()
        });
    }
    let before = endpoint.requests();
    let shape = ExecutionShape {
        definition,
        child: None,
        input: "{}".to_string(),
        states_per_execution: 1,
        states_label: "HTTP tasks/s",
        states_note:
            "one HTTP Task per execution, answered at once by the bench's loopback endpoint",
    };
    let mut report = executions_scenario(
        Scenario::Http,
        target,
        settings,
        run_id,
        settings.clients,
        shape.clone(),
    )
    .await?;
    let calls = endpoint.requests() - before;
    report.notes.push(format!(
        "the endpoint answered {calls} requests ({} executions completed)",
        report.completed
    ));
    // What the task adds to one execution's latency: 1 client, the HTTP Task machine and a Pass machine.
    let alone = Settings {
        duration: settings.duration.min(Duration::from_secs(3)),
        max_poll_interval: settings.poll_interval,
        ..*settings
    };
    let with_http = executions_scenario(
        Scenario::Http,
        target,
        &alone,
        &format!("{run_id}-1"),
        1,
        shape,
    )
    .await?;
    let with_pass = executions_scenario(
        Scenario::Http,
        target,
        &alone,
        &format!("{run_id}-pass"),
        1,
        ExecutionShape::single_pass(),
    )
    .await?;
    let summary = |r: &ScenarioReport| r.latencies.first().map(|l| l.summary);
    if let (Some(http), Some(pass)) = (summary(&with_http), summary(&with_pass)) {
        report.notes.push(format!(
            "added latency (1 client, HTTP Task vs 1-state Pass): p50 {:.2} ms, p99 {:.2} ms \
             ({:.2}/{:.2} vs {:.2}/{:.2} ms)",
            http.p50_ms - pass.p50_ms,
            http.p99_ms - pass.p99_ms,
            http.p50_ms,
            http.p99_ms,
            pass.p50_ms,
            pass.p99_ms
        ));
    }
    report.errors += with_http.errors + with_pass.errors;
    Ok(report)
}

/// pass-chain, latency and map: clients loop start → poll until SUCCEEDED.
pub(super) async fn executions_scenario(
    scenario: Scenario,
    target: &Target,
    settings: &Settings,
    run_id: &str,
    client_count: usize,
    shape: ExecutionShape,
) -> Result<ScenarioReport, BenchError> {
    let clients = connect_clients(target, client_count).await?;
    let machine_name = format!("bench-{}-{run_id}", scenario.name());
    let definition = match &shape.child {
        Some(child) => {
            let child_arn = clients[0]
                .create_state_machine(&format!("{machine_name}-child"), child)
                .await?;
            shape.definition.replace("CHILD_ARN", &child_arn)
        }
        None => shape.definition.clone(),
    };
    let state_machine_arn: Arc<str> = clients[0]
        .create_state_machine(&machine_name, &definition)
        .await?
        .into();
    let input: Arc<str> = shape.input.clone().into();
    let deadline = Instant::now() + settings.duration;
    let give_up_at = deadline + settings.drain_timeout;
    let loop_settings = *settings;
    let tally = closed_loop(&clients, deadline, move |client| {
        let state_machine_arn = state_machine_arn.clone();
        let input = input.clone();
        async move {
            run_to_success(
                client.as_ref(),
                &state_machine_arn,
                &input,
                &loop_settings,
                give_up_at,
            )
            .await
        }
    })
    .await;

    let mut report = base_report(scenario, target, settings, clients.len(), &tally);
    report.rates = vec![
        Rate {
            label: "executions/s",
            per_second: per_second(tally.completed, settings),
        },
        Rate {
            label: shape.states_label,
            per_second: per_second(tally.completed * shape.states_per_execution, settings),
        },
    ];
    report.latencies = latency("start→SUCCEEDED", "latency_ms", tally.latencies)
        .into_iter()
        .collect();
    report.method = format!("{}; {}", poll_method(settings), shape.states_note);
    Ok(report)
}

/// StartExecution alone: callers loop on it; the executions (1-state Pass) run on the server meanwhile, and
/// the last one of each caller is awaited afterwards so the backlog doesn't spill into the next scenario.
async fn start_only(
    target: &Target,
    settings: &Settings,
    run_id: &str,
) -> Result<ScenarioReport, BenchError> {
    let clients = connect_clients(target, settings.clients).await?;
    let machine_name = format!("bench-start-only-{run_id}");
    let state_machine_arn: Arc<str> = clients[0]
        .create_state_machine(&machine_name, &pass_chain_definition(1))
        .await?
        .into();
    let deadline = Instant::now() + settings.duration;
    let tally = closed_loop(&clients, deadline, move |client| {
        let state_machine_arn = state_machine_arn.clone();
        async move {
            let started = Instant::now();
            let name = uuid::Uuid::new_v4().to_string();
            let execution_arn = client
                .start_execution(&state_machine_arn, &name, "{}")
                .await?;
            let returned = Instant::now();
            let mut sample = Sample::new(returned, returned - started);
            sample.execution_arn = Some(execution_arn);
            Ok(sample)
        }
    })
    .await;

    let drain_started = Instant::now();
    let give_up_at = drain_started + settings.drain_timeout;
    let mut drain_errors = Tally::default();
    for (client, execution_arn) in clients.iter().zip(&tally.last_executions) {
        let drain = Settings {
            poll_interval: settings.poll_interval.max(Duration::from_millis(10)),
            ..*settings
        };
        if let Err(error) = wait_for_end(client.as_ref(), execution_arn, &drain, give_up_at).await {
            drain_errors.error(format!("drain: {error}"));
        }
    }
    let mut report = base_report(Scenario::StartOnly, target, settings, clients.len(), &tally);
    report.errors += drain_errors.errors;
    if report.first_error.is_none() {
        report.first_error = drain_errors.first_error;
    }
    report.rates = vec![Rate {
        label: "calls/s",
        per_second: per_second(tally.completed, settings),
    }];
    report.latencies = latency("StartExecution call", "call_latency_ms", tally.latencies)
        .into_iter()
        .collect();
    report.notes.push(format!(
        "backlog drained {:.1} s after the window",
        drain_started.elapsed().as_secs_f64()
    ));
    report.method =
        "StartExecution calls returned in the window / window; executions are of a 1-state \
                     Pass machine and run on the server meanwhile"
            .to_string();
    Ok(report)
}

/// What an activity worker tells the starter of the execution whose task it received.
struct TaskReceipt {
    received_at: Instant,
    received_wall: SystemTime,
    send_error: Option<String>,
}

type WaitingStarters = Arc<Mutex<HashMap<String, oneshot::Sender<TaskReceipt>>>>;

fn take_waiting(waiting: &WaitingStarters, name: &str) -> Option<oneshot::Sender<TaskReceipt>> {
    // A poisoned lock only means another client task panicked; the map itself is still consistent.
    let mut waiting = waiting
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    waiting.remove(name)
}

/// The execution name a task belongs to: the starter puts it in the execution input, the Task passes it on.
fn bench_name(task_input: &str) -> Option<String> {
    serde_json::from_str::<Value>(task_input)
        .ok()?
        .get("benchName")?
        .as_str()
        .map(str::to_string)
}

async fn activity_worker(
    client: Arc<dyn BenchClient>,
    activity_arn: Arc<str>,
    worker_name: String,
    waiting: WaitingStarters,
    mut stop: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::default();
    loop {
        if *stop.borrow() {
            return tally;
        }
        let polled = tokio::select! {
            polled = client.get_activity_task(&activity_arn, &worker_name) => polled,
            _ = stop.changed() => return tally,
        };
        match polled {
            Ok(None) => {}
            Ok(Some(task)) => {
                let received_at = Instant::now();
                let received_wall = SystemTime::now();
                let sent = client.send_task_success(&task.task_token, "{}").await;
                let starter =
                    bench_name(&task.input).and_then(|name| take_waiting(&waiting, &name));
                match (starter, sent) {
                    (Some(starter), sent) => {
                        let receipt = TaskReceipt {
                            received_at,
                            received_wall,
                            send_error: sent.err().map(|e| e.to_string()),
                        };
                        // The starter gave up (drain timeout) when the receiver is gone; nothing to tell.
                        let _ = starter.send(receipt);
                    }
                    (None, Err(error)) => tally.error(error),
                    (None, Ok(())) => {}
                }
            }
            Err(error) => {
                tally.error(error);
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
}

/// One activity execution: start, wait for a worker to receive and complete the task, poll to SUCCEEDED,
/// then read ActivityScheduled's timestamp from the history.
async fn activity_execution(
    client: &dyn BenchClient,
    state_machine_arn: &str,
    waiting: &WaitingStarters,
    settings: &Settings,
    give_up_at: Instant,
) -> Result<Sample, BenchError> {
    let name = uuid::Uuid::new_v4().to_string();
    let (receipt_tx, receipt_rx) = oneshot::channel();
    waiting
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(name.clone(), receipt_tx);
    let input = json!({"benchName": name}).to_string();
    let started = client
        .start_execution(state_machine_arn, &name, &input)
        .await;
    let execution_arn = match started {
        Ok(arn) => arn,
        Err(error) => {
            take_waiting(waiting, &name);
            return Err(error);
        }
    };
    let no_receipt = |message: &str| BenchError::Response {
        operation: "GetActivityTask",
        message: format!("{execution_arn}: {message}"),
    };
    let receipt = match tokio::time::timeout_at(give_up_at.into(), receipt_rx).await {
        Ok(Ok(receipt)) => receipt,
        Ok(Err(_)) => return Err(no_receipt("the worker dropped the task")),
        Err(_) => {
            take_waiting(waiting, &name);
            return Err(no_receipt(
                "no worker received the task before the drain timeout",
            ));
        }
    };
    if let Some(error) = receipt.send_error {
        return Err(BenchError::Response {
            operation: "SendTaskSuccess",
            message: error,
        });
    }
    let (status, seen_at) = wait_for_end(client, &execution_arn, settings, give_up_at).await?;
    require_succeeded(status, &execution_arn)?;
    let history = client.get_execution_history(&execution_arn).await?;
    let scheduled =
        event_time(&history, "ActivityScheduled").ok_or_else(|| BenchError::Response {
            operation: "GetExecutionHistory",
            message: format!("{execution_arn}: no ActivityScheduled event"),
        })?;
    // Same host, same clock: the server's event timestamp and the worker's wall clock are comparable.
    let dispatch = receipt
        .received_wall
        .duration_since(scheduled)
        .unwrap_or(Duration::ZERO);
    let mut sample = Sample::new(seen_at, dispatch);
    sample.second_latency = Some(seen_at - receipt.received_at);
    Ok(sample)
}

async fn activity(
    target: &Target,
    settings: &Settings,
    run_id: &str,
) -> Result<ScenarioReport, BenchError> {
    let clients = connect_clients(target, settings.clients).await?;
    let activity_arn: Arc<str> = clients[0]
        .create_activity(&format!("bench-activity-{run_id}"))
        .await?
        .into();
    let state_machine_arn: Arc<str> = clients[0]
        .create_state_machine(
            &format!("bench-activity-{run_id}"),
            &activity_definition(&activity_arn),
        )
        .await?
        .into();
    let waiting: WaitingStarters = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = JoinSet::new();
    let worker_count = settings.workers.max(1);
    for index in 0..worker_count {
        let client = target.connect().await?;
        workers.spawn(activity_worker(
            client,
            activity_arn.clone(),
            format!("bench-worker-{index}"),
            waiting.clone(),
            stop_rx.clone(),
        ));
    }

    let deadline = Instant::now() + settings.duration;
    let give_up_at = deadline + settings.drain_timeout;
    let loop_settings = *settings;
    let loop_waiting = waiting.clone();
    let mut tally = closed_loop(&clients, deadline, move |client| {
        let state_machine_arn = state_machine_arn.clone();
        let waiting = loop_waiting.clone();
        async move {
            activity_execution(
                client.as_ref(),
                &state_machine_arn,
                &waiting,
                &loop_settings,
                give_up_at,
            )
            .await
        }
    })
    .await;
    // The receiver may already be gone if every worker ended; then they are stopped anyway.
    let _ = stop_tx.send(true);
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(worker_tally) => {
                tally.errors += worker_tally.errors;
                if tally.first_error.is_none() {
                    tally.first_error = worker_tally.first_error;
                }
            }
            Err(error) => tally.error(format!("worker task failed: {error}")),
        }
    }

    let mut report = base_report(Scenario::Activity, target, settings, clients.len(), &tally);
    report.workers = Some(worker_count);
    report.rates = vec![Rate {
        label: "tasks/s",
        per_second: per_second(tally.completed, settings),
    }];
    report.latencies = [
        latency("dispatch", "dispatch_ms", tally.latencies),
        latency("round trip", "round_trip_ms", tally.second_latencies),
    ]
    .into_iter()
    .flatten()
    .collect();
    report.method = format!(
        "dispatch = ActivityScheduled event timestamp (GetExecutionHistory) -> worker received the task \
         (wall clock, same host); round trip = task received -> SendTaskSuccess -> SUCCEEDED seen by the \
         caller polling DescribeExecution at once, then every {} ms (doubling up to {} ms); one task per \
         execution",
        settings.poll_interval.as_secs_f64() * 1000.0,
        settings
            .max_poll_interval
            .max(settings.poll_interval)
            .as_secs_f64()
            * 1000.0
    );
    Ok(report)
}

/// Executions with a 1-second Wait; lateness from the server's WaitStateEntered/WaitStateExited timestamps.
async fn wait(
    target: &Target,
    settings: &Settings,
    run_id: &str,
) -> Result<ScenarioReport, BenchError> {
    let clients = connect_clients(target, settings.clients).await?;
    let state_machine_arn: Arc<str> = clients[0]
        .create_state_machine(&format!("bench-wait-{run_id}"), &wait_definition())
        .await?
        .into();
    let deadline = Instant::now() + settings.duration;
    let give_up_at = deadline + settings.drain_timeout;
    let wait = Duration::from_secs(WAIT_SECONDS);
    let poll = *settings;
    let tally = closed_loop(&clients, deadline, move |client| {
        let state_machine_arn = state_machine_arn.clone();
        async move {
            let name = uuid::Uuid::new_v4().to_string();
            let execution_arn = client
                .start_execution(&state_machine_arn, &name, "{}")
                .await?;
            // Nothing can finish before the timer is due: polling earlier would only load the server.
            tokio::time::sleep(wait).await;
            let (status, seen_at) =
                wait_for_end(client.as_ref(), &execution_arn, &poll, give_up_at).await?;
            require_succeeded(status, &execution_arn)?;
            let history = client.get_execution_history(&execution_arn).await?;
            let missing = |event: &str| BenchError::Response {
                operation: "GetExecutionHistory",
                message: format!("{execution_arn}: no {event} event"),
            };
            let entered = event_time(&history, "WaitStateEntered")
                .ok_or_else(|| missing("WaitStateEntered"))?;
            let exited = event_time(&history, "WaitStateExited")
                .ok_or_else(|| missing("WaitStateExited"))?;
            let (lateness, fired_early) = timer_lateness(entered, exited, wait);
            let mut sample = Sample::new(seen_at, lateness);
            sample.fired_early = fired_early;
            Ok(sample)
        }
    })
    .await;

    let mut report = base_report(Scenario::Wait, target, settings, clients.len(), &tally);
    report.rates = vec![Rate {
        label: "executions/s",
        per_second: per_second(tally.completed, settings),
    }];
    report.latencies = latency("timer lateness", "lateness_ms", tally.latencies)
        .into_iter()
        .collect();
    if tally.fired_early > 0 {
        report.notes.push(format!(
            "{} timer(s) fired before their due time",
            tally.fired_early
        ));
    }
    report.method = format!(
        "lateness = WaitStateExited - WaitStateEntered - {WAIT_SECONDS} s (server timestamps from \
         GetExecutionHistory); early timers count as 0 and are noted"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn targets_are_chosen_by_scheme() {
        assert_eq!(
            Target::parse("grpc://127.0.0.1:50051"),
            Ok(Target::Grpc("grpc://127.0.0.1:50051".to_string()))
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:5000"),
            Ok(Target::AwsJson("http://127.0.0.1:5000".to_string()))
        );
        assert_eq!(
            Target::parse("aws+http://127.0.0.1:8083"),
            Ok(Target::AwsDoor("aws+http://127.0.0.1:8083".to_string()))
        );
        assert!(Target::parse("127.0.0.1:50051").is_err());
        assert!(Target::parse("https://states.us-east-1.amazonaws.com").is_err());
    }

    #[test]
    fn pass_chain_links_every_state_to_the_next() {
        let definition: Value = serde_json::from_str(&pass_chain_definition(10)).unwrap();
        assert_eq!(definition["StartAt"], "Step1");
        let states = definition["States"].as_object().unwrap();
        assert_eq!(states.len(), 10);
        for index in 1..10 {
            assert_eq!(
                states[&format!("Step{index}")]["Next"],
                format!("Step{}", index + 1)
            );
        }
        assert_eq!(states["Step10"]["End"], true);
        let single: Value = serde_json::from_str(&pass_chain_definition(1)).unwrap();
        assert_eq!(
            single["States"]["Step1"],
            json!({"Type": "Pass", "End": true})
        );
    }

    #[test]
    fn map_scenario_has_100_items_and_a_three_state_iterator() {
        let input: Value = serde_json::from_str(&map_input()).unwrap();
        assert_eq!(input["items"].as_array().unwrap().len(), 100);
        let definition: Value = serde_json::from_str(&map_definition()).unwrap();
        let map = &definition["States"]["FanOut"];
        assert_eq!(map["MaxConcurrency"], 0);
        assert_eq!(map["Iterator"]["States"].as_object().unwrap().len(), 3);
        assert_eq!(MAP_STATES, 301);
    }

    #[test]
    fn definitions_validate_with_our_engine() {
        let activity = "arn:aws:states:us-east-1:123456789012:activity:bench";
        for definition in [
            pass_chain_definition(10),
            map_definition(),
            activity_definition(activity),
            wait_definition(),
        ] {
            let parsed: Value = serde_json::from_str(&definition).unwrap();
            assert!(parsed["States"].is_object(), "{definition}");
            assert!(
                crate::asl::validate_definition(&definition, false).is_ok(),
                "{definition}"
            );
        }
    }

    #[test]
    fn timer_lateness_is_exit_minus_due() {
        let entered = UNIX_EPOCH + Duration::from_secs(1_000);
        let wait = Duration::from_secs(1);
        let cases = [
            (
                Duration::from_millis(1_012),
                (Duration::from_millis(12), false),
            ),
            (Duration::from_millis(1_000), (Duration::ZERO, false)),
            (Duration::from_millis(999), (Duration::ZERO, true)),
        ];
        for (after_entry, expected) in cases {
            assert_eq!(
                timer_lateness(entered, entered + after_entry, wait),
                expected
            );
        }
    }

    #[test]
    fn task_input_names_its_execution() {
        assert_eq!(
            bench_name(r#"{"benchName":"abc"}"#),
            Some("abc".to_string())
        );
        assert_eq!(bench_name(r#"{"other":1}"#), None);
        assert_eq!(bench_name("not json"), None);
    }

    #[test]
    fn samples_after_the_deadline_are_drained_not_counted() {
        let deadline = Instant::now();
        let mut tally = Tally::default();
        tally.record(
            Sample::new(
                deadline - Duration::from_millis(1),
                Duration::from_millis(3),
            ),
            deadline,
        );
        tally.record(
            Sample::new(
                deadline + Duration::from_millis(1),
                Duration::from_millis(4),
            ),
            deadline,
        );
        assert_eq!(tally.completed, 1);
        assert_eq!(tally.drained, 1);
        assert_eq!(tally.latencies, vec![Duration::from_millis(3)]);
    }
}
