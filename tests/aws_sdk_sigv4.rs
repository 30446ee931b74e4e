//! SigV4 on the AWS JSON door with an auth file: the Rust AWS SDK's signatures verified, a wrong secret,
//! an unknown key and a missing signature refused with AWS's errors, and the worker role's limits.

mod aws_sdk_support;
mod common;

use aws_sdk_support::*;
use common::{Backend, TestServer};
use sfn::config::Role;

async fn sigv4_is_verified_with_an_auth_file(backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let path = write_auth_file(folder.path());
    let server = TestServer::start_on(backend, |args| {
        args.role = Role::Api;
        args.auth_file = Some(path);
    })
    .await;

    let admin = client_with(&server, ADMIN_KEY);
    let activity = admin
        .create_activity()
        .name("signed")
        .send()
        .await
        .expect("a correctly signed call passes");

    let (code, message) = aws_error(
        client_with(&server, (ADMIN_KEY.0, "not-the-secret"))
            .list_activities()
            .send()
            .await,
    );
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );
    let (code, message) = aws_error(
        client_with(&server, ("AKIDUNKNOWN", "whatever"))
            .list_activities()
            .send()
            .await,
    );
    assert_eq!(code, "UnrecognizedClientException");
    assert_eq!(
        message,
        "The security token included in the request is invalid."
    );

    // The worker role: activity work and Describe*, nothing else.
    let worker = client_with(&server, WORKER_KEY);
    worker
        .describe_activity()
        .activity_arn(activity.activity_arn())
        .send()
        .await
        .expect("a worker may describe");
    let empty = worker
        .get_activity_task()
        .activity_arn(activity.activity_arn())
        .send()
        .await
        .expect("a worker may poll");
    assert_eq!(empty.task_token(), None);
    let (code, message) = aws_error(worker.create_activity().name("mine").send().await);
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.starts_with("User: worker-1 is not authorized to perform: states:CreateActivity"),
        "{message}"
    );

    // No signature at all.
    let addr = server.aws_addr.unwrap();
    let answer = raw(addr, "AWSStepFunctions.ListActivities", b"{}", &[]).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_type(), "MissingAuthenticationTokenException");
}

on_both_backends!(sigv4_is_verified_with_an_auth_file);
