//! Execution operations through the gRPC API: StartExecution, DescribeExecution, ListExecutions,
//! StopExecution, GetExecutionHistory, DescribeStateMachineForExecution, and the EXPRESS matrix.

mod api_support;
mod common;

use common::Backend;

use api_support::*;
use serde_json::json;
use sfn::api::pb;
use sfn::api::pb::history_event::Details;
use sfn::api::pb::state_machine_type::Value::{Express, Standard};
use sfn::store::Store;

async fn describe(client: &mut Client, execution_arn: &str) -> pb::DescribeExecutionResponse {
    client
        .describe_execution(pb::DescribeExecutionRequest {
            execution_arn: execution_arn.into(),
            included_data: 0,
        })
        .await
        .expect("describe execution")
        .into_inner()
}

async fn history(
    client: &mut Client,
    execution_arn: &str,
    max_results: i32,
    reverse_order: bool,
    next_token: Option<String>,
) -> pb::GetExecutionHistoryResponse {
    client
        .get_execution_history(pb::GetExecutionHistoryRequest {
            execution_arn: execution_arn.into(),
            max_results,
            reverse_order,
            next_token,
            include_execution_data: None,
        })
        .await
        .expect("history")
        .into_inner()
}

/// Appends `count` synthetic events after the existing ones (what the executor would write).
async fn append_events(server: &common::TestServer, execution_arn: &str, count: i64) {
    let store = store(server).await;
    let mut tx = store.pool().begin().await.unwrap();
    let (id, last): (i64, i64) =
        sqlx::query_as("SELECT id, last_event_id FROM executions WHERE arn = $1 FOR UPDATE")
            .bind(execution_arn)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    for event_id in last + 1..=last + count {
        sqlx::query(
            "INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details) \
             VALUES ($1, $2, $3, 'PassStateEntered', now(), $4)",
        )
        .bind(id)
        .bind(event_id)
        .bind(event_id - 1)
        .bind(json!({"name": format!("S{event_id}"), "input": "{}", "inputDetails": {"truncated": false}}).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query("UPDATE executions SET last_event_id = $2 WHERE id = $1")
        .bind(id)
        .bind(last + count)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn set_closed(server: &common::TestServer, execution_arn: &str, status: &str, output: &str) {
    let store = store(server).await;
    sqlx::query("UPDATE executions SET status = $2, output = $3, stop_date = now() WHERE arn = $1")
        .bind(execution_arn)
        .bind(status)
        .bind(output)
        .execute(store.pool())
        .await
        .unwrap();
}

async fn start_then_describe(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "sm", WAIT_DEFINITION, Standard).await;
    let started = client
        .start_execution(pb::StartExecutionRequest {
            state_machine_arn: sm.clone(),
            name: Some("run-1".into()),
            input: Some(r#"{"a": 1}"#.into()),
            trace_header: Some("Root=1-abc".into()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.execution_arn, arn(&server, "execution:sm:run-1"));

    let described = describe(&mut client, &started.execution_arn).await;
    assert_eq!(described.state_machine_arn, sm);
    assert_eq!(described.name, "run-1");
    assert_eq!(described.status(), pb::execution_status::Value::Running);
    assert_eq!(described.start_date, started.start_date);
    assert_eq!(described.stop_date, None);
    assert_eq!(described.input.as_deref(), Some(r#"{"a": 1}"#));
    assert_eq!(
        described.input_details,
        Some(pb::CloudWatchEventsExecutionDataDetails { included: true })
    );
    assert_eq!(described.output, None);
    assert_eq!(described.trace_header.as_deref(), Some("Root=1-abc"));
}

async fn generated_names_and_input_forms(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "gen", WAIT_DEFINITION, Standard).await;
    let started = start_execution(&mut client, &sm, None, None).await;
    let described = describe(&mut client, &started.execution_arn).await;
    let uuid = uuid::Uuid::parse_str(&described.name).expect("a UUID name");
    assert_eq!(uuid.get_version_num(), 4);
    assert_eq!(described.name, uuid.hyphenated().to_string());
    assert_eq!(described.input.as_deref(), Some("{}"));

    for (i, input) in ["null", "1", "\"some text\"", "[1,2]"].iter().enumerate() {
        let started = start_execution(&mut client, &sm, Some(&format!("in{i}")), Some(input)).await;
        assert_eq!(
            describe(&mut client, &started.execution_arn)
                .await
                .input
                .as_deref(),
            Some(*input)
        );
    }
}

async fn start_rejects_bad_requests(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "bad", WAIT_DEFINITION, Standard).await;
    let missing = arn(&server, "stateMachine:missing");
    let request =
        |arn: &str, name: Option<&str>, input: Option<String>| pb::StartExecutionRequest {
            state_machine_arn: arn.into(),
            name: name.map(str::to_string),
            input,
            trace_header: None,
        };
    let cases: Vec<(pb::StartExecutionRequest, &str, Option<String>)> = vec![
        (
            request(&sm, None, Some(String::new())),
            "InvalidExecutionInput",
            Some("Invalid State Machine Execution Input: 'Invalid execution input.'".into()),
        ),
        (
            request(&sm, None, Some("not json".into())),
            "InvalidExecutionInput",
            None,
        ),
        (
            request(&sm, None, Some(format!("\"{}\"", "x".repeat(262_144)))),
            "ValidationException",
            None,
        ),
        (
            request(&sm, Some("a b"), None),
            "InvalidName",
            Some("Invalid Name: 'a b'".into()),
        ),
        (
            request(&sm, Some(&"n".repeat(81)), None),
            "ValidationException",
            None,
        ),
        (
            request(&missing, None, None),
            "StateMachineDoesNotExist",
            Some(format!("State Machine Does Not Exist: '{missing}'")),
        ),
        (
            request("arn:aws:states:us-east-1:1:activity:x", None, None),
            "InvalidArn",
            Some("Invalid Arn: 'Resource type not valid in this context: activity'".into()),
        ),
        (
            pb::StartExecutionRequest {
                trace_header: Some("é".into()),
                ..request(&sm, None, None)
            },
            "ValidationException",
            None,
        ),
    ];
    for (req, name, message) in cases {
        let got = assert_error_kind(client.start_execution(req).await, name);
        if let Some(message) = message {
            assert_eq!(got, message);
        }
    }
    let message = assert_error_kind(
        client
            .start_execution(request(&sm, None, Some("not json".into())))
            .await,
        "InvalidExecutionInput",
    );
    assert!(
        message.starts_with("Invalid State Machine Execution Input: '"),
        "{message}"
    );
    // Exactly at the limit is fine.
    start_execution(
        &mut client,
        &sm,
        Some("big"),
        Some(&format!("\"{}\"", "x".repeat(262_142))),
    )
    .await;
}

async fn start_is_idempotent_only_while_running_with_same_input(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "idem", WAIT_DEFINITION, Standard).await;
    let first = start_execution(&mut client, &sm, Some("once"), Some("{\"x\":1}")).await;
    let again = start_execution(&mut client, &sm, Some("once"), Some("{\"x\":1}")).await;
    assert_eq!(again, first);

    let exists = format!("Execution Already Exists: '{}'", first.execution_arn);
    let start = |input: &str| pb::StartExecutionRequest {
        state_machine_arn: sm.clone(),
        name: Some("once".into()),
        input: Some(input.into()),
        trace_header: None,
    };
    assert_error(
        client.start_execution(start("{\"x\": 1}")).await,
        "ExecutionAlreadyExists",
        &exists,
    );
    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: first.execution_arn.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_error(
        client.start_execution(start("{\"x\":1}")).await,
        "ExecutionAlreadyExists",
        &exists,
    );
}

async fn express_executions_follow_the_matrix(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "fast", WAIT_DEFINITION, Express).await;
    let first = start_execution(&mut client, &sm, Some("e"), None).await;
    let second = start_execution(&mut client, &sm, Some("e"), None).await;
    let prefix = arn(&server, "express:fast:e:");
    for started in [&first, &second] {
        let uuid = started
            .execution_arn
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("express ARN: {}", started.execution_arn));
        uuid::Uuid::parse_str(uuid).expect("express ARN ends with a UUID");
    }
    assert_ne!(
        first.execution_arn, second.execution_arn,
        "EXPRESS is never idempotent"
    );

    let express = "Invalid Arn: 'Resource type not valid in this context: express'";
    let arn = first.execution_arn.clone();
    assert_error(
        client
            .describe_execution(pb::DescribeExecutionRequest {
                execution_arn: arn.clone(),
                included_data: 0,
            })
            .await,
        "InvalidArn",
        express,
    );
    assert_error(
        client
            .stop_execution(pb::StopExecutionRequest {
                execution_arn: arn.clone(),
                ..Default::default()
            })
            .await,
        "InvalidArn",
        express,
    );
    assert_error(
        client
            .get_execution_history(pb::GetExecutionHistoryRequest {
                execution_arn: arn.clone(),
                ..Default::default()
            })
            .await,
        "InvalidArn",
        express,
    );
    assert_error(
        client
            .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
                execution_arn: arn,
                included_data: 0,
            })
            .await,
        "InvalidArn",
        express,
    );
    assert_error(
        client
            .list_executions(pb::ListExecutionsRequest {
                state_machine_arn: sm,
                ..Default::default()
            })
            .await,
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
    );
}

