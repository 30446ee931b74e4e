//! The gRPC surface: the generated types ([`pb`]), the `StepFunctions` service whose handlers call
//! `operations::Service`, the one ApiError → `tonic::Status` mapping, and every conversion between proto
//! messages and the operations' shapes (`convert.rs`, history events in `history.rs`), and the layer that
//! traces and measures each call (`rpc.rs`).

pub mod codec;
mod convert;
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
