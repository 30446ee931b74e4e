//! Long polls on the AWS JSON door: one ending at graceful shutdown, and one whose caller hung up, which
//! takes no task.

mod aws_sdk_support;
mod common;

use std::time::Duration;

use aws_sdk_support::*;
use common::{Backend, TestServer};
use sfn::config::Role;
use tokio::io::AsyncWriteExt;

async fn a_long_poll_ends_at_graceful_shutdown(backend: Backend) {
    let server = TestServer::start_on(backend, |args| {
        args.role = Role::Api;
        args.activity_poll_timeout = Duration::from_secs(60);
    })
    .await;
    let sfn = client(&server);
    let activity = sfn
        .create_activity()
        .name("idle")
        .send()
        .await
        .expect("create");
    let poll = tokio::spawn(
        sfn.get_activity_task()
            .activity_arn(activity.activity_arn())
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let began = std::time::Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.stop()).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "serve should return Ok: {stopped:?}"
    );
    assert!(began.elapsed() < Duration::from_secs(10));
    let answer = poll.await.unwrap().expect("the poll gets its answer");
    assert_eq!(answer.task_token(), None);
}

/// A worker whose connection goes away mid-poll takes no task: the next poller gets it.
async fn a_poll_whose_caller_hung_up_takes_no_task(backend: Backend) {
    let server = TestServer::start_on(backend, |args| {
        args.activity_poll_timeout = Duration::from_secs(60);
    })
    .await;
    let sfn = client(&server);
    let activity = sfn
        .create_activity()
        .name("flaky-workers")
        .send()
        .await
        .expect("create activity");
    let activity_arn = activity.activity_arn().to_string();
    let machine = sfn
        .create_state_machine()
        .name("flaky")
        .definition(activity_definition(&activity_arn))
        .role_arn(ROLE_ARN)
        .send()
        .await
        .expect("create state machine");

    let addr = server.aws_addr.unwrap();
    let body = serde_json::json!({"activityArn": activity_arn}).to_string();
    let mut abandoned = tokio::net::TcpStream::connect(addr).await.unwrap();
    abandoned
        .write_all(
            format!(
                "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\n\
                 X-Amz-Target: AWSStepFunctions.GetActivityTask\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(abandoned);
    tokio::time::sleep(Duration::from_millis(500)).await;

    sfn.start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .send()
        .await
        .expect("start");
    let task = tokio::time::timeout(
        Duration::from_secs(15),
        sfn.get_activity_task().activity_arn(&activity_arn).send(),
    )
    .await
    .expect("the live worker gets the task, not the one that hung up")
    .expect("GetActivityTask");
    assert!(task.task_token().is_some());
}

on_both_backends!(
    a_long_poll_ends_at_graceful_shutdown,
    a_poll_whose_caller_hung_up_takes_no_task,
);