#[tokio::test]
async fn describe_errors_and_output_only_when_succeeded() {
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "out", WAIT_DEFINITION, Standard).await;
    let missing = arn(&server, "execution:out:missing");
    for (execution_arn, name, message) in [
        (
            "not_a_valid_arn".to_string(),
            "InvalidArn",
            "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'".to_string(),
        ),
        (
            sm.clone(),
            "InvalidArn",
            "Invalid Arn: 'Resource type not valid in this context: stateMachine'".to_string(),
        ),
        (
            missing.clone(),
            "ExecutionDoesNotExist",
            format!("Execution Does Not Exist: '{missing}'"),
        ),
    ] {
        assert_error(
            client
                .describe_execution(pb::DescribeExecutionRequest {
                    execution_arn: execution_arn.clone(),
                    included_data: 0,
                })
                .await,
            name,
            &message,
        );
        assert_error(
            client
                .describe_state_machine_for_execution(pb::DescribeStateMachineForExecutionRequest {
                    execution_arn,
                    included_data: 0,
                })
                .await,
            name,
            &message,
        );
    }

    let succeeded = start_execution(&mut client, &sm, Some("ok"), None)
        .await
        .execution_arn;
    let failed = start_execution(&mut client, &sm, Some("ko"), None)
        .await
        .execution_arn;
    set_closed(&server, &succeeded, "SUCCEEDED", "{\"r\":1}").await;
    set_closed(&server, &failed, "FAILED", "{\"r\":2}").await;
    let ok = describe(&mut client, &succeeded).await;
    assert_eq!(ok.status(), pb::execution_status::Value::Succeeded);
    assert_eq!(ok.output.as_deref(), Some("{\"r\":1}"));
    assert_eq!(
        ok.output_details,
        Some(pb::CloudWatchEventsExecutionDataDetails { included: true })
    );
    assert!(ok.stop_date.is_some());
    let ko = describe(&mut client, &failed).await;
    assert_eq!(ko.status(), pb::execution_status::Value::Failed);
    assert_eq!(ko.output, None);
}

