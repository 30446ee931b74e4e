//! RedriveExecution through the real server, on both backends, with real activity workers.
//!
//! What AWS documents and these tests hold it to (API reference "RedriveExecution", developer guide
//! "Redriving executions", botocore's model):
//! * FAILED, TIMED_OUT and ABORTED standard executions are redrivable for 14 days after they closed;
//!   SUCCEEDED and RUNNING ones are not, with `redriveStatusReason` "Execution is <STATUS> and cannot be
//!   redriven" (recorded against AWS) and the same text as ExecutionNotRedrivable's message (our choice:
//!   AWS's message for the error is not recorded);
//! * the redrive appends `ExecutionRedriven{redriveCount}` and continues from the unsuccessful state with
//!   its original input; states that succeeded are not run again; in a Parallel or an inline Map only
//!   the branches/iterations that failed or were aborted run again;
//! * the redriven state gets a new `…StateEntered` (the history of the failed attempt stays as it was);
//!   its retry counters start again; the state machine's TimeoutSeconds counts from the redrive;
//! * while RUNNING again, the execution has no stopDate;
//! * DescribeExecution always has `redriveCount` (0 before any redrive) and `redriveStatus`; `redriveDate`
//!   only after a redrive; the Context Object has `$$.Execution.RedriveCount` (and `RedriveTime` once
//!   redriven);
//! * clientToken: the same token within 15 minutes answers with the first redrive's date and does not
//!   redrive again.

mod api_support;
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use api_support::*;
use common::{Backend, TestServer};
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::execution_redrive_status::Value as RedriveStatus;
use sfn::api::pb::execution_status::Value as Status;
use sfn::api::pb::state_machine_type::Value::Standard;
use sfn::clock::ManualClock;

async fn describe(client: &mut Client, execution: &str) -> pb::DescribeExecutionResponse {
    client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution.into(),
            included_data: 0,
        })
        .await
        .expect("describe execution")
        .into_inner()
}

