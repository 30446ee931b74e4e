//! The HTTP Task (`arn:aws:states:::http:invoke`) through the real server against a local HTTP server, on
//! both backends: the request it sends, AWS's result shape, 4xx, 5xx with Retry, TimeoutSeconds, a refused
//! host (no request sent), connections' credentials, and the callback pattern.

mod common;
mod integrations_support;

use std::io::Write;
use std::time::Duration;

use common::{Backend, TestServer};
use integrations_support::*;
use serde_json::{json, Value};
use sfn::api::pb;
use sfn::api::pb::history_event::Details;

const API_KEY_CONNECTION: &str =
    "arn:aws:events:us-east-1:123456789012:connection/api/0b0e6c9a-0000-0000-0000-000000000001";
const OAUTH_CONNECTION: &str =
    "arn:aws:events:us-east-1:123456789012:connection/oauth/0b0e6c9a-0000-0000-0000-000000000003";
const BASIC_CONNECTION: &str =
    "arn:aws:events:us-east-1:123456789012:connection/basic/0b0e6c9a-0000-0000-0000-000000000002";

fn http_task(parameters: Value, extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": parameters, "End": true});
    if let (Some(t), Value::Object(extra)) = (task.as_object_mut(), extra) {
        t.extend(extra);
    }
    json!({"StartAt": "Call", "States": {"Call": task}})
}

/// A server allowed to call `allowed` (and nothing else), with two connections configured.
async fn server_allowing(backend: Backend, allowed: &str) -> (TestServer, tempfile::NamedTempFile) {
    server_allowing_timed(backend, allowed, sfn::clock::system()).await
}

/// [`server_allowing`] with the server's time taken from `clock`.
async fn server_allowing_timed(
    backend: Backend,
    allowed: &str,
    clock: sfn::clock::SharedClock,
) -> (TestServer, tempfile::NamedTempFile) {
    let mut connections = tempfile::NamedTempFile::new().unwrap();
    write!(
        connections,
        "{}",
        json!({"Connections": [
            {"ConnectionArn": API_KEY_CONNECTION, "AuthorizationType": "API_KEY",
             "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret-key"},
                                "InvocationHttpParameters": {"QueryStringParameters": [{"Key": "tenant", "Value": "t1"}]}}},
            {"ConnectionArn": BASIC_CONNECTION, "AuthorizationType": "BASIC",
             "AuthParameters": {"BasicAuthParameters": {"Username": "user", "Password": "pass"}}},
            {"ConnectionArn": OAUTH_CONNECTION, "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
             "AuthParameters": {"OAuthParameters": {"AuthorizationEndpoint": format!("http://{allowed}/token"),
                "HttpMethod": "POST", "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"}}}}]})
    )
    .unwrap();
    let path = connections.path().to_path_buf();
    let allowed = allowed.to_string();
    let server = TestServer::start_timed(backend, clock, move |args| {
        args.integrations.http_allow = vec![allowed];
        args.integrations.connections = Some(path);
    })
    .await;
    (server, connections)
}