#[tokio::test]
async fn stop_aborts_once_and_records_the_event() {
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "stop", WAIT_DEFINITION, Standard).await;
    let with_reason = start_execution(&mut client, &sm, Some("a"), None)
        .await
        .execution_arn;
    let without = start_execution(&mut client, &sm, Some("b"), None)
        .await
        .execution_arn;

    let stopped = client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: with_reason.clone(),
            error: Some("MyError".into()),
            cause: Some("because".into()),
        })
        .await
        .unwrap()
        .into_inner();
    let described = describe(&mut client, &with_reason).await;
    assert_eq!(described.status(), pb::execution_status::Value::Aborted);
    assert_eq!(described.stop_date, stopped.stop_date);
    let events = history(&mut client, &with_reason, 0, false, None)
        .await
        .events;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1].r#type(),
        pb::history_event_type::Value::ExecutionAborted
    );
    assert_eq!((events[1].id, events[1].previous_event_id), (2, 0));
    assert_eq!(events[1].timestamp, stopped.stop_date);
    assert_eq!(
        events[1].details,
        Some(Details::ExecutionAbortedEventDetails(
            pb::ExecutionAbortedEventDetails {
                error: Some("MyError".into()),
                cause: Some("because".into()),
            }
        ))
    );

    // Stopping a closed execution changes nothing and returns the original stop date (our decision).
    let again = client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: with_reason.clone(),
            error: Some("Other".into()),
            cause: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.stop_date, stopped.stop_date);
    assert_eq!(
        history(&mut client, &with_reason, 0, false, None)
            .await
            .events
            .len(),
        2
    );

    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: without.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let events = history(&mut client, &without, 0, false, None).await.events;
    assert_eq!(
        events[1].details,
        Some(Details::ExecutionAbortedEventDetails(
            pb::ExecutionAbortedEventDetails {
                error: None,
                cause: None,
            }
        ))
    );

    // The stop fenced the executor's lease and cleared its due time.
    let store = store(&server).await;
    let (lease_version, due): (i64, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT lease_version, due_at FROM executions WHERE arn = $1")
            .bind(&without)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!((lease_version, due), (1, None));

    let missing = arn(&server, "execution:stop:missing");
    assert_error(
        client
            .stop_execution(pb::StopExecutionRequest {
                execution_arn: missing.clone(),
                ..Default::default()
            })
            .await,
        "ExecutionDoesNotExist",
        &format!("Execution Does Not Exist: '{missing}'"),
    );
    assert_error_kind(
        client
            .stop_execution(pb::StopExecutionRequest {
                execution_arn: without,
                error: Some("e".repeat(257)),
                cause: None,
            })
            .await,
        "ValidationException",
    );
}