async fn wait_status(
    client: &mut Client,
    execution: &str,
    status: Status,
) -> pb::DescribeExecutionResponse {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let d = describe(client, execution).await;
        if d.status() == status {
            return d;
        }
        if Instant::now() > deadline {
            let types = type_names(&history(client, execution).await);
            panic!("{execution} stayed {:?}: {types:?}", d.status());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn redrive(
    client: &mut Client,
    execution: &str,
    token: Option<&str>,
) -> Result<tonic::Response<pb::RedriveExecutionResponse>, tonic::Status> {
    client
        .redrive_execution(pb::RedriveExecutionRequest {
            execution_arn: execution.into(),
            client_token: token.map(str::to_string),
        })
        .await
}

async fn history(client: &mut Client, execution: &str) -> Vec<pb::HistoryEvent> {
    client
        .get_execution_history(pb::GetExecutionHistoryRequest {
            execution_arn: execution.into(),
            max_results: 1000,
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .events
}

fn type_names(events: &[pb::HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.r#type().as_str_name().to_string())
        .collect()
}

fn count(types: &[String], name: &str) -> usize {
    types.iter().filter(|t| *t == name).count()
}

/// Waits until the history holds at least `n` events of type `name`.
async fn wait_events(client: &mut Client, execution: &str, name: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while count(&type_names(&history(client, execution).await), name) < n {
        assert!(Instant::now() < deadline, "never {n} {name}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_activity(client: &mut Client, name: &str) -> String {
    client
        .create_activity(pb::CreateActivityRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .expect("create activity")
        .into_inner()
        .activity_arn
}

/// One task of `activity` (long poll): its token and input.
async fn poll(client: &mut Client, activity: &str) -> (String, Value) {
    let task = client
        .get_activity_task(pb::GetActivityTaskRequest {
            activity_arn: activity.into(),
            worker_name: Some("w".into()),
        })
        .await
        .expect("get activity task")
        .into_inner();
    let token = task.task_token.expect("a task was waiting");
    let input = serde_json::from_str(&task.input.expect("task input")).expect("JSON input");
    (token, input)
}

async fn succeed(client: &mut Client, token: String, output: Value) {
    client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token,
            output: output.to_string(),
        })
        .await
        .expect("send task success");
}

async fn fail(client: &mut Client, token: String) {
    client
        .send_task_failure(pb::SendTaskFailureRequest {
            task_token: token,
            error: Some("Flaky".into()),
            cause: Some("first attempt".into()),
        })
        .await
        .expect("send task failure");
}

async fn machine(client: &mut Client, name: &str, definition: Value) -> String {
    create_state_machine(client, name, &definition.to_string(), Standard).await
}

async fn failed_task_is_redriven_to_success_without_rerunning_earlier_states(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let activity = create_activity(&mut client, "work").await;
    let sm = machine(
        &mut client,
        "task",
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": {"x": 1}, "Next": "T"},
            "T": {"Type": "Task", "Resource": activity, "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"count.$": "$$.Execution.RedriveCount", "got.$": "$"}, "End": true}}}),
    )
    .await;
    let execution = start_execution(&mut client, &sm, None, None)
        .await
        .execution_arn;
    let (token, input) = poll(&mut client, &activity).await;
    assert_eq!(input, json!({"x": 1}));
    fail(&mut client, token).await;
    let failed = wait_status(&mut client, &execution, Status::Failed).await;
    assert_eq!(failed.redrive_count, 0);
    assert_eq!(failed.redrive_date, None);
    assert_eq!(failed.redrive_status(), RedriveStatus::Redrivable);
    assert_eq!(failed.redrive_status_reason, None);

    let redriven = redrive(&mut client, &execution, Some("token-1"))
        .await
        .expect("redrive")
        .into_inner();
    let running = describe(&mut client, &execution).await;
    assert_eq!(running.status(), Status::Running);
    assert_eq!(running.redrive_count, 1);
    assert_eq!(running.redrive_date, redriven.redrive_date);
    assert_eq!(running.stop_date, None);
    assert_eq!(running.redrive_status(), RedriveStatus::NotRedrivable);
    assert_eq!(
        running.redrive_status_reason.as_deref(),
        Some("Execution is RUNNING and cannot be redriven")
    );
    assert_error(
        redrive(&mut client, &execution, Some("token-2")).await,
        "ExecutionNotRedrivable",
        "Execution is RUNNING and cannot be redriven",
    );

    // The Task runs again on the input it had; the worker succeeds this time.
    let (token, input) = poll(&mut client, &activity).await;
    assert_eq!(input, json!({"x": 1}));
    succeed(&mut client, token, json!({"done": true})).await;
    let done = wait_status(&mut client, &execution, Status::Succeeded).await;
    let output: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!({"count": 1, "got": {"done": true}}));
    assert_eq!(done.redrive_count, 1);
    assert_eq!(
        done.redrive_status_reason.as_deref(),
        Some("Execution is SUCCEEDED and cannot be redriven")
    );

    let events = history(&mut client, &execution).await;
    let types = type_names(&events);
    let failed_at = types.iter().position(|t| t == "ExecutionFailed").unwrap();
    assert_eq!(
        types[failed_at..failed_at + 3],
        ["ExecutionFailed", "ExecutionRedriven", "TaskStateEntered"]
    );
    let Some(pb::history_event::Details::ExecutionRedrivenEventDetails(details)) =
        events[failed_at + 1].details.clone()
    else {
        panic!("ExecutionRedriven without its details");
    };
    assert_eq!(details.redrive_count, 1);
    // P ran once (before the failure); C once (after the redrive).
    assert_eq!(count(&types, "PassStateEntered"), 2);
    assert_eq!(count(&types, "ActivityScheduled"), 2);
    assert_eq!(types.last().unwrap(), "ExecutionSucceeded");
    assert_error(
        redrive(&mut client, &execution, None).await,
        "ExecutionNotRedrivable",
        "Execution is SUCCEEDED and cannot be redriven",
    );
}

/// Polls `n` tasks and keys them by the item each carries.
async fn poll_items(client: &mut Client, activity: &str, n: usize) -> BTreeMap<i64, String> {
    let mut tasks = BTreeMap::new();
    for _ in 0..n {
        let (token, input) = poll(client, activity).await;
        tasks.insert(input["item"].as_i64().expect("item"), token);
    }
    tasks
}

async fn inline_map_redrive_reruns_only_failed_and_aborted_iterations(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let activity = create_activity(&mut client, "items").await;
    let sm = machine(
        &mut client,
        "map",
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemSelector": {"item.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": activity, "End": true}}}}}}),
    )
    .await;
    let execution = start_execution(&mut client, &sm, None, Some("[0, 1, 2, 3]"))
        .await
        .execution_arn;
    let mut calls: BTreeMap<i64, u32> = BTreeMap::new();
    let mut tasks = poll_items(&mut client, &activity, 4).await;
    for item in tasks.keys() {
        *calls.entry(*item).or_default() += 1;
    }
    // 0 and 1 succeed; then 2 fails while 3 is still running (it is aborted).
    for item in [0, 1] {
        let token = tasks.remove(&item).unwrap();
        succeed(&mut client, token, json!({"r": item})).await;
    }
    wait_events(&mut client, &execution, "MapIterationSucceeded", 2).await;
    fail(&mut client, tasks.remove(&2).unwrap()).await;
    wait_status(&mut client, &execution, Status::Failed).await;
    let before = type_names(&history(&mut client, &execution).await);
    assert_eq!(count(&before, "MapIterationAborted"), 1);

    redrive(&mut client, &execution, None)
        .await
        .expect("redrive");
    let mut tasks = poll_items(&mut client, &activity, 2).await;
    for item in tasks.keys() {
        *calls.entry(*item).or_default() += 1;
    }
    assert_eq!(calls, BTreeMap::from([(0, 1), (1, 1), (2, 2), (3, 2)]));
    for item in [2, 3] {
        let token = tasks.remove(&item).unwrap();
        succeed(&mut client, token, json!({"r": item})).await;
    }
    let done = wait_status(&mut client, &execution, Status::Succeeded).await;
    let output: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!([{"r": 0}, {"r": 1}, {"r": 2}, {"r": 3}]));
    let types = type_names(&history(&mut client, &execution).await);
    let redriven = types.iter().position(|t| t == "ExecutionRedriven").unwrap();
    assert_eq!(
        types[redriven..redriven + 3],
        ["ExecutionRedriven", "MapStateEntered", "MapStateStarted"]
    );
    // Two iterations started again, four activity tasks before the redrive and two after.
    assert_eq!(count(&types[redriven..], "MapIterationStarted"), 2);
    assert_eq!(count(&types, "ActivityScheduled"), 6);
}

async fn parallel_redrive_reruns_only_the_failed_branch(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let activity = create_activity(&mut client, "branches").await;
    let branch = |name: &str| {
        json!({"StartAt": name, "States": {name: {"Type": "Task", "Resource": activity,
            "Parameters": {"branch": name}, "End": true}}})
    };
    let sm = machine(
        &mut client,
        "parallel",
        json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true,
            "Branches": [branch("a"), branch("b")]}}}),
    )
    .await;
    let execution = start_execution(&mut client, &sm, None, None)
        .await
        .execution_arn;
    let mut tasks = BTreeMap::new();
    for _ in 0..2 {
        let (token, input) = poll(&mut client, &activity).await;
        tasks.insert(input["branch"].as_str().unwrap().to_string(), token);
    }
    succeed(&mut client, tasks.remove("b").unwrap(), json!("B")).await;
    wait_events(&mut client, &execution, "TaskStateExited", 1).await;
    fail(&mut client, tasks.remove("a").unwrap()).await;
    wait_status(&mut client, &execution, Status::Failed).await;

    redrive(&mut client, &execution, None)
        .await
        .expect("redrive");
    let (token, input) = poll(&mut client, &activity).await;
    assert_eq!(input, json!({"branch": "a"}));
    succeed(&mut client, token, json!("A")).await;
    let done = wait_status(&mut client, &execution, Status::Succeeded).await;
    assert_eq!(done.output.as_deref(), Some(r#"["A","B"]"#));
    let types = type_names(&history(&mut client, &execution).await);
    assert_eq!(count(&types, "ActivityScheduled"), 3);
    let redriven = types.iter().position(|t| t == "ExecutionRedriven").unwrap();
    assert_eq!(
        types[redriven..redriven + 4],
        [
            "ExecutionRedriven",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "TaskStateEntered"
        ]
    );
}

async fn timed_out_and_aborted_executions_are_redriven(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let mut client = server.client.clone();
    let activity = create_activity(&mut client, "slow").await;
    let sm = machine(
        &mut client,
        "timeout",
        json!({"TimeoutSeconds": 5, "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": activity, "End": true}}}),
    )
    .await;

    let timed_out = start_execution(&mut client, &sm, None, Some(r#"{"n":1}"#))
        .await
        .execution_arn;
    let (late, _) = poll(&mut client, &activity).await;
    clock.advance(Duration::from_secs(5));
    let d = wait_status(&mut client, &timed_out, Status::TimedOut).await;
    assert_eq!(d.redrive_status(), RedriveStatus::Redrivable);
    redrive(&mut client, &timed_out, None)
        .await
        .expect("redrive");
    // The task of the first attempt is over; the redrive scheduled a new one.
    assert_error_kind(
        client
            .send_task_success(pb::SendTaskSuccessRequest {
                task_token: late,
                output: "{}".into(),
            })
            .await,
        "TaskTimedOut",
    );
    let (token, input) = poll(&mut client, &activity).await;
    assert_eq!(input, json!({"n": 1}));
    // TimeoutSeconds counts again from the redrive: 4 s after it the execution still runs.
    clock.advance(Duration::from_secs(4));
    succeed(&mut client, token, json!({"ok": 1})).await;
    wait_status(&mut client, &timed_out, Status::Succeeded).await;
    let types = type_names(&history(&mut client, &timed_out).await);
    let at = types.iter().position(|t| t == "ExecutionTimedOut").unwrap();
    assert_eq!(
        types[at..at + 3],
        ["ExecutionTimedOut", "ExecutionRedriven", "TaskStateEntered"]
    );

    let aborted = start_execution(&mut client, &sm, None, Some(r#"{"n":2}"#))
        .await
        .execution_arn;
    poll(&mut client, &activity).await;
    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: aborted.clone(),
            ..Default::default()
        })
        .await
        .expect("stop");
    let d = describe(&mut client, &aborted).await;
    assert_eq!(d.status(), Status::Aborted);

    assert_eq!(d.redrive_status(), RedriveStatus::Redrivable);
    redrive(&mut client, &aborted, None).await.expect("redrive");
    let (token, input) = poll(&mut client, &activity).await;
    assert_eq!(input, json!({"n": 2}));
    // Reported at the same frozen instant as the TaskStarted before it: the step commit tells the two
    // messages apart by the inbox counter, not by their (equal) due times.
    succeed(&mut client, token, json!({"ok": 2})).await;
    wait_status(&mut client, &aborted, Status::Succeeded).await;
    let types = type_names(&history(&mut client, &aborted).await);
    let at = types.iter().position(|t| t == "ExecutionAborted").unwrap();
    assert_eq!(
        types[at..at + 3],
        ["ExecutionAborted", "ExecutionRedriven", "TaskStateEntered"]
    );
}

async fn requests_that_cannot_redrive(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let missing = arn(&server, "execution:nope:nope");
    assert_error(
        redrive(&mut client, &missing, None).await,
        "ExecutionDoesNotExist",
        &format!("Execution Does Not Exist: '{missing}'"),
    );
    assert_error_kind(redrive(&mut client, "not-an-arn", None).await, "InvalidArn");
    let sm = machine(
        &mut client,
        "ok",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let execution = start_execution(&mut client, &sm, None, None)
        .await
        .execution_arn;
    wait_status(&mut client, &execution, Status::Succeeded).await;
    // The model's clientToken: 1-64 characters of [!-~].
    assert_error(
        redrive(&mut client, &execution, Some(&"t".repeat(65))).await,
        "ValidationException",
        &format!(
            "1 validation error detected: Value '{}' at 'clientToken' failed to satisfy constraint: \
             Member must have length less than or equal to 64",
            "t".repeat(65)
        ),
    );
    assert_error(
        redrive(&mut client, &execution, Some("a b")).await,
        "ValidationException",
        "1 validation error detected: Value 'a b' at 'clientToken' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [!-~]+",
    );
    assert_error(
        redrive(&mut client, &execution, None).await,
        "ExecutionNotRedrivable",
        "Execution is SUCCEEDED and cannot be redriven",
    );
}

async fn redrive_window_tokens_and_filter(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let mut client = server.client.clone();
    let sm = machine(
        &mut client,
        "fails",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}),
    )
    .await;
    let old = start_execution(&mut client, &sm, Some("old"), None)
        .await
        .execution_arn;
    let fresh = start_execution(&mut client, &sm, Some("fresh"), None)
        .await
        .execution_arn;
    wait_status(&mut client, &old, Status::Failed).await;
    wait_status(&mut client, &fresh, Status::Failed).await;

    // Exactly 14 days after it closed it is still redrivable; a second later it is not.
    clock.advance(Duration::from_secs(14 * 24 * 3600));
    assert_eq!(
        describe(&mut client, &old).await.redrive_status(),
        RedriveStatus::Redrivable
    );
    let first = redrive(&mut client, &fresh, Some("same"))
        .await
        .expect("redrive")
        .into_inner()
        .redrive_date;
    clock.advance(Duration::from_secs(1));
    let d = describe(&mut client, &old).await;
    assert_eq!(d.redrive_status(), RedriveStatus::NotRedrivable);
    assert_eq!(
        d.redrive_status_reason.as_deref(),
        Some("Execution redrivable period exceeded")
    );
    assert_error(
        redrive(&mut client, &old, None).await,
        "ExecutionNotRedrivable",
        "Execution redrivable period exceeded",
    );

    // The Fail state fails again; the same token within 15 minutes answers the first redrive's date.
    let again = wait_status(&mut client, &fresh, Status::Failed).await;
    assert_eq!(again.redrive_count, 1);
    clock.advance(Duration::from_secs(14 * 60));
    let repeat = redrive(&mut client, &fresh, Some("same"))
        .await
        .expect("repeat")
        .into_inner()
        .redrive_date;
    assert_eq!(repeat, first);
    let d = describe(&mut client, &fresh).await;
    assert_eq!((d.status(), d.redrive_count), (Status::Failed, 1));
    let types = type_names(&history(&mut client, &fresh).await);
    assert_eq!(count(&types, "ExecutionRedriven"), 1);
    // After 15 minutes the token is spent: it redrives again.
    clock.advance(Duration::from_secs(2 * 60));
    let second = redrive(&mut client, &fresh, Some("same"))
        .await
        .expect("redrive")
        .into_inner()
        .redrive_date;
    assert_ne!(second, first);
    let d = wait_status(&mut client, &fresh, Status::Failed).await;
    assert_eq!(d.redrive_count, 2);
    assert_eq!(d.redrive_date, second);

    let list = |filter: pb::execution_redrive_filter::Value| pb::ListExecutionsRequest {
        state_machine_arn: sm.clone(),
        redrive_filter: filter as i32,
        ..Default::default()
    };
    let listed = |resp: pb::ListExecutionsResponse| -> Vec<(String, i32, bool)> {
        resp.executions
            .into_iter()
            .map(|e| (e.name, e.redrive_count, e.redrive_date.is_some()))
            .collect()
    };
    use pb::execution_redrive_filter::Value as Filter;
    let redriven = client
        .list_executions(list(Filter::Redriven))
        .await
        .unwrap();
    assert_eq!(
        listed(redriven.into_inner()),
        [("fresh".to_string(), 2, true)]
    );
    let not = client
        .list_executions(list(Filter::NotRedriven))
        .await
        .unwrap();
    assert_eq!(listed(not.into_inner()), [("old".to_string(), 0, false)]);
    let all = client
        .list_executions(list(Filter::Unspecified))
        .await
        .unwrap();
    assert_eq!(all.into_inner().executions.len(), 2);
}

/// An execution that closed before the upgrade that brought RedriveExecution was stored without the states a
/// redrive restarts from; the migration marks it, and it is not redrivable, with AWS's reason for executions
/// started before RedriveExecution existed (rather than re-run from StartAt).
async fn executions_closed_before_redrive_existed_are_not_redrivable(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let sm = machine(
        &mut client,
        "old",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
    )
    .await;
    let execution = start_execution(&mut client, &sm, None, None)
        .await
        .execution_arn;
    wait_status(&mut client, &execution, Status::Failed).await;
    assert_eq!(
        describe(&mut client, &execution).await.redrive_status(),
        RedriveStatus::Redrivable
    );
    // What migration 0016 does to every execution closed before it ran.
    server
        .update_execution_row("closed_before_redrive = TRUE", &execution)
        .await;
    let reason = "Execution was started before the launch of RedriveExecution";
    let described = describe(&mut client, &execution).await;
    assert_eq!(described.redrive_status(), RedriveStatus::NotRedrivable);
    assert_eq!(described.redrive_status_reason.as_deref(), Some(reason));
    assert_error(
        redrive(&mut client, &execution, None).await,
        "ExecutionNotRedrivable",
        reason,
    );
}

/// A worker's success accepted just before StopExecution: the stop records it (`ActivitySucceeded` before
/// `ExecutionAborted`), and a redrive keeps it: the task is not handed out again, its state exits with the
/// reported result and the next state runs. The execution is leased to another (absent) process while the
/// report and the stop happen, so no step applies the report in between, as when the stop wins the race.
async fn redrive_after_stop_keeps_a_success_reported_before_the_stop(backend: Backend) {
    let server = TestServer::start_on(backend, |_| {}).await;
    let mut client = server.client.clone();
    let activity = create_activity(&mut client, "reported").await;
    let sm = machine(
        &mut client,
        "reported",
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": activity, "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"got.$": "$.ok"}, "End": true}}}),
    )
    .await;
    let execution = start_execution(&mut client, &sm, None, None)
        .await
        .execution_arn;
    let (token, _) = poll(&mut client, &activity).await;
    wait_events(&mut client, &execution, "ActivityStarted", 1).await;
    let far = match backend {
        Backend::Postgres => "'2999-01-01T00:00:00Z'".to_string(),
        Backend::Sqlite => "32503680000000000".to_string(),
    };
    server
        .update_execution_row(
            &format!("lease_owner = 'elsewhere', lease_expires_at = {far}"),
            &execution,
        )
        .await;
    succeed(&mut client, token, json!({"ok": 7})).await;
    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: execution.clone(),
            ..Default::default()
        })
        .await
        .expect("stop");
    let types = type_names(&history(&mut client, &execution).await);
    assert_eq!(
        types[types.len() - 2..],
        ["ActivitySucceeded", "ExecutionAborted"]
    );

    redrive(&mut client, &execution, None)
        .await
        .expect("redrive");
    let d = wait_status(&mut client, &execution, Status::Succeeded).await;
    assert_eq!(d.output.as_deref(), Some(r#"{"got":7}"#));
    let types = type_names(&history(&mut client, &execution).await);
    let at = types.iter().position(|t| t == "ExecutionRedriven").unwrap();
    assert_eq!(
        types[at..],
        [
            "ExecutionRedriven",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(count(&types, "ActivityScheduled"), 1);
    assert_eq!(count(&types, "ActivitySucceeded"), 1);
}

/// AWS answers a repeat of any of the last 10 clientTokens that redrove the execution with that redrive's
/// date, for 15 minutes after it, and redrives nothing: an older token (the 11th back) or an expired one is
/// a new redrive.
async fn the_last_ten_client_tokens_are_answered_again(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let server = TestServer::start_timed(backend, clock.clone(), |_| {}).await;
    let mut client = server.client.clone();
    let sm = machine(
        &mut client,
        "tokens",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
    )
    .await;
    let execution = start_execution(&mut client, &sm, None, None)
        .await
        .execution_arn;
    wait_status(&mut client, &execution, Status::Failed).await;
    let mut dates = Vec::new();
    for n in 0..11 {
        clock.advance(Duration::from_secs(1));
        let date = redrive(&mut client, &execution, Some(&format!("token-{n}")))
            .await
            .expect("redrive")
            .into_inner()
            .redrive_date;
        dates.push(date);
        let d = wait_status(&mut client, &execution, Status::Failed).await;
        assert_eq!(d.redrive_count, n + 1);
    }
    // An earlier token, not only the last: the date of the redrive it made, and no redrive.
    clock.advance(Duration::from_secs(60));
    for n in [1, 5, 10] {
        let repeat = redrive(&mut client, &execution, Some(&format!("token-{n}")))
            .await
            .expect("repeat")
            .into_inner()
            .redrive_date;
        assert_eq!(repeat, dates[n]);
    }
    assert_eq!(describe(&mut client, &execution).await.redrive_count, 11);
    // The 11th token back is forgotten: it redrives.
    let date = redrive(&mut client, &execution, Some("token-0"))
        .await
        .expect("redrive")
        .into_inner()
        .redrive_date;
    assert_ne!(date, dates[0]);
    assert_eq!(
        wait_status(&mut client, &execution, Status::Failed)
            .await
            .redrive_count,
        12
    );
    // 15 minutes after its redrive a token is spent.
    clock.advance(Duration::from_secs(15 * 60));
    let last = redrive(&mut client, &execution, Some("token-10"))
        .await
        .expect("redrive")
        .into_inner()
        .redrive_date;
    assert_eq!(
        wait_status(&mut client, &execution, Status::Failed)
            .await
            .redrive_count,
        13
    );
    // A row as a redrive before migration 0022 left it (its one token in redrive_token) still answers
    // that token.
    server
        .update_execution_row("redrive_tokens = NULL", &execution)
        .await;
    let repeat = redrive(&mut client, &execution, Some("token-10"))
        .await
        .expect("repeat")
        .into_inner()
        .redrive_date;
    assert_eq!(repeat, last);
    assert_eq!(describe(&mut client, &execution).await.redrive_count, 13);
}

on_both_backends!(
    the_last_ten_client_tokens_are_answered_again,
    redrive_after_stop_keeps_a_success_reported_before_the_stop,
    failed_task_is_redriven_to_success_without_rerunning_earlier_states,
    inline_map_redrive_reruns_only_failed_and_aborted_iterations,
    parallel_redrive_reruns_only_the_failed_branch,
    timed_out_and_aborted_executions_are_redriven,
    requests_that_cannot_redrive,
    redrive_window_tokens_and_filter,
    executions_closed_before_redrive_existed_are_not_redrivable,
);
