//! Several real `sfn serve` processes on one Postgres database: a crash mid-way loses and duplicates
//! nothing, and executors in every process share the work.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::step_functions_client::StepFunctionsClient;
use sqlx::{Connection, Executor, PgConnection, Row};
use tonic::transport::Channel;

const ROLE: &str = "arn:aws:iam::123456789012:role/test";
const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    async fn create() -> Database {
        let admin_url =
            std::env::var("SFN_TEST_DATABASE_URL").unwrap_or_else(|_| ADMIN_URL.to_string());
        let name = format!("sfn_cluster_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to Postgres");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        Database {
            admin_url,
            name,
            url,
        }
    }

    async fn drop_now(self) {
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await;
        }
    }
}

/// A `sfn serve` child process; killed when dropped.
struct Process {
    child: Child,
    addr: String,
}

impl Process {
    fn spawn(database_url: &str, extra: &[&str]) -> Process {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args([
                "serve",
                "--listen",
                &addr,
                "--database-url",
                database_url,
                "--lease-duration",
                "2s",
            ])
            .args(["--activity-poll-timeout", "1s", "--max-db-connections", "8"])
            .args(["--metrics-listen", "off", "--aws-listen", "off"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sfn serve");
        Process { child, addr }
    }

    async fn client(&self) -> StepFunctionsClient<Channel> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(client) = StepFunctionsClient::connect(format!("http://{}", self.addr)).await
            {
                return client;
            }
            assert!(
                Instant::now() < deadline,
                "sfn serve did not come up on {}",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn kill(&mut self) {
        // SIGKILL: no graceful shutdown, leases are left to expire.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn wait_all_closed(
    client: &mut StepFunctionsClient<Channel>,
    executions: &[String],
    timeout: Duration,
) -> HashMap<String, String> {
    let deadline = Instant::now() + timeout;
    let mut statuses = HashMap::new();
    for e in executions {
        loop {
            let d = client
                .describe_execution(pb::DescribeExecutionRequest {
                    execution_arn: e.clone(),
                    included_data: 0,
                })
                .await
                .expect("describe")
                .into_inner();
            let status = pb::execution_status::Value::try_from(d.status)
                .map(|s| s.as_str_name())
                .unwrap_or("?");
            if status != "RUNNING" || Instant::now() > deadline {
                statuses.insert(e.clone(), status.to_string());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    statuses
}

/// An activity worker on `client`: polls until it gets nothing five times in a row (or 120 s pass), answers
/// each task at once with `output(input, worker)` and returns the `i` of every input it was handed; counts
/// its answers in `answered`.
fn spawn_worker(
    mut client: StepFunctionsClient<Channel>,
    activity: String,
    w: usize,
    answered: Arc<AtomicU64>,
    output: fn(&Value, usize) -> Value,
) -> tokio::task::JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let mut done = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut idle = 0;
        while Instant::now() < deadline && idle < 5 {
            let r = client
                .get_activity_task(pb::GetActivityTaskRequest {
                    activity_arn: activity.clone(),
                    worker_name: Some(format!("w{w}")),
                })
                .await
                .expect("poll")
                .into_inner();
            let Some(token) = r.task_token else {
                idle += 1;
                continue;
            };
            idle = 0;
            let input: Value = serde_json::from_str(&r.input.unwrap_or_default()).unwrap();
            client
                .send_task_success(pb::SendTaskSuccessRequest {
                    task_token: token,
                    output: output(&input, w).to_string(),
                })
                .await
                .expect("success");
            done.push(input["i"].as_u64().unwrap());
            answered.fetch_add(1, Ordering::Relaxed);
        }
        done
    })
}

async fn history_types(
    client: &mut StepFunctionsClient<Channel>,
    execution: &str,
) -> Vec<(i32, String)> {
    let events = client
        .get_execution_history(pb::GetExecutionHistoryRequest {
            execution_arn: execution.into(),
            max_results: 1000,
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .events;
    events
        .iter()
        .map(|e| {
            let t = pb::history_event_type::Value::try_from(e.r#type)
                .map(|t| t.as_str_name().to_string())
                .unwrap_or_default();
            (e.id, t)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_process_mid_run_loses_and_duplicates_nothing() {
    let db = Database::create().await;
    let survivor = Process::spawn(&db.url, &["--executors", "8"]);
    let mut victim = Process::spawn(&db.url, &["--executors", "8"]);
    let mut client = survivor.client().await;
    let mut victim_client = victim.client().await;

    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "crash-work".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .activity_arn;
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "crash".into(),
            role_arn: ROLE.into(),
            definition: json!({"StartAt": "Wait", "States": {
                "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Work"},
                "Work": {"Type": "Task", "Resource": activity, "ResultPath": "$.result", "Next": "Done"},
                "Done": {"Type": "Pass", "End": true}}})
            .to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;

    const N: usize = 200;
    let mut executions = Vec::new();
    for i in 0..N {
        // Half the starts go through the process that will die.
        let c = if i % 2 == 0 {
            &mut client
        } else {
            &mut victim_client
        };
        let arn = c
            .start_execution(pb::StartExecutionRequest {
                state_machine_arn: machine.clone(),
                input: Some(json!({"i": i}).to_string()),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .execution_arn;
        executions.push(arn);
    }

    // Workers talk to the survivor only: a task handed out by a process that then dies has no one to
    // deliver it (AWS has the same gap; HeartbeatSeconds is the cure).
    let answered = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            spawn_worker(
                client.clone(),
                activity.clone(),
                w,
                answered.clone(),
                |_, w| json!({"by": w}),
            )
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    victim.kill();

    let mut delivered = Vec::new();
    for w in workers {
        delivered.extend(w.await.unwrap());
    }
    let statuses = wait_all_closed(&mut client, &executions, Duration::from_secs(60)).await;
    let not_succeeded: Vec<_> = statuses.iter().filter(|(_, s)| *s != "SUCCEEDED").collect();
    assert!(
        not_succeeded.is_empty(),
        "{} executions did not succeed: {:?}",
        not_succeeded.len(),
        not_succeeded.iter().take(5).collect::<Vec<_>>()
    );
    delivered.sort();
    assert_eq!(
        delivered,
        (0..N as u64).collect::<Vec<_>>(),
        "each activity task delivered exactly once"
    );

    let expected = [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "TaskStateEntered",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ];
    for e in &executions {
        let events = history_types(&mut client, e).await;
        let ids: Vec<i32> = events.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (1..=events.len() as i32).collect::<Vec<_>>(), "{e}");
        let types: Vec<&str> = events.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(types, expected, "{e}");
    }
    drop(survivor);
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_the_work() {
    let db = Database::create().await;
    let api = Process::spawn(&db.url, &["--executors", "4"]);
    let mut client = api.client().await;
    let others = [
        Process::spawn(&db.url, &["--role", "executor", "--executors", "4"]),
        Process::spawn(&db.url, &["--role", "executor", "--executors", "4"]),
    ];
    for p in &others {
        // Executor-only processes still serve health; wait until they are up.
        let _ = p.client().await;
    }
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "spread".into(),
            role_arn: ROLE.into(),
            definition: json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "W"},
                "W": {"Type": "Wait", "Seconds": 1, "Next": "B"},
                "B": {"Type": "Pass", "End": true}}})
            .to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;
    let mut executions = Vec::new();
    for i in 0..120 {
        executions.push(
            client
                .start_execution(pb::StartExecutionRequest {
                    state_machine_arn: machine.clone(),
                    input: Some(json!({"i": i}).to_string()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .execution_arn,
        );
    }
    let statuses = wait_all_closed(&mut client, &executions, Duration::from_secs(60)).await;
    assert!(statuses.values().all(|s| s == "SUCCEEDED"), "{statuses:?}");
    for e in &executions {
        assert_eq!(
            history_types(&mut client, e).await.len(),
            8,
            "no duplicated transitions in {e}"
        );
    }
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    let owners: HashSet<String> =
        sqlx::query("SELECT DISTINCT last_owner FROM executions WHERE last_owner IS NOT NULL")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    conn.close().await.ok();
    assert_eq!(
        owners.len(),
        3,
        "every process advanced some executions: {owners:?}"
    );
    drop(others);
    drop(api);
    db.drop_now().await;
}

/// Nested `.sync:2` executions across two processes, one killed mid-way: parents and children may run on
/// either process (and the runner of either may have claimed a parent's task); every parent still
/// succeeds with exactly one child, and each history is the one AWS records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_executions_survive_a_killed_process() {
    let db = Database::create().await;
    let survivor = Process::spawn(&db.url, &["--executors", "8"]);
    let mut victim = Process::spawn(&db.url, &["--executors", "8"]);
    let mut client = survivor.client().await;
    let mut victim_client = victim.client().await;
    let create = |name: &str, definition: Value| {
        let mut c = client.clone();
        let name = name.to_string();
        async move {
            c.create_state_machine(pb::CreateStateMachineRequest {
                name,
                role_arn: ROLE.into(),
                definition: definition.to_string(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .state_machine_arn
        }
    };
    let child = create(
        "child",
        json!({"StartAt": "Wait", "States": {
            "Wait": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
            "Done": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": true}}}),
    )
    .await;
    let parent = create(
        "parent",
        json!({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                     "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n",
                         "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
                     "OutputPath": "$.Output", "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}}}),
    )
    .await;

    const N: i64 = 40;
    let mut parents = Vec::new();
    for n in 0..N {
        let c = if n % 2 == 0 {
            &mut client
        } else {
            &mut victim_client
        };
        let arn = c
            .start_execution(pb::StartExecutionRequest {
                state_machine_arn: parent.clone(),
                input: Some(json!({"n": n}).to_string()),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .execution_arn;
        parents.push((n, arn));
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    victim.kill();

    let arns: Vec<String> = parents.iter().map(|(_, a)| a.clone()).collect();
    let statuses = wait_all_closed(&mut client, &arns, Duration::from_secs(90)).await;
    for (n, arn) in &parents {
        assert_eq!(statuses[arn], "SUCCEEDED", "{arn}");
        let d = client
            .describe_execution(pb::DescribeExecutionRequest {
                execution_arn: arn.clone(),
                included_data: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let output: Value = serde_json::from_str(&d.output.unwrap()).unwrap();
        assert_eq!(output, json!({"doubled": 2 * n}), "{arn}");
        let types: Vec<String> = history_types(&mut client, arn)
            .await
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskSubmitted",
                "TaskSucceeded",
                "TaskStateExited",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ],
            "{arn}"
        );
    }
    // One child per parent: a start driven again after the crash found the child it had started.
    let children = client
        .list_executions(pb::ListExecutionsRequest {
            state_machine_arn: child.clone(),
            max_results: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .executions;
    assert_eq!(children.len(), N as usize);
    let mut linked = HashSet::new();
    for c in &children {
        let d = client
            .describe_execution(pb::DescribeExecutionRequest {
                execution_arn: c.execution_arn.clone(),
                included_data: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            pb::execution_status::Value::try_from(d.status)
                .unwrap()
                .as_str_name(),
            "SUCCEEDED"
        );
        let input: Value = serde_json::from_str(d.input.as_deref().unwrap()).unwrap();
        linked.insert(
            input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(linked, arns.into_iter().collect::<HashSet<_>>());
    drop(survivor);
    db.drop_now().await;
}

/// A Map that fans out 1,000 activity tasks, its process killed (SIGKILL) part-way through the answers: the
/// other process takes the execution over once the lease runs out, and every task is handed out once and
/// its answer lands once, in its place in the Map's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_fan_out_survives_a_killed_process() {
    let db = Database::create().await;
    let survivor = Process::spawn(&db.url, &[]);
    let mut victim = Process::spawn(&db.url, &[]);
    let mut client = survivor.client().await;
    let mut victim_client = victim.client().await;

    let activity = client
        .create_activity(pb::CreateActivityRequest {
            name: "fan-out".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .activity_arn;
    let machine = client
        .create_state_machine(pb::CreateStateMachineRequest {
            name: "fan-out".into(),
            role_arn: ROLE.into(),
            definition: json!({"StartAt": "Each", "States": {
                "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0, "End": true,
                         "Iterator": {"StartAt": "Work", "States": {
                             "Work": {"Type": "Task", "Resource": activity, "End": true}}}}}})
            .to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .state_machine_arn;

    const N: u64 = 1000;
    let items: Vec<Value> = (0..N).map(|i| json!({"i": i})).collect();
    // Started, and so first leased, by the process that will die.
    let execution = victim_client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: machine,
            input: Some(json!({"items": items}).to_string()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .execution_arn;

    let answered = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            spawn_worker(
                client.clone(),
                activity.clone(),
                w,
                answered.clone(),
                |input, _| json!({"done": input["i"]}),
            )
        })
        .collect();

    let kill_by = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::Relaxed) < N / 3 && Instant::now() < kill_by {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let at_kill = answered.load(Ordering::Relaxed);
    victim.kill();
    assert!(
        at_kill > 0 && at_kill < N,
        "killed mid-way ({at_kill} answered)"
    );

    let mut delivered = Vec::new();
    for w in workers {
        delivered.extend(w.await.unwrap());
    }
    delivered.sort();
    assert_eq!(
        delivered,
        (0..N).collect::<Vec<_>>(),
        "each task handed out exactly once"
    );
    let statuses = wait_all_closed(
        &mut client,
        std::slice::from_ref(&execution),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(statuses[&execution], "SUCCEEDED");
    let output = client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .output
        .expect("output");
    let output: Value = serde_json::from_str(&output).unwrap();
    let expected: Vec<Value> = (0..N).map(|i| json!({"done": i})).collect();
    assert_eq!(
        output,
        Value::Array(expected),
        "each answer once, in its place"
    );
    let events = history_types(&mut client, &execution).await;
    let ids: Vec<i32> = events.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (1..=events.len() as i32).collect::<Vec<_>>());
    drop(survivor);
    db.drop_now().await;
}