async fn history_starts_with_execution_started_and_can_drop_data(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "hist", WAIT_DEFINITION, Standard).await;
    let started = start_execution(&mut client, &sm, Some("h"), Some("[1]")).await;
    let events = history(&mut client, &started.execution_arn, 0, false, None).await;
    assert_eq!(events.next_token, None);
    assert_eq!(events.events.len(), 1);
    let first = &events.events[0];
    assert_eq!(
        first.r#type(),
        pb::history_event_type::Value::ExecutionStarted
    );
    assert_eq!((first.id, first.previous_event_id), (1, 0));
    assert_eq!(first.timestamp, started.start_date);
    let data = Some(pb::HistoryEventExecutionDataDetails {
        truncated: Some(false),
    });
    assert_eq!(
        first.details,
        Some(Details::ExecutionStartedEventDetails(
            pb::ExecutionStartedEventDetails {
                input: Some("[1]".into()),
                input_details: data,
                role_arn: Some(ROLE.into()),
                ..Default::default()
            }
        ))
    );

    let without_data = client
        .get_execution_history(pb::GetExecutionHistoryRequest {
            execution_arn: started.execution_arn.clone(),
            include_execution_data: Some(false),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        without_data.events[0].details,
        Some(Details::ExecutionStartedEventDetails(
            pb::ExecutionStartedEventDetails {
                input: None,
                input_details: data,
                role_arn: Some(ROLE.into()),
                ..Default::default()
            }
        ))
    );
    let missing = arn(&server, "execution:hist:missing");
    assert_error(
        client
            .get_execution_history(pb::GetExecutionHistoryRequest {
                execution_arn: missing.clone(),
                ..Default::default()
            })
            .await,
        "ExecutionDoesNotExist",
        &format!("Execution Does Not Exist: '{missing}'"),
    );
}

