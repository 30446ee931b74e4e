//! Executions run end to end: a real server on a fresh database, driven through the gRPC API. Every
//! scenario runs on both backends (`postgres::*` and `sqlite::*` tests).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Backend, TestServer};
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::clock::{Clock, ManualClock};
use tonic::Code;

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

async fn create_machine(server: &mut TestServer, name: &str, definition: Value) -> String {
    server
        .client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: name.into(),
            definition: definition.to_string(),
            role_arn: ROLE.into(),
            ..Default::default()
        })
        .await
        .expect("create state machine")
        .into_inner()
        .state_machine_arn
}

async fn create_activity(server: &mut TestServer, name: &str) -> String {
    server
        .client
        .create_activity(pb::CreateActivityRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .expect("create activity")
        .into_inner()
        .activity_arn
}

async fn start(server: &mut TestServer, machine: &str, input: Value) -> String {
    server
        .client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: machine.into(),
            input: Some(input.to_string()),
            ..Default::default()
        })
        .await
        .expect("start execution")
        .into_inner()
        .execution_arn
}

async fn describe(server: &mut TestServer, execution: &str) -> pb::DescribeExecutionResponse {
    server
        .client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution.into(),
            included_data: 0,
        })
        .await
        .expect("describe execution")
        .into_inner()
}

fn status_name(d: &pb::DescribeExecutionResponse) -> &'static str {
    pb::execution_status::Value::try_from(d.status)
        .map(|s| s.as_str_name())
        .unwrap_or("?")
}

/// Polls until the execution leaves RUNNING (or the timeout passes) and returns its description.
async fn wait_closed(
    server: &mut TestServer,
    execution: &str,
    timeout: Duration,
) -> pb::DescribeExecutionResponse {
    let deadline = Instant::now() + timeout;
    loop {
        let d = describe(server, execution).await;
        if status_name(&d) != "RUNNING" || Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn history(server: &mut TestServer, execution: &str) -> Vec<pb::HistoryEvent> {
    let mut events = Vec::new();
    let mut next_token = None;
    loop {
        let page = server
            .client
            .get_execution_history(pb::GetExecutionHistoryRequest {
                execution_arn: execution.into(),
                max_results: 1000,
                next_token,
                ..Default::default()
            })
            .await
            .expect("history")
            .into_inner();
        events.extend(page.events);
        match page.next_token {
            Some(t) => next_token = Some(t),
            None => return events,
        }
    }
}

/// Polls the history until `done` holds for its event types (10 s at most).
async fn wait_for_history(
    server: &mut TestServer,
    execution: &str,
    done: impl Fn(&[String]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(&types(&history(server, execution).await)) {
        assert!(Instant::now() < deadline, "history never got there");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn types(events: &[pb::HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            pb::history_event_type::Value::try_from(e.r#type)
                .map(|t| t.as_str_name().to_string())
                .unwrap_or_default()
        })
        .collect()
}

async fn poll_task(
    server: &mut TestServer,
    activity: &str,
    worker: &str,
) -> Option<(String, String)> {
    let response = server
        .client
        .get_activity_task(pb::GetActivityTaskRequest {
            activity_arn: activity.into(),
            worker_name: Some(worker.into()),
        })
        .await
        .expect("get activity task")
        .into_inner();
    response
        .task_token
        .map(|t| (t, response.input.unwrap_or_default()))
}

async fn send_success(
    server: &mut TestServer,
    token: &str,
    output: Value,
) -> Result<(), tonic::Status> {
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token.into(),
            output: output.to_string(),
        })
        .await
        .map(|_| ())
}

async fn pass_choice_parallel_map_workflow_runs_to_success(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let machine = create_machine(
        &mut server,
        "orders",
        json!({"StartAt": "Validate", "States": {
            "Validate": {"Type": "Pass", "Parameters": {"id.$": "$.order.id", "items.$": "$.order.items"}, "Next": "Route"},
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.id", "NumericGreaterThan": 100, "Next": "Fanout"}], "Default": "Reject"},
            "Reject": {"Type": "Fail", "Error": "Rejected"},
            "Fanout": {"Type": "Parallel", "ResultPath": "$.checks", "Next": "PerItem", "Branches": [
                {"StartAt": "Stock", "States": {"Stock": {"Type": "Pass", "Result": "in-stock", "End": true}}},
                {"StartAt": "Fraud", "States": {"Fraud": {"Type": "Pass", "Result": "clean", "End": true}}}]},
            "PerItem": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.priced", "Next": "Done",
                "ItemSelector": {"sku.$": "$$.Map.Item.Value", "n.$": "$$.Map.Item.Index"},
                "ItemProcessor": {"StartAt": "Price", "States": {"Price": {"Type": "Pass", "End": true}}}},
            "Done": {"Type": "Succeed"}}}),
    )
    .await;
    let execution = start(
        &mut server,
        &machine,
        json!({"order": {"id": 101, "items": ["a", "b"]}}),
    )
    .await;
    let d = wait_closed(&mut server, &execution, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "SUCCEEDED");
    let output: Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        output,
        json!({"id": 101, "items": ["a", "b"], "checks": ["in-stock", "clean"],
               "priced": [{"sku": "a", "n": 0}, {"sku": "b", "n": 1}]})
    );
    let events = history(&mut server, &execution).await;
    let ids: Vec<i32> = events.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=events.len() as i32).collect::<Vec<_>>(),
        "ids 1..n without gaps"
    );
    let t = types(&events);
    assert_eq!(t.first().map(String::as_str), Some("ExecutionStarted"));
    assert_eq!(t.last().map(String::as_str), Some("ExecutionSucceeded"));
    assert!(t.contains(&"ParallelStateSucceeded".to_string()));
    assert_eq!(
        t.iter().filter(|x| *x == "MapIterationSucceeded").count(),
        2
    );

    let rejected = start(
        &mut server,
        &machine,
        json!({"order": {"id": 1, "items": []}}),
    )
    .await;
    let d = wait_closed(&mut server, &rejected, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "FAILED");
    assert_eq!(d.output, None);
}

