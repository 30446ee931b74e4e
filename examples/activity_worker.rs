//! A minimal activity worker: long-polls GetActivityTask, does the work, reports the result.
//!
//!     cargo run --example activity_worker -- http://127.0.0.1:50051 arn:aws:states:us-east-1:123456789012:activity:work
//!
//! The work here upper-cases the `name` field of the input. A real worker would send heartbeats
//! (SendTaskHeartbeat) while it works if the Task state sets HeartbeatSeconds.

use serde_json::{json, Value};
use sfn::api::pb::step_functions_client::StepFunctionsClient;
use sfn::api::pb::{GetActivityTaskRequest, SendTaskFailureRequest, SendTaskSuccessRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let activity_arn = args
        .next()
        .ok_or("usage: activity_worker ENDPOINT ACTIVITY_ARN")?;
    let mut client = StepFunctionsClient::connect(endpoint).await?;
    loop {
        // Waits up to 60 s on the server; an empty token means "nothing yet, ask again".
        let task = client
            .get_activity_task(GetActivityTaskRequest {
                activity_arn: activity_arn.clone(),
                worker_name: Some(format!("example-{}", std::process::id())),
            })
            .await?
            .into_inner();
        let (Some(token), Some(input)) = (task.task_token, task.input) else {
            continue;
        };
        match work(&input) {
            Ok(output) => {
                client
                    .send_task_success(SendTaskSuccessRequest {
                        task_token: token,
                        output: output.to_string(),
                    })
                    .await?;
            }
            Err(cause) => {
                client
                    .send_task_failure(SendTaskFailureRequest {
                        task_token: token,
                        error: Some("Worker.BadInput".into()),
                        cause: Some(cause),
                    })
                    .await?;
            }
        }
    }
}

fn work(input: &str) -> Result<Value, String> {
    let input: Value = serde_json::from_str(input).map_err(|e| e.to_string())?;
    let name = input["name"]
        .as_str()
        .ok_or("the input has no string field 'name'")?;
    Ok(json!({"greeting": format!("HELLO, {}", name.to_uppercase())}))
}