#[tokio::test]
async fn history_pagination() {
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "pages", WAIT_DEFINITION, Standard).await;
    let execution = start_execution(&mut client, &sm, Some("p"), None)
        .await
        .execution_arn;
    let other = start_execution(&mut client, &sm, Some("q"), None)
        .await
        .execution_arn;
    append_events(&server, &execution, 1100).await;
    append_events(&server, &other, 5).await;
    let all: Vec<i32> = (1..=1101).collect();

    // maxResults 0 → 100 per page.
    let first = history(&mut client, &execution, 0, false, None).await;
    assert_eq!(first.events.len(), 100);
    assert!(first.next_token.is_some());

    for max_results in [1000, 0, 7] {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = history(&mut client, &execution, max_results, false, token).await;
            ids.extend(page.events.iter().map(|e| e.id));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(ids, all, "maxResults {max_results}");
    }

    // Reverse order, in pages of 1 for the first few.
    let page = history(&mut client, &execution, 1, true, None).await;
    assert_eq!(page.events.iter().map(|e| e.id).collect::<Vec<_>>(), [1101]);
    let page = history(&mut client, &execution, 2, true, page.next_token).await;
    assert_eq!(
        page.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        [1100, 1099]
    );

    // A token belongs to its query: other execution, other order, tampered, garbage.
    let token = history(&mut client, &execution, 1, false, None)
        .await
        .next_token
        .unwrap();
    let mut tampered = token.clone();
    tampered.insert(5, 'x');
    let bad_tokens = [
        (other.clone(), false, token.clone()),
        (execution.clone(), true, token.clone()),
        (execution.clone(), false, tampered),
        (execution.clone(), false, "garbage".to_string()),
    ];
    for (arn, reverse_order, next_token) in bad_tokens {
        assert_error(
            client
                .get_execution_history(pb::GetExecutionHistoryRequest {
                    execution_arn: arn,
                    max_results: 1,
                    reverse_order,
                    next_token: Some(next_token),
                    include_execution_data: None,
                })
                .await,
            "InvalidToken",
            "Invalid Token: 'Invalid token'",
        );
    }
    assert_error(
        client
            .get_execution_history(pb::GetExecutionHistoryRequest {
                execution_arn: execution.clone(),
                max_results: 1001,
                ..Default::default()
            })
            .await,
        "ValidationException",
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    let page = history(&mut client, &execution, 1000, false, None).await;
    assert_eq!(page.events.len(), 1000);
}

