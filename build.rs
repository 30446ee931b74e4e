//! Compiles the gRPC API (proto/stepfunctions/v1) with protox (no `protoc` needed) into Rust types and the
//! tonic service, and writes the file descriptor set that the reflection service serves.

use std::path::PathBuf;

use protox::prost::Message;

const ERROR_DETAILS: &str = "proto/google/rpc/error_details.proto";

const PROTO_FILES: &[&str] = &[
    "proto/stepfunctions/v1/stepfunctions.proto",
    "proto/stepfunctions/v1/history.proto",
    "proto/stepfunctions/v1/types.proto",
];

/// The history-event details messages: the engine stores them as AWS-shaped JSON, so they deserialize
/// straight from that JSON with serde (camelCase = AWS member names; absent members take their default).
const EVENT_DETAILS_MESSAGES: &[&str] = &[
    "HistoryEventExecutionDataDetails",
    "ActivityFailedEventDetails",
    "ActivityScheduleFailedEventDetails",
    "ActivityScheduledEventDetails",
    "ActivityStartedEventDetails",
    "ActivitySucceededEventDetails",
    "ActivityTimedOutEventDetails",
    "TaskFailedEventDetails",
    "TaskScheduledEventDetails",
    "TaskStartFailedEventDetails",
    "TaskStartedEventDetails",
    "TaskSubmitFailedEventDetails",
    "TaskSubmittedEventDetails",
    "TaskSucceededEventDetails",
    "TaskTimedOutEventDetails",
    "ExecutionFailedEventDetails",
    "ExecutionStartedEventDetails",
    "ExecutionSucceededEventDetails",
    "ExecutionAbortedEventDetails",
    "ExecutionTimedOutEventDetails",
    "ExecutionRedrivenEventDetails",
    "MapStateStartedEventDetails",
    "MapIterationEventDetails",
    "LambdaFunctionFailedEventDetails",
    "LambdaFunctionScheduleFailedEventDetails",
    "LambdaFunctionScheduledEventDetails",
    "LambdaFunctionStartFailedEventDetails",
    "LambdaFunctionSucceededEventDetails",
    "LambdaFunctionTimedOutEventDetails",
    "StateEnteredEventDetails",
    "StateExitedEventDetails",
    "AssignedVariablesDetails",
    "EvaluationFailedEventDetails",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `sqlx::migrate!` embeds these folders, but a proc macro cannot tell Cargo what it read: without this a
    // new migration file would not rebuild the crate.
    println!("cargo:rerun-if-changed=migrations");
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(PROTO_FILES, ["proto"])?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("stepfunctions_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    // Served by reflection only (tonic-types has the Rust type): lets clients decode the error detail.
    println!("cargo:rerun-if-changed={ERROR_DETAILS}");
    std::fs::write(
        out_dir.join("error_details_descriptor.bin"),
        protox::compile([ERROR_DETAILS], ["proto"])?.encode_to_vec(),
    )?;

    // A body that does not decode is the caller's ValidationException, not INTERNAL (see src/api/codec.rs).
    let mut builder = tonic_prost_build::configure().codec_path("crate::api::codec::AwsCodec");
    for message in EVENT_DETAILS_MESSAGES {
        builder = builder.type_attribute(
            format!(".stepfunctions.v1.{message}"),
            "#[derive(serde::Deserialize)] #[serde(default, rename_all = \"camelCase\")]",
        );
    }
    builder.compile_fds(descriptors)?;
    Ok(())
}