/// A GET with headers, query parameters and an API-key connection; a POST with a URL-encoded body and
/// basic credentials: what the server receives, and the result and history AWS records.
async fn requests_and_results_are_shaped_as_aws(backend: Backend) {
    let api = TestHttpServer::start(|r, _| match r.path.as_str() {
        "/token" => Answer::json(
            200,
            json!({"access_token": "tok-1", "token_type": "Bearer"}),
        ),
        _ => Answer::json(
            200,
            json!({"method": r.method, "path": r.path, "query": r.query}),
        ),
    })
    .await;
    let (mut server, _connections) = server_allowing(backend, &api.addr.to_string()).await;
    let get = create_machine(
        &mut server,
        "get",
        http_task(
            json!({"ApiEndpoint.$": "States.Format('{}/orders/{}', $.base, $.id)", "Method": "GET",
                   "Headers": {"x-trace": "abc"}, "QueryParameters": {"q": "a b", "tag": ["x", "y"]},
                   "Authentication": {"ConnectionArn": API_KEY_CONNECTION}}),
            json!({"ResultSelector": {"body.$": "$.ResponseBody", "code.$": "$.StatusCode", "text.$": "$.StatusText",
                                      "type.$": "$.Headers.content-type"}}),
        ),
    )
    .await;
    let execution = start(
        &mut server,
        &get,
        json!({"base": format!("http://{}", api.addr), "id": 7}),
    )
    .await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(
        status(&d),
        "SUCCEEDED",
        "{:?}",
        history(&mut server, &execution).await
    );
    assert_eq!(
        json_of(&d.output.unwrap()),
        json!({"body": {"method": "GET", "path": "/orders/7", "query": "q=a+b&tag=x&tag=y&tenant=t1"},
               "code": 200, "text": "OK", "type": ["application/json"]})
    );
    let sent = &api.received()[0];
    assert_eq!(sent.header("x-trace"), Some("abc"));
    assert_eq!(sent.header("x-api-key"), Some("secret-key"));
    assert_eq!(
        sent.header("user-agent"),
        Some("Amazon|StepFunctions|HttpInvoke|us-east-1")
    );
    let events = history(&mut server, &execution).await;
    let types: Vec<String> = events.iter().map(type_name).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let Some(Details::TaskScheduledEventDetails(s)) = &events[2].details else {
        panic!("TaskScheduled details");
    };
    assert_eq!(
        (s.resource_type.as_str(), s.resource.as_str()),
        ("http", "invoke")
    );
    let Some(Details::TaskSucceededEventDetails(ok)) = &events[4].details else {
        panic!("TaskSucceeded details");
    };
    let result = json_of(ok.output.as_deref().unwrap());
    let keys: Vec<&str> = result
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["Headers", "ResponseBody", "StatusCode", "StatusText"]
    );

    let post = create_machine(
        &mut server,
        "post",
        http_task(
            json!({"ApiEndpoint": api.url("/form"), "Method": "POST",
                   "RequestBody": {"items": ["a", "b"], "name": "n"},
                   "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                                 "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}},
                   "Authentication": {"ConnectionArn": BASIC_CONNECTION}}),
            json!({}),
        ),
    )
    .await;
    let execution = start(&mut server, &post, json!({})).await;
    assert_eq!(
        status(&wait_closed(&mut server, &execution).await),
        "SUCCEEDED"
    );
    let sent = &api.received()[1];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.body, "items%5B%5D=a&items%5B%5D=b&name=n");
    assert_eq!(
        sent.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(sent.header("authorization"), Some("Basic dXNlcjpwYXNz"));

    // A connection that is not configured adds nothing; a JSON body is sent as JSON.
    let unconfigured = create_machine(
        &mut server,
        "unconfigured",
        http_task(
            json!({"ApiEndpoint": api.url("/json"), "Method": "PUT", "RequestBody": {"k": [1, 2]},
                   "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/none/x"}}),
            json!({}),
        ),
    )
    .await;
    let execution = start(&mut server, &unconfigured, json!({})).await;
    assert_eq!(
        status(&wait_closed(&mut server, &execution).await),
        "SUCCEEDED"
    );
    let sent = &api.received()[2];
    assert_eq!(sent.body, r#"{"k":[1,2]}"#);
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.header("x-api-key"), None);

    // OAuth client credentials: a token from the connection's endpoint, then the call with it.
    let oauth = create_machine(
        &mut server,
        "oauth",
        http_task(
            json!({"ApiEndpoint": api.url("/secured"), "Method": "GET",
                   "Authentication": {"ConnectionArn": OAUTH_CONNECTION}}),
            json!({}),
        ),
    )
    .await;
    let execution = start(&mut server, &oauth, json!({})).await;
    assert_eq!(
        status(&wait_closed(&mut server, &execution).await),
        "SUCCEEDED"
    );
    let received = api.received();
    let token_request = &received[3];
    assert_eq!(token_request.path, "/token");
    assert_eq!(token_request.body, "grant_type=client_credentials");
    assert_eq!(
        token_request.header("authorization"),
        Some("Basic aWQ6c2VjcmV0")
    );
    assert_eq!(received[4].path, "/secured");
    assert_eq!(received[4].header("authorization"), Some("Bearer tok-1"));
}