async fn activity_round_trip_records_worker_and_output(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let activity = create_activity(&mut server, "work").await;
    let machine = create_machine(
        &mut server,
        "act",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "ResultPath": "$.r", "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &machine, json!({"x": 1})).await;
    let (token, input) = poll_task(&mut server, &activity, "worker-1")
        .await
        .expect("a task");
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"x": 1})
    );
    send_success(&mut server, &token, json!({"done": true}))
        .await
        .unwrap();
    let d = wait_closed(&mut server, &execution, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "SUCCEEDED");
    assert_eq!(
        serde_json::from_str::<Value>(d.output.as_deref().unwrap()).unwrap(),
        json!({"x": 1, "r": {"done": true}})
    );
    let events = history(&mut server, &execution).await;
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let prevs: Vec<i32> = events.iter().map(|e| e.previous_event_id).collect();
    assert_eq!(prevs, [0, 0, 2, 3, 4, 5, 6]);
    let Some(pb::history_event::Details::ActivityStartedEventDetails(started)) = &events[3].details
    else {
        panic!("ActivityStarted without its details: {:?}", events[3]);
    };
    assert_eq!(started.worker_name.as_deref(), Some("worker-1"));

    // The task is closed: a second answer is refused.
    let err = send_success(&mut server, &token, json!({}))
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with("TaskDoesNotExist") || err.message().starts_with("TaskTimedOut"),
        "{err:?}"
    );
}

async fn many_workers_each_task_delivered_exactly_once(backend: Backend) {
    let mut server = TestServer::start_on(backend, |a| a.executors = 4).await;
    let activity = create_activity(&mut server, "pool").await;
    let machine = create_machine(
        &mut server,
        "many",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}}),
    )
    .await;
    const N: usize = 30;
    let mut executions = Vec::new();
    for i in 0..N {
        executions.push(start(&mut server, &machine, json!({"i": i})).await);
    }
    let mut workers = Vec::new();
    for w in 0..6 {
        let mut client = server.client.clone();
        let activity = activity.clone();
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                let r = client
                    .get_activity_task(pb::GetActivityTaskRequest {
                        activity_arn: activity.clone(),
                        worker_name: Some(format!("w{w}")),
                    })
                    .await
                    .expect("poll")
                    .into_inner();
                let Some(token) = r.task_token else { break };
                let input: Value = serde_json::from_str(&r.input.unwrap_or_default()).unwrap();
                client
                    .send_task_success(pb::SendTaskSuccessRequest {
                        task_token: token,
                        output: input.to_string(),
                    })
                    .await
                    .expect("success");
                seen.push(input["i"].as_u64().unwrap());
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort();
    assert_eq!(
        all,
        (0..N as u64).collect::<Vec<_>>(),
        "every task exactly once"
    );
    for e in &executions {
        assert_eq!(
            status_name(&wait_closed(&mut server, e, Duration::from_secs(10)).await),
            "SUCCEEDED"
        );
    }
}