async fn list_executions_newest_first_with_filter_and_stable_pages(backend: Backend) {
    let server = api_server(backend).await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "many", WAIT_DEFINITION, Standard).await;
    let other = create_state_machine(&mut client, "other", WAIT_DEFINITION, Standard).await;
    let mut started = Vec::new();
    for i in 0..6 {
        started.push(start_execution(&mut client, &sm, Some(&format!("e{i}")), None).await);
    }
    start_execution(&mut client, &other, Some("x"), None).await;
    client
        .stop_execution(pb::StopExecutionRequest {
            execution_arn: started[2].execution_arn.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let list = |status: pb::execution_status::Value, max_results: i32, token: Option<String>| {
        pb::ListExecutionsRequest {
            state_machine_arn: sm.clone(),
            status_filter: status as i32,
            max_results,
            next_token: token,
            ..Default::default()
        }
    };
    let all = client
        .list_executions(list(pb::execution_status::Value::Unspecified, 0, None))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = all.executions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["e5", "e4", "e3", "e2", "e1", "e0"]);
    assert_eq!(all.next_token, None);
    let aborted = &all.executions[3];
    assert_eq!(aborted.status(), pb::execution_status::Value::Aborted);
    assert!(aborted.stop_date.is_some());
    assert_eq!(aborted.state_machine_arn, sm);
    assert_eq!(aborted.start_date, started[2].start_date);

    let only_aborted = client
        .list_executions(list(pb::execution_status::Value::Aborted, 0, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        only_aborted
            .executions
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["e2"]
    );
    let succeeded = client
        .list_executions(list(pb::execution_status::Value::Succeeded, 0, None))
        .await
        .unwrap()
        .into_inner();
    assert!(succeeded.executions.is_empty());

    // Page by 2 while new executions start: they are newer than the cursor, so later pages neither
    // repeat nor skip anything.
    let first = client
        .list_executions(list(pb::execution_status::Value::Running, 2, None))
        .await
        .unwrap()
        .into_inner();
    let mut seen: Vec<String> = first.executions.into_iter().map(|e| e.name).collect();
    start_execution(&mut client, &sm, Some("late1"), None).await;
    start_execution(&mut client, &sm, Some("late2"), None).await;
    let mut token = first.next_token;
    while let Some(current) = token {
        let page = client
            .list_executions(list(pb::execution_status::Value::Running, 2, Some(current)))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.executions.into_iter().map(|e| e.name));
        token = page.next_token;
    }
    assert_eq!(seen, ["e5", "e4", "e3", "e1", "e0"]);

    // Tokens are bound to machine and filter.
    let token = client
        .list_executions(list(pb::execution_status::Value::Unspecified, 1, None))
        .await
        .unwrap()
        .into_inner()
        .next_token
        .unwrap();
    for request in [
        list(pb::execution_status::Value::Running, 1, Some(token.clone())),
        pb::ListExecutionsRequest {
            state_machine_arn: other.clone(),
            next_token: Some(token.clone()),
            ..Default::default()
        },
    ] {
        assert_error(
            client.list_executions(request).await,
            "InvalidToken",
            "Invalid Token: 'Invalid token'",
        );
    }
    // ListExecutions tokens may be up to 3096 characters.
    let message = assert_error_kind(
        client
            .list_executions(list(
                pb::execution_status::Value::Unspecified,
                1,
                Some("x".repeat(3097)),
            ))
            .await,
        "ValidationException",
    );
    assert!(
        message.ends_with("Member must have length less than or equal to 3096"),
        "{message}"
    );
    assert_error_kind(
        client
            .list_executions(list(
                pb::execution_status::Value::Unspecified,
                1,
                Some("x".repeat(2000)),
            ))
            .await,
        "InvalidToken",
    );
    assert_error_kind(
        client
            .list_executions(list(pb::execution_status::Value::Unspecified, 1001, None))
            .await,
        "ValidationException",
    );
    assert_error(
        client
            .list_executions(pb::ListExecutionsRequest {
                state_machine_arn: sm.clone(),
                status_filter: 42,
                ..Default::default()
            })
            .await,
        "ValidationException",
        "1 validation error detected: Value '42' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]",
    );
    let missing = arn(&server, "stateMachine:missing");
    assert_error(
        client
            .list_executions(pb::ListExecutionsRequest {
                state_machine_arn: missing.clone(),
                ..Default::default()
            })
            .await,
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{missing}'"),
    );
}

#[tokio::test]
async fn start_commits_work_for_the_executor() {
    let server = pg_api_server().await;
    let mut client = server.client.clone();
    let sm = create_state_machine(&mut client, "work", WAIT_DEFINITION, Standard).await;
    let started = start_execution(&mut client, &sm, Some("w"), None).await;
    let store = store(&server).await;
    let execution = store
        .execution_get(&started.execution_arn)
        .await
        .unwrap()
        .expect("stored");
    assert!(!execution.express);
    let (due, engine_state, last_event_id): (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
        i64,
    ) = sqlx::query_as("SELECT due_at, engine_state, last_event_id FROM executions WHERE id = $1")
        .bind(execution.id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(due, Some(execution.start_date));
    assert_eq!(engine_state, None);
    assert_eq!(last_event_id, 1);
}

on_both_backends!(
    start_then_describe,
    generated_names_and_input_forms,
    start_rejects_bad_requests,
    start_is_idempotent_only_while_running_with_same_input,
    express_executions_follow_the_matrix,
    history_starts_with_execution_started_and_can_drop_data,
    list_executions_newest_first_with_filter_and_stable_pages,
);
