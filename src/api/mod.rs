//! The gRPC surface: the generated types ([`pb`]), the `StepFunctions` service whose handlers call
//! `operations::Service`, the one ApiError → `tonic::Status` mapping, and every conversion between proto
//! messages and the operations' shapes (`convert.rs`, history events in `history.rs`), and the layer that
//! traces and measures each call (`rpc.rs`).

mod convert;
mod history;
mod rpc;
mod service;
mod status;

pub use history::{history_event_to_pb, timestamp};
pub use rpc::RpcLayer;
pub use service::StepFunctionsApi;
pub use status::{status_from, ERROR_DOMAIN};

/// The generated gRPC types and service of `proto/stepfunctions/v1`.
pub mod pb {
    tonic::include_proto!("stepfunctions.v1");

    /// The encoded file descriptor set of the API (with its imports), served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/stepfunctions_descriptor.bin"));
}