async fn heartbeat_and_task_timeouts_with_retry_and_catch(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let mut server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let activity = create_activity(&mut server, "slow").await;
    let machine = create_machine(
        &mut server,
        "timeouts",
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 1, "TimeoutSeconds": 30, "Next": "Ok",
                  "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]},
            "Ok": {"Type": "Succeed"},
            "Caught": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    // First attempt: take the task and keep it alive with heartbeats past its heartbeat interval, then stop.
    let (token, _) = poll_task(&mut server, &activity, "w").await.expect("task");
    for _ in 0..3 {
        clock.advance(Duration::from_millis(500));
        server
            .client
            .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
                task_token: token.clone(),
            })
            .await
            .expect("heartbeat keeps the task");
    }
    // The executor stamps a heartbeat with its own step time: let it apply the last one before moving on.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No more heartbeats: times out, is retried once (after its 1 s interval), times out again, is caught.
    let timed_out =
        |n: usize| move |t: &[String]| t.iter().filter(|x| *x == "ActivityTimedOut").count() >= n;
    let started =
        |n: usize| move |t: &[String]| t.iter().filter(|x| *x == "ActivityStarted").count() >= n;
    clock.advance(Duration::from_millis(1100));
    wait_for_history(&mut server, &execution, timed_out(1)).await;
    clock.advance(Duration::from_millis(1100));
    let (second, _) = poll_task(&mut server, &activity, "w")
        .await
        .expect("the retry schedules the task again");
    assert_ne!(second, token);
    let late = send_success(&mut server, &token, json!({}))
        .await
        .unwrap_err();
    assert!(late.message().starts_with("TaskTimedOut"), "{late:?}");
    wait_for_history(&mut server, &execution, started(2)).await;
    clock.advance(Duration::from_millis(1100));
    let d = wait_closed(&mut server, &execution, Duration::from_secs(15)).await;
    assert_eq!(status_name(&d), "SUCCEEDED");
    let output: Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        output,
        json!({"error": {"Error": "States.Timeout", "Cause": ""}})
    );
    let t = types(&history(&mut server, &execution).await);
    assert_eq!(t.iter().filter(|x| *x == "ActivityTimedOut").count(), 2);
    assert_eq!(t.iter().filter(|x| *x == "ActivityScheduled").count(), 2);
}

async fn waits_fire_and_stop_aborts_waits_and_activities(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let mut server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let machine = create_machine(
        &mut server,
        "waits",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "T"},
            "T": {"Type": "Wait", "TimestampPath": "$.at", "End": true}}}),
    )
    .await;
    let at = (clock.now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let execution = start(&mut server, &machine, json!({"at": at})).await;
    // Each Wait ends when the server's clock reaches it, and not before.
    let entered =
        |n: usize| move |t: &[String]| t.iter().filter(|x| *x == "WaitStateEntered").count() >= n;
    wait_for_history(&mut server, &execution, entered(1)).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        types(&history(&mut server, &execution).await).len(),
        2,
        "the first Wait holds"
    );
    clock.advance(Duration::from_millis(1000));
    wait_for_history(&mut server, &execution, entered(2)).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        status_name(&describe(&mut server, &execution).await),
        "RUNNING",
        "the timestamp Wait holds"
    );
    clock.advance(Duration::from_millis(1000));
    let d = wait_closed(&mut server, &execution, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "SUCCEEDED");

    // Stop during a Wait: ABORTED at once, ExecutionAborted pointing at 0, the timer is dropped.
    let long = create_machine(
        &mut server,
        "long",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &long, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while types(&history(&mut server, &execution).await).len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
        .client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: execution.clone(),
            error: Some("Halt".into()),
            cause: Some("by test".into()),
        })
        .await
        .expect("stop");
    assert_eq!(
        status_name(&describe(&mut server, &execution).await),
        "ABORTED"
    );
    let events = history(&mut server, &execution).await;
    assert_eq!(
        types(&events),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    );
    assert_eq!(events[2].previous_event_id, 0);

    // Stop during an activity: the open task is cancelled, a late answer gets TaskTimedOut.
    let activity = create_activity(&mut server, "stopme").await;
    let task_machine = create_machine(
        &mut server,
        "task",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &task_machine, json!({})).await;
    let (token, _) = poll_task(&mut server, &activity, "w").await.expect("task");
    server
        .client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: execution.clone(),
            ..Default::default()
        })
        .await
        .expect("stop");
    let err = send_success(&mut server, &token, json!({}))
        .await
        .unwrap_err();
    assert!(err.message().starts_with("TaskTimedOut"), "{err:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = history(&mut server, &execution).await;
    assert_eq!(
        types(&events).last().map(String::as_str),
        Some("ExecutionAborted")
    );
    assert_eq!(
        status_name(&describe(&mut server, &execution).await),
        "ABORTED"
    );
}

