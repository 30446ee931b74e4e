//! The gRPC surface: the generated types ([`pb`]), the `StepFunctions` service whose handlers call
//! `operations::Service`, the one ApiError → `tonic::Status` mapping, and every conversion between proto
//! messages and the operations' shapes (`convert.rs`, history events in `history.rs`), and the layer that
//! traces and measures each call (`rpc.rs`).

pub mod codec;
mod convert;
mod convert_test_state;
mod history;
mod rpc;
mod service;
mod status;

pub use history::{history_event_to_pb, timestamp};
pub use rpc::RpcLayer;
pub use service::{StepFunctionsApi, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
pub use status::{status_from, ERROR_DOMAIN};

/// The RPC names of the `StepFunctions` service, read from the compiled descriptor (AWS's operation
/// names): what the AWS JSON door checks its table against.
pub fn operation_names() -> Vec<String> {
    use prost::Message;
    let Ok(descriptors) = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET) else {
        return Vec::new();
    };
    descriptors
        .file
        .iter()
        .flat_map(|file| &file.service)
        .filter(|service| service.name() == "StepFunctions")
        .flat_map(|service| &service.method)
        .map(|method| method.name().to_string())
        .collect()
}

/// The generated gRPC types and service of `proto/stepfunctions/v1`.
pub mod pb {
    tonic::include_proto!("stepfunctions.v1");

    /// The encoded file descriptor set of the API (with its imports), served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/stepfunctions_descriptor.bin"));
    /// `google.rpc.ErrorInfo`, the detail every error carries, for reflection.
    pub const ERROR_DETAILS_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/error_details_descriptor.bin"));
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::pb;
    use crate::domain::enums::{
        AwsEnum, ExecutionRedriveFilter, ExecutionRedriveStatus, ExecutionStatus, LogLevel,
        StateMachineStatus, StateMachineType,
    };

    /// Every enum of the API is `message X { enum Value { UNSPECIFIED = 0; <AWS names> } }`: value names
    /// are scoped by their message, so enums can grow and share AWS's names, and the proto3 JSON form
    /// (which prints value names) is AWS's.
    #[test]
    fn every_enum_is_nested_in_a_message_of_its_own_with_aws_value_names() {
        let set = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
        let mut enums = Vec::new();
        for file in set
            .file
            .iter()
            .filter(|f| f.package() == "stepfunctions.v1")
        {
            assert!(
                file.enum_type.is_empty(),
                "{}: a top-level enum shares the package's value names",
                file.name()
            );
            for message in &file.message_type {
                for nested in &message.enum_type {
                    assert_eq!(nested.name(), "Value", "in {}", message.name());
                    assert_eq!(nested.value[0].name(), "UNSPECIFIED");
                    assert_eq!(nested.value[0].number(), 0);
                    let names: Vec<&str> = nested.value[1..].iter().map(|v| v.name()).collect();
                    enums.push((message.name().to_string(), names));
                }
            }
        }
        let names_of = |enum_name: &str| -> Vec<&str> {
            enums
                .iter()
                .find(|(name, _)| name == enum_name)
                .unwrap_or_else(|| panic!("{enum_name} missing"))
                .1
                .clone()
        };
        let aws = |names: &[&'static str]| names.to_vec();
        assert_eq!(
            names_of("ExecutionStatus"),
            aws(&[
                ExecutionStatus::Running.aws_name(),
                ExecutionStatus::Succeeded.aws_name(),
                ExecutionStatus::Failed.aws_name(),
                ExecutionStatus::TimedOut.aws_name(),
                ExecutionStatus::Aborted.aws_name(),
                "PENDING_REDRIVE",
            ])
        );
        assert_eq!(
            names_of("StateMachineType"),
            aws(&[
                StateMachineType::Standard.aws_name(),
                StateMachineType::Express.aws_name()
            ])
        );
        assert_eq!(
            names_of("StateMachineStatus"),
            aws(&[
                StateMachineStatus::Active.aws_name(),
                StateMachineStatus::Deleting.aws_name()
            ])
        );
        assert_eq!(
            names_of("LogLevel"),
            aws(&[
                LogLevel::All.aws_name(),
                LogLevel::Error.aws_name(),
                LogLevel::Fatal.aws_name(),
                LogLevel::Off.aws_name()
            ])
        );
        assert_eq!(
            names_of("ExecutionRedriveStatus"),
            aws(&[
                ExecutionRedriveStatus::Redrivable.aws_name(),
                ExecutionRedriveStatus::NotRedrivable.aws_name(),
                ExecutionRedriveStatus::RedrivableByMapRun.aws_name()
            ])
        );
        assert_eq!(
            names_of("ExecutionRedriveFilter"),
            aws(&[
                ExecutionRedriveFilter::Redriven.aws_name(),
                ExecutionRedriveFilter::NotRedriven.aws_name()
            ])
        );
        // Today's 62 history event types, in the model's order.
        let events = names_of("HistoryEventType");
        assert_eq!(events.len(), 62);
        assert_eq!(events[0], "ActivityFailed");
        assert_eq!(events[61], "EvaluationFailed");
    }
}