/// 404 is `States.Http.StatusCode.404` (caught); 503 twice then 200 succeeds through Retry; a response slower
/// than TimeoutSeconds is `States.Timeout`.
async fn status_codes_retries_and_timeouts(backend: Backend) {
    let flaky_calls = std::sync::atomic::AtomicUsize::new(0);
    let api = TestHttpServer::start(move |r, _| match r.path.as_str() {
        "/missing" => Answer::json(404, json!({"message": "no such thing"})),
        "/flaky" if flaky_calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 => {
            Answer::json(503, json!({"message": "busy"}))
        }
        "/slow" => Answer {
            delay: Duration::from_secs(4),
            ..Answer::json(200, json!({}))
        },
        _ => Answer {
            status: 200,
            headers: vec![],
            body: "plain text".into(),
            delay: Duration::ZERO,
        },
    })
    .await;
    let (mut server, _connections) = server_allowing(backend, &api.addr.to_string()).await;
    let missing = create_machine(
        &mut server,
        "missing",
        json!({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                     "Parameters": {"ApiEndpoint": api.url("/missing"), "Method": "GET"},
                     "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &missing, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let caught = json_of(&d.output.unwrap());
    assert_eq!(caught["Error"], json!("States.Http.StatusCode.404"));
    let cause = json_of(caught["Cause"].as_str().unwrap());
    assert_eq!(cause["StatusCode"], json!(404));
    assert_eq!(cause["ResponseBody"], json!({"message": "no such thing"}));

    let flaky = create_machine(
        &mut server,
        "flaky",
        http_task(
            json!({"ApiEndpoint": api.url("/flaky"), "Method": "GET"}),
            json!({"Retry": [{"ErrorEquals": ["States.Http.StatusCode.503"], "IntervalSeconds": 1, "BackoffRate": 1}]}),
        ),
    )
    .await;
    let execution = start(&mut server, &flaky, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    // A body that is not JSON stays a string.
    assert_eq!(
        json_of(&d.output.unwrap())["ResponseBody"],
        json!("plain text")
    );
    let types: Vec<String> = history(&mut server, &execution)
        .await
        .iter()
        .map(type_name)
        .collect();
    assert_eq!(types.iter().filter(|t| *t == "TaskScheduled").count(), 3);
    assert_eq!(types.iter().filter(|t| *t == "TaskFailed").count(), 2);

    let slow = create_machine(
        &mut server,
        "slow",
        http_task(
            json!({"ApiEndpoint": api.url("/slow"), "Method": "GET"}),
            json!({"TimeoutSeconds": 1}),
        ),
    )
    .await;
    let execution = start(&mut server, &slow, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "FAILED");
    let events = history(&mut server, &execution).await;
    let timed_out = &events[events.len() - 2];
    assert_eq!(type_name(timed_out), "TaskTimedOut");
    assert_eq!(
        failure(&mut server, &execution).await,
        (Some("States.Timeout".into()), None)
    );
}

/// A host that is not allowed is refused before anything is sent: a `States.Permissions` task failure
/// that says which flag allows it. With no `--http-allow` at all, nothing may be called.
async fn refused_hosts_get_no_request(backend: Backend) {
    let api = TestHttpServer::start(|_, _| Answer::json(200, json!({}))).await;
    // Allowed: another port of the same host only.
    let (mut server, _connections) = server_allowing(backend, "127.0.0.1:1").await;
    for (name, endpoint) in [
        ("other_port", api.url("/x")),
        (
            "metadata",
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ),
    ] {
        let machine = create_machine(
            &mut server,
            name,
            http_task(json!({"ApiEndpoint": endpoint, "Method": "GET"}), json!({})),
        )
        .await;
        let execution = start(&mut server, &machine, json!({})).await;
        let d = wait_closed(&mut server, &execution).await;
        assert_eq!(status(&d), "FAILED");
        let (error, cause) = failure(&mut server, &execution).await;
        assert_eq!(error.as_deref(), Some("States.Permissions"));
        assert!(cause.unwrap().contains("--http-allow"));
    }
    assert!(api.received().is_empty(), "no request was sent");
}

/// `http:invoke.waitForTaskToken`: the request carries `$$.Task.Token`, the task waits for it
/// (SendTaskFailure here); HeartbeatSeconds without heartbeats times it out.
async fn callback_waits_for_the_token(backend: Backend) {
    let api = TestHttpServer::start(|_, _| Answer::json(202, json!({"queued": true}))).await;
    let (mut server, _connections) = server_allowing(backend, &api.addr.to_string()).await;
    let definition = |heartbeat: u64| {
        json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
            "Parameters": {"ApiEndpoint": api.url("/jobs"), "Method": "POST",
                           "RequestBody": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": heartbeat, "End": true}}})
    };
    let machine = create_machine(&mut server, "callback", definition(30)).await;
    let execution = start(&mut server, &machine, json!({})).await;
    wait_for_type(&mut server, &execution, "TaskSubmitted").await;
    let events = history(&mut server, &execution).await;
    let Some(Details::TaskSubmittedEventDetails(submitted)) = &events[4].details else {
        panic!("TaskSubmitted details");
    };
    assert_eq!(
        json_of(submitted.output.as_deref().unwrap())["StatusCode"],
        json!(202)
    );
    let token = json_of(&api.received()[0].body)["token"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .client
        .send_task_failure(pb::SendTaskFailureRequest {
            task_token: token,
            error: Some("Job.Failed".into()),
            cause: Some("it broke".into()),
        })
        .await
        .expect("failure accepted");
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "FAILED");
    assert_eq!(
        failure(&mut server, &execution).await,
        (Some("Job.Failed".into()), Some("it broke".into()))
    );
    assert_eq!(
        type_name(&history(&mut server, &execution).await[5]),
        "TaskFailed"
    );

    let machine = create_machine(&mut server, "no_heartbeat", definition(1)).await;
    let execution = start(&mut server, &machine, json!({})).await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "FAILED");
    assert_eq!(
        failure(&mut server, &execution).await,
        (Some("States.Timeout".into()), None)
    );
    let types: Vec<String> = history(&mut server, &execution)
        .await
        .iter()
        .map(type_name)
        .collect();
    assert_eq!(
        types[2..],
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskTimedOut",
            "ExecutionFailed"
        ]
    );
}

/// A callback call whose process died before its submit response was recorded (a server shut down while
/// the request hangs) is driven again by the next process once its claim expired, and not before; the
/// task then completes through the token the second call carried.
async fn a_call_whose_process_died_is_driven_again(backend: Backend) {
    let api = TestHttpServer::start(|_, n| {
        let mut answer = Answer::json(202, json!({"queued": n}));
        if n == 0 {
            answer.delay = Duration::from_secs(120);
        }
        answer
    })
    .await;
    let clock = sfn::clock::ManualClock::new(chrono::Utc::now());
    let allowed = api.addr.to_string();
    let mut server = TestServer::start_timed(backend, clock.clone(), move |args| {
        args.integrations.http_allow = vec![allowed];
    })
    .await;
    let machine = create_machine(
        &mut server,
        "redriven",
        json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
            "Parameters": {"ApiEndpoint": api.url("/jobs"), "Method": "POST",
                           "RequestBody": {"token.$": "$$.Task.Token"}},
            "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    let received = |n: usize| {
        let api = &api;
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while api.received().len() < n {
                assert!(
                    std::time::Instant::now() < deadline,
                    "request {n} never came"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    received(1).await;
    let mut server = server.restart().await;
    // The claim still holds: no sweep of the new process calls again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(api.received().len(), 1);
    clock.advance(Duration::from_secs(31));
    received(2).await;
    wait_for_type(&mut server, &execution, "TaskSubmitted").await;
    let token = json_of(&api.received()[1].body)["token"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .client
        .send_task_success(pb::SendTaskSuccessRequest {
            task_token: token,
            output: r#""done""#.into(),
        })
        .await
        .expect("success accepted");
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let types: Vec<String> = history(&mut server, &execution)
        .await
        .iter()
        .map(type_name)
        .collect();
    assert_eq!(
        types[2..],
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(api.received().len(), 2);
}

/// `--integration-concurrency` bounds the calls in flight (the other tasks wait queued), and a response
/// body over the 256 KiB payload limit fails its task with States.DataLimitExceeded without being read
/// (it used to be buffered up to 10 MiB, then failed as a socket error).
async fn calls_are_bounded_and_big_bodies_fail(backend: Backend) {
    let api = TestHttpServer::start(|r, _| {
        if r.path == "/big" {
            return Answer {
                status: 200,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: "x".repeat(20 * 1024 * 1024),
                delay: Duration::ZERO,
            };
        }
        Answer {
            delay: Duration::from_secs(3),
            ..Answer::json(200, json!({"ok": true}))
        }
    })
    .await;
    let allowed = api.addr.to_string();
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.http_allow = vec![allowed];
        args.integrations.integration_concurrency = Some(2);
    })
    .await;
    let machine = |path: &str| {
        http_task(
            json!({"ApiEndpoint": api.url(path), "Method": "GET"}),
            json!({}),
        )
    };
    let slow = create_machine(&mut server, "slow", machine("/slow")).await;
    let mut executions = Vec::new();
    for _ in 0..4 {
        executions.push(start(&mut server, &slow, json!({})).await);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while api.received().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no calls");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(api.received().len(), 2, "two calls at once");
    for execution in &executions {
        let d = wait_closed(&mut server, execution).await;
        assert_eq!(status(&d), "SUCCEEDED");
    }
    assert_eq!(api.received().len(), 4);

    let big = create_machine(&mut server, "big", machine("/big")).await;
    let execution = start(&mut server, &big, json!({})).await;
    assert_eq!(
        status(&wait_closed(&mut server, &execution).await),
        "FAILED"
    );
    assert_eq!(
        failure(&mut server, &execution).await,
        (
            Some("States.DataLimitExceeded".into()),
            Some("The state/task 'http' returned a result with a size exceeding the maximum number of bytes service limit.".into())
        )
    );
}

/// A callback token whose task already closed is answered TaskTimedOut, as AWS answers it
/// (TaskDoesNotExist is an activity's answer), while the execution goes on.
async fn a_closed_callback_token_is_timed_out(backend: Backend) {
    let api = TestHttpServer::start(|_, _| Answer::json(202, json!({"queued": true}))).await;
    let (mut server, _connections) = server_allowing(backend, &api.addr.to_string()).await;
    let machine = create_machine(
        &mut server,
        "callback_then_wait",
        json!({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
                     "Parameters": {"ApiEndpoint": api.url("/jobs"), "Method": "POST",
                                    "RequestBody": {"token.$": "$$.Task.Token"}},
                     "Next": "Later"},
            "Later": {"Type": "Wait", "Seconds": 600, "End": true}}}),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    wait_for_type(&mut server, &execution, "TaskSubmitted").await;
    let token = json_of(&api.received()[0].body)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let success = || pb::SendTaskSuccessRequest {
        task_token: token.clone(),
        output: "{}".into(),
    };
    server
        .client
        .send_task_success(success())
        .await
        .expect("accepted");
    wait_for_type(&mut server, &execution, "WaitStateEntered").await;
    let late = server
        .client
        .send_task_success(success())
        .await
        .unwrap_err();
    assert!(late.message().starts_with("TaskTimedOut"), "{late:?}");
    let heartbeat = server
        .client
        .send_task_heartbeat(pb::SendTaskHeartbeatRequest {
            task_token: token.clone(),
        })
        .await
        .unwrap_err();
    assert!(
        heartbeat.message().starts_with("TaskTimedOut"),
        "{heartbeat:?}"
    );
    assert_eq!(status(&describe(&mut server, &execution).await), "RUNNING");
}

/// A call slower than any fixed re-drive window (an OAuth token fetch, then the request) keeps its claim
/// for as long as it runs, so no process takes it over and sends it twice: time moves 90 s while it is in
/// flight (past the 75 s after which another process used to send it again), its claim still holds.
async fn a_slow_call_keeps_its_claim(backend: Backend) {
    let api = TestHttpServer::start(|r, _| {
        let delay = if r.path == "/token" { 2 } else { 6 };
        Answer {
            delay: Duration::from_secs(delay),
            ..Answer::json(200, json!({"access_token": "tok-1", "ok": true}))
        }
    })
    .await;
    let clock = sfn::clock::ManualClock::new(chrono::Utc::now());
    let (mut server, _connections) =
        server_allowing_timed(backend, &api.addr.to_string(), clock.clone()).await;
    let machine = create_machine(
        &mut server,
        "slow_oauth",
        http_task(
            json!({"ApiEndpoint": api.url("/call"), "Method": "POST",
                   "Authentication": {"ConnectionArn": OAUTH_CONNECTION}}),
            json!({}),
        ),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while api.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no token request");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..9 {
        clock.advance(Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    assert_eq!(status(&describe(&mut server, &execution).await), "RUNNING");
    // Read beside the server (a SQLite file's lock is the server's: read it with a bare connection).
    let now = sfn::clock::Clock::now(clock.as_ref());
    let sql = "SELECT claim_expires_at > $1 FROM activity_tasks WHERE status = 'STARTED'";
    let renewed: bool = match backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&server.database_url).await.unwrap();
            sqlx::query_scalar(sql)
                .bind(now)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&server.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql)
                .bind(now.timestamp_micros())
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert!(renewed, "the running call renewed its claim");
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let paths: Vec<String> = api.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/token", "/call"], "sent once");
}

/// A request-response call in flight when migration 0017 ran: the previous version claimed it without an
/// expiry (`claim_expires_at` NULL), which this version never re-drives. The migration's data step gives
/// such a row `started_at + 75 s` (the previous version's re-drive window); once that passes, a process
/// makes the call again and the execution finishes.
async fn a_call_in_flight_at_migration_0017_is_driven_again(backend: Backend) {
    let api = TestHttpServer::start(|_, n| {
        let mut answer = Answer::json(200, json!({"call": n}));
        if n == 0 {
            answer.delay = Duration::from_secs(3600);
        }
        answer
    })
    .await;
    let clock = sfn::clock::ManualClock::new(chrono::Utc::now());
    let allowed = api.addr.to_string();
    let mut server = TestServer::start_timed(backend, clock.clone(), move |args| {
        args.integrations.http_allow = vec![allowed];
    })
    .await;
    let machine = create_machine(
        &mut server,
        "legacy",
        http_task(
            json!({"ApiEndpoint": api.url("/call"), "Method": "GET"}),
            json!({}),
        ),
    )
    .await;
    let execution = start(&mut server, &machine, json!({})).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while api.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the call never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The process dies with the call in flight; its row is then as the previous version left it.
    let mut server = server.restart().await;
    let legacy = server
        .execute_beside(
            "UPDATE activity_tasks SET claim_expires_at = NULL WHERE status = 'STARTED'",
        )
        .await;
    assert_eq!(legacy, 1);
    clock.advance(Duration::from_secs(60));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        api.received().len(),
        1,
        "a row without expiry is never re-driven"
    );

    // The migration's data step, as written in the migration.
    let folder = match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let migration = std::fs::read_to_string(format!(
        "{}/migrations/{folder}/0017_integration_claims.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let data_step = &migration[migration
        .find("UPDATE activity_tasks")
        .expect("the data step")..];
    assert_eq!(server.execute_beside(data_step).await, 1);
    // 60 s after the start the 75 s are not over yet; past them the call is made again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(api.received().len(), 1);
    clock.advance(Duration::from_secs(16));
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    assert_eq!(
        json_of(&d.output.unwrap())["ResponseBody"],
        json!({"call": 1})
    );
    assert_eq!(api.received().len(), 2);
}

/// `https://` endpoints: an HTTP Task and a Lambda function (over `--lambda-endpoint https://…`) served
/// with a certificate of a private CA that `--ca-file` trusts succeed; an endpoint whose certificate comes
/// from another CA fails the task before any request is served, as a catchable `States.Http.Socket` (the
/// HTTP Task) or `Lambda.SdkClientException` (Lambda) whose cause names the certificate.
async fn https_endpoints_are_verified(backend: Backend) {
    let trusted_ca = TestCa::new("sfn test trusted CA");
    let other_ca = TestCa::new("sfn test unknown CA");
    let answer = |r: &Recorded, _: usize| {
        if r.path.starts_with("/2015-03-31/functions/") {
            return Answer::json(200, json!({"from": "lambda", "path": r.path}));
        }
        Answer::json(200, json!({"from": "https", "path": r.path}))
    };
    let trusted = TestHttpServer::start_https(trusted_ca.server_tls(), answer).await;
    let untrusted = TestHttpServer::start_https(other_ca.server_tls(), answer).await;
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    write!(ca_file, "{}", trusted_ca.pem).unwrap();
    let ca_path = ca_file.path().to_path_buf();
    let allowed = vec![trusted.addr.to_string(), untrusted.addr.to_string()];
    let lambda = format!("https://{}", trusted.addr);
    let mut server = TestServer::start_on(backend, move |args| {
        args.integrations.http_allow = allowed;
        args.integrations.ca_file = Some(ca_path);
        args.integrations.lambda_endpoint = Some(lambda);
    })
    .await;
    let machine = create_machine(
        &mut server,
        "https",
        json!({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                     "Parameters": {"ApiEndpoint.$": "$.url", "Method": "GET"},
                     "ResultSelector": {"body.$": "$.ResponseBody"}, "ResultPath": "$.http",
                     "Catch": [{"ErrorEquals": ["States.Http.Socket"], "ResultPath": "$.http", "Next": "Lambda"}],
                     "Next": "Lambda"},
            "Lambda": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                       "Parameters": {}, "ResultPath": "$.lambda",
                       "Catch": [{"ErrorEquals": ["Lambda.SdkClientException"], "ResultPath": "$.lambda", "Next": "Done"}],
                       "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}}}),
    )
    .await;

    let execution = start(
        &mut server,
        &machine,
        json!({"url": format!("https://{}/orders", trusted.addr)}),
    )
    .await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED");
    let output = json_of(&d.output.unwrap());
    assert_eq!(
        output["http"],
        json!({"body": {"from": "https", "path": "/orders"}})
    );
    assert_eq!(
        output["lambda"],
        json!({"from": "lambda", "path": "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho/invocations"})
    );

    let execution = start(
        &mut server,
        &machine,
        json!({"url": format!("https://{}/orders", untrusted.addr)}),
    )
    .await;
    let d = wait_closed(&mut server, &execution).await;
    assert_eq!(status(&d), "SUCCEEDED", "the failure is caught");
    let caught = &json_of(&d.output.unwrap())["http"];
    assert_eq!(caught["Error"], "States.Http.Socket", "{caught}");
    let cause = caught["Cause"].as_str().unwrap();
    assert!(
        cause.contains("certificate") && cause.contains("--ca-file"),
        "{cause}"
    );
    assert!(untrusted.received().is_empty(), "no request was served");
    assert_eq!(trusted.received().len(), 3);
}

on_both_backends!(
    https_endpoints_are_verified,
    a_call_in_flight_at_migration_0017_is_driven_again,
    a_slow_call_keeps_its_claim,
    a_closed_callback_token_is_timed_out,
    calls_are_bounded_and_big_bodies_fail,
    requests_and_results_are_shaped_as_aws,
    status_codes_retries_and_timeouts,
    refused_hosts_get_no_request,
    callback_waits_for_the_token,
    a_call_whose_process_died_is_driven_again,
);

/// What an idle server costs the database in integration statements: every claim and sweep of the
/// integration runner reads `activity_tasks`, so the table's scans per second while nothing runs are that
/// cost (Postgres counts them; SQLite has no such statistics). It was ~19/s: one claim statement per
/// integration resource and two sweep reads, every second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_runner_reads_the_task_table_rarely() {
    let server = TestServer::start_on(Backend::Postgres, |_| {}).await;
    let pool = sqlx::PgPool::connect(&server.database_url).await.unwrap();
    // Backends report their statistics at most once a second, and when idle after up to 10 s: sample over
    // a long window after the start-up's own statements were reported.
    let scans = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables \
             WHERE relname = 'activity_tasks'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    tokio::time::sleep(Duration::from_secs(12)).await;
    let before = scans().await;
    let window = Duration::from_secs(20);
    tokio::time::sleep(window).await;
    let per_second = (scans().await - before) as f64 / window.as_secs_f64();
    eprintln!("idle integration reads of activity_tasks: {per_second:.2}/s");
    assert!(
        per_second < 2.5,
        "{per_second:.2} scans/s of activity_tasks while idle"
    );
}
