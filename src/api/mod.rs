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