async fn execution_timeout_ends_as_timed_out(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let mut server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let machine = create_machine(
        &mut server,
        "short",
        json!({"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    clock.advance(Duration::from_secs(1));
    let d = wait_closed(&mut server, &execution, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "TIMED_OUT");
    assert_eq!(
        types(&history(&mut server, &execution).await),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]
    );
}

async fn runtime_errors_and_missing_activities_fail_the_execution(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let machine = create_machine(
        &mut server,
        "missing",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task",
            "Resource": "arn:aws:states:us-east-1:123456789012:activity:nope", "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    let d = wait_closed(&mut server, &execution, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "FAILED");
    let events = history(&mut server, &execution).await;
    let Some(pb::history_event::Details::ExecutionFailedEventDetails(failed)) =
        events.last().unwrap().details.clone()
    else {
        panic!("ExecutionFailed without its details");
    };
    assert_eq!(failed.error.as_deref(), Some("States.Runtime"));
    assert!(failed.cause.unwrap().ends_with("does not exist."));

    let lambda = create_machine(
        &mut server,
        "lambda",
        json!({"StartAt": "L", "States": {"L": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &lambda, json!({})).await;
    let d = wait_closed(&mut server, &execution, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "FAILED");

    // A missing activity inside a Map that tolerates failures, then an activity that exists: the
    // tolerated failure changes the path, and the existing activity must still be found.
    let worker = create_activity(&mut server, "exists").await;
    let tolerant = create_machine(
        &mut server,
        "tolerant",
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "ToleratedFailurePercentage": 100, "Next": "B",
                  "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Task",
                      "Resource": "arn:aws:states:us-east-1:123456789012:activity:nope", "End": true}}}},
            "B": {"Type": "Task", "Resource": worker, "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &tolerant, json!([1, 2])).await;
    let (token, _) = poll_task(&mut server, &worker, "w")
        .await
        .expect("the existing activity's task is scheduled");
    send_success(&mut server, &token, json!({"ok": true}))
        .await
        .unwrap();
    let d = wait_closed(&mut server, &execution, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "SUCCEEDED");
}

/// An execution that can never be advanced (its stored state or its input cannot be read) is failed with
/// States.Runtime and a cause saying why, instead of being retried forever.
async fn poisoned_executions_fail_with_states_runtime(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let mut server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let machine = create_machine(
        &mut server,
        "parked",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    wait_for_history(&mut server, &execution, |t| t.len() == 2).await;
    // The stored engine state is damaged while the execution waits (as a bad upgrade or a hand edit
    // would); the timer then wakes it.
    server
        .update_execution_row(r#"engine_state = '{"not": "a state"}'"#, &execution)
        .await;
    clock.advance(Duration::from_secs(61));
    let d = wait_closed(&mut server, &execution, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "FAILED");
    let events = history(&mut server, &execution).await;
    assert_eq!(
        types(&events),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionFailed"]
    );
    assert_eq!((events[2].id, events[2].previous_event_id), (3, 2));
    let Some(pb::history_event::Details::ExecutionFailedEventDetails(details)) =
        events[2].details.clone()
    else {
        panic!("ExecutionFailed without its details");
    };
    assert_eq!(details.error.as_deref(), Some("States.Runtime"));
    let cause = details.cause.unwrap_or_default();
    assert!(
        cause.starts_with("the execution's stored state cannot be read"),
        "{cause}"
    );

    // An input nested deeper than the engine reads fails the same way, at its first step.
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let pass = create_machine(
        &mut server,
        "pass",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let started = server
        .client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: pass,
            input: Some(deep),
            ..Default::default()
        })
        .await;
    // Refusing it at the door is as good; what may never happen is an execution left RUNNING.
    if let Ok(started) = started {
        let arn = started.into_inner().execution_arn;
        let d = wait_closed(&mut server, &arn, Duration::from_secs(10)).await;
        assert_eq!(status_name(&d), "FAILED");
        let events = history(&mut server, &arn).await;
        assert_eq!(types(&events), ["ExecutionStarted", "ExecutionFailed"]);
    }
}

async fn get_activity_task_long_poll_returns_empty_after_timeout(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let activity = create_activity(&mut server, "idle").await;
    let started = Instant::now();
    assert!(poll_task(&mut server, &activity, "w").await.is_none());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );

    // A poll already waiting gets a task scheduled after it began.
    let machine = create_machine(
        &mut server,
        "later",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}}),
    )
    .await;
    let mut client = server.client.clone();
    let arn = activity.clone();
    let poll = tokio::spawn(async move {
        client
            .get_activity_task(pb::GetActivityTaskRequest {
                activity_arn: arn,
                worker_name: None,
            })
            .await
            .map(|r| r.into_inner().task_token)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    start(&mut server, &machine, json!({})).await;
    let token = poll.await.unwrap().expect("poll");
    assert!(token.is_some());
}

async fn bad_task_tokens_are_invalid(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    for token in ["nope", "AAAA"] {
        let err = send_success(&mut server, token, json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().starts_with("InvalidToken"), "{err:?}");
    }
}

async fn history_distinct_for_concurrent_executions(backend: Backend) {
    let mut server = TestServer::start_on(backend, |a| a.executors = 8).await;
    let machine = create_machine(
        &mut server,
        "chain",
        json!({"StartAt": "S0", "States": (0..10).map(|i| {
            let body = if i == 9 { json!({"Type": "Pass", "End": true}) } else { json!({"Type": "Pass", "Next": format!("S{}", i + 1)}) };
            (format!("S{i}"), body)
        }).collect::<serde_json::Map<String, Value>>()}),
    )
    .await;
    let mut executions = HashSet::new();
    for i in 0..50 {
        executions.insert(start(&mut server, &machine, json!({"i": i})).await);
    }
    for e in &executions {
        let d = wait_closed(&mut server, e, Duration::from_secs(20)).await;
        assert_eq!(status_name(&d), "SUCCEEDED");
        assert_eq!(history(&mut server, e).await.len(), 22);
    }
}

/// A restart (graceful stop, new server on the same database) resumes a timer and an activity that were
/// in flight: the executions pick up from the stored engine state.
async fn restart_resumes_running_executions(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let activity = create_activity(&mut server, "resume-worker").await;
    let timer = create_machine(
        &mut server,
        "resume-timer",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
            "P": {"Type": "Pass", "Result": {"resumed": true}, "End": true}}}),
    )
    .await;
    let worker = create_machine(
        &mut server,
        "resume-activity",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": true}}}),
    )
    .await;
    let timed = start(&mut server, &timer, json!({})).await;
    let waiting = start(&mut server, &worker, json!({"job": 7})).await;
    // Let the executor reach the Wait state and schedule the activity task before the restart.
    let deadline = Instant::now() + Duration::from_secs(10);
    while types(&history(&mut server, &waiting).await).len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut server = server.restart().await;
    assert_eq!(status_name(&describe(&mut server, &timed).await), "RUNNING");
    let (token, input) = poll_task(&mut server, &activity, "after-restart")
        .await
        .expect("the task scheduled before the restart is still there");
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"job": 7})
    );
    send_success(&mut server, &token, json!({"done": 7}))
        .await
        .unwrap();

    let d = wait_closed(&mut server, &timed, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "SUCCEEDED");
    assert_eq!(
        serde_json::from_str::<Value>(d.output.as_deref().unwrap()).unwrap(),
        json!({"resumed": true})
    );
    let d = wait_closed(&mut server, &waiting, Duration::from_secs(10)).await;
    assert_eq!(status_name(&d), "SUCCEEDED");
    assert_eq!(
        serde_json::from_str::<Value>(d.output.as_deref().unwrap()).unwrap(),
        json!({"done": 7})
    );
}

/// A process that runs executors runs a new execution's first advance inside StartExecution and commits it
/// with the insert: a short workflow has ended, history complete, when StartExecution returns; one that
/// waits has entered its Wait. A process that only serves the API leaves all of it to the executors.
async fn first_advance_commits_with_start_execution(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let pass = create_machine(
        &mut server,
        "first-pass",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "End": true}}}),
    )
    .await;
    let wait = create_machine(
        &mut server,
        "first-wait",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}}),
    )
    .await;

    let done = start(&mut server, &pass, json!({})).await;
    let d = describe(&mut server, &done).await;
    assert_eq!(status_name(&d), "SUCCEEDED", "ended inside StartExecution");
    assert_eq!(d.output.as_deref(), Some(r#"{"ok":1}"#));
    assert!(d.stop_date.is_some());
    let events = history(&mut server, &done).await;
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        events
            .iter()
            .map(|e| (e.id, e.previous_event_id))
            .collect::<Vec<_>>(),
        [(1, 0), (2, 0), (3, 2), (4, 3)],
        "the first state entered points at 0, as on AWS"
    );

    let waiting = start(&mut server, &wait, json!({})).await;
    assert_eq!(
        status_name(&describe(&mut server, &waiting).await),
        "RUNNING"
    );
    assert_eq!(
        types(&history(&mut server, &waiting).await),
        ["ExecutionStarted", "WaitStateEntered"],
        "the first advance reached the Wait before StartExecution returned"
    );
    server.stop().await.expect("stop");

    let mut api_only =
        TestServer::start_on(backend, |args| args.role = sfn::config::Role::Api).await;
    let pass = create_machine(
        &mut api_only,
        "api-only-pass",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let queued = start(&mut api_only, &pass, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        status_name(&describe(&mut api_only, &queued).await),
        "RUNNING"
    );
    assert_eq!(
        types(&history(&mut api_only, &queued).await),
        ["ExecutionStarted"],
        "no executor here: the execution waits for one"
    );
}

/// StartExecution keeps state machines in a per-process cache; an update, or a delete and re-create under
/// the same ARN, must still be seen by the very next start.
async fn start_execution_sees_updates_and_recreated_machines(backend: Backend) {
    let mut server = TestServer::start_on(backend, |_| {}).await;
    let pass = |result: &str| json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": true}}});
    let machine = create_machine(&mut server, "cached", pass("v1")).await;
    let output = |d: &pb::DescribeExecutionResponse| d.output.clone().unwrap_or_default();
    let first = start(&mut server, &machine, json!({})).await;
    let d = wait_closed(&mut server, &first, Duration::from_secs(10)).await;
    assert_eq!(output(&d), r#""v1""#);

    server
        .client
        .update_state_machine(pb::UpdateStateMachineRequest {
            state_machine_arn: machine.clone(),
            definition: Some(pass("v2").to_string()),
            ..Default::default()
        })
        .await
        .expect("update");
    let second = start(&mut server, &machine, json!({})).await;
    let d = wait_closed(&mut server, &second, Duration::from_secs(10)).await;
    assert_eq!(output(&d), r#""v2""#, "the update's version runs");

    server
        .client
        .delete_state_machine(pb::DeleteStateMachineRequest {
            state_machine_arn: machine.clone(),
        })
        .await
        .expect("delete");
    let deadline = Instant::now() + Duration::from_secs(10);
    let gone = loop {
        let attempt = server
            .client
            .start_execution(pb::StartExecutionRequest {
                state_machine_arn: machine.clone(),
                ..Default::default()
            })
            .await;
        match attempt {
            Err(status) if status.message().starts_with("StateMachineDeleting") => {
                assert!(Instant::now() < deadline, "the delete never finished");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => break other,
        }
    };
    let status = gone.expect_err("a deleted machine cannot start executions");
    assert!(
        status.message().starts_with("StateMachineDoesNotExist"),
        "{}",
        status.message()
    );

    let recreated = create_machine(&mut server, "cached", pass("v3")).await;
    assert_eq!(recreated, machine, "same name, same ARN");
    let third = start(&mut server, &recreated, json!({})).await;
    let d = wait_closed(&mut server, &third, Duration::from_secs(10)).await;
    assert_eq!(output(&d), r#""v3""#, "the re-created machine runs");
}

on_both_backends!(
    pass_choice_parallel_map_workflow_runs_to_success,
    activity_round_trip_records_worker_and_output,
    many_workers_each_task_delivered_exactly_once,
    heartbeat_and_task_timeouts_with_retry_and_catch,
    waits_fire_and_stop_aborts_waits_and_activities,
    execution_timeout_ends_as_timed_out,
    runtime_errors_and_missing_activities_fail_the_execution,
    poisoned_executions_fail_with_states_runtime,
    get_activity_task_long_poll_returns_empty_after_timeout,
    bad_task_tokens_are_invalid,
    history_distinct_for_concurrent_executions,
    restart_resumes_running_executions,
    first_advance_commits_with_start_execution,
    start_execution_sees_updates_and_recreated_machines,
);
