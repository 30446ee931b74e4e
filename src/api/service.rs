//! The `StepFunctions` gRPC service: each handler converts the request to its operation's shape, calls
//! `operations::Service`, and converts the answer back (see `reply`). Malformed messages never get here:
//! tonic rejects them.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::ToPb;
use super::pb;
use super::pb::step_functions_server::{StepFunctions, StepFunctionsServer};
use super::status_from;
use crate::error::ApiResult;
use crate::operations::Service;

/// The gRPC face of [`Service`].
#[derive(Clone)]
pub struct StepFunctionsApi {
    service: Arc<Service>,
}

/// The largest request the service decodes: a 1,048,576-character definition may take 4 MiB in UTF-8,
/// plus the other members. A bigger body is refused before it is read
/// (`OUT_OF_RANGE: Error, decoded message length too large`).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024 + 64 * 1024;

/// The largest response the service sends: 4 MiB, what gRPC clients accept by default. History pages
/// stay well under it through their byte budget (operations::executions).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

impl StepFunctionsApi {
    pub fn new(service: Arc<Service>) -> Self {
        StepFunctionsApi { service }
    }

    /// The tonic service with its message size limits stated (not left to tonic's defaults).
    pub fn server(service: Arc<Service>) -> StepFunctionsServer<StepFunctionsApi> {
        StepFunctionsServer::new(StepFunctionsApi::new(service))
            .max_decoding_message_size(MAX_REQUEST_BYTES)
            .max_encoding_message_size(MAX_RESPONSE_BYTES)
    }
}

type Reply<T> = Result<Response<T>, Status>;

/// An operation's answer as a gRPC reply: the response in proto form, or the error as a status.
fn reply<T: ToPb>(result: ApiResult<T>) -> Reply<T::Pb> {
    result
        .and_then(ToPb::to_pb)
        .map(Response::new)
        .map_err(status_from)
}

#[tonic::async_trait]
impl StepFunctions for StepFunctionsApi {
    async fn create_activity(
        &self,
        req: Request<pb::CreateActivityRequest>,
    ) -> Reply<pb::CreateActivityResponse> {
        reply(self.service.create_activity(req.into_inner().into()).await)
    }

    async fn create_state_machine(
        &self,
        req: Request<pb::CreateStateMachineRequest>,
    ) -> Reply<pb::CreateStateMachineResponse> {
        reply(
            self.service
                .create_state_machine(req.into_inner().into())
                .await,
        )
    }

    async fn delete_activity(
        &self,
        req: Request<pb::DeleteActivityRequest>,
    ) -> Reply<pb::DeleteActivityResponse> {
        reply(self.service.delete_activity(req.into_inner().into()).await)
    }

    async fn delete_state_machine(
        &self,
        req: Request<pb::DeleteStateMachineRequest>,
    ) -> Reply<pb::DeleteStateMachineResponse> {
        reply(
            self.service
                .delete_state_machine(req.into_inner().into())
                .await,
        )
    }

    async fn describe_activity(
        &self,
        req: Request<pb::DescribeActivityRequest>,
    ) -> Reply<pb::DescribeActivityResponse> {
        reply(
            self.service
                .describe_activity(req.into_inner().into())
                .await,
        )
    }

    async fn describe_execution(
        &self,
        req: Request<pb::DescribeExecutionRequest>,
    ) -> Reply<pb::DescribeExecutionResponse> {
        reply(
            self.service
                .describe_execution(req.into_inner().into())
                .await,
        )
    }

    async fn describe_state_machine(
        &self,
        req: Request<pb::DescribeStateMachineRequest>,
    ) -> Reply<pb::DescribeStateMachineResponse> {
        reply(
            self.service
                .describe_state_machine(req.into_inner().into())
                .await,
        )
    }

    async fn describe_state_machine_for_execution(
        &self,
        req: Request<pb::DescribeStateMachineForExecutionRequest>,
    ) -> Reply<pb::DescribeStateMachineForExecutionResponse> {
        reply(
            self.service
                .describe_state_machine_for_execution(req.into_inner().into())
                .await,
        )
    }

    async fn get_activity_task(
        &self,
        req: Request<pb::GetActivityTaskRequest>,
    ) -> Reply<pb::GetActivityTaskResponse> {
        reply(
            self.service
                .get_activity_task(req.into_inner().into())
                .await,
        )
    }

    async fn get_execution_history(
        &self,
        req: Request<pb::GetExecutionHistoryRequest>,
    ) -> Reply<pb::GetExecutionHistoryResponse> {
        reply(
            self.service
                .get_execution_history(req.into_inner().into())
                .await,
        )
    }

    async fn list_activities(
        &self,
        req: Request<pb::ListActivitiesRequest>,
    ) -> Reply<pb::ListActivitiesResponse> {
        reply(self.service.list_activities(req.into_inner().into()).await)
    }

    async fn list_executions(
        &self,
        req: Request<pb::ListExecutionsRequest>,
    ) -> Reply<pb::ListExecutionsResponse> {
        reply(self.service.list_executions(req.into_inner().into()).await)
    }

    async fn list_state_machines(
        &self,
        req: Request<pb::ListStateMachinesRequest>,
    ) -> Reply<pb::ListStateMachinesResponse> {
        reply(
            self.service
                .list_state_machines(req.into_inner().into())
                .await,
        )
    }

    async fn list_tags_for_resource(
        &self,
        req: Request<pb::ListTagsForResourceRequest>,
    ) -> Reply<pb::ListTagsForResourceResponse> {
        reply(
            self.service
                .list_tags_for_resource(req.into_inner().into())
                .await,
        )
    }

    async fn send_task_failure(
        &self,
        req: Request<pb::SendTaskFailureRequest>,
    ) -> Reply<pb::SendTaskFailureResponse> {
        reply(
            self.service
                .send_task_failure(req.into_inner().into())
                .await,
        )
    }

    async fn send_task_heartbeat(
        &self,
        req: Request<pb::SendTaskHeartbeatRequest>,
    ) -> Reply<pb::SendTaskHeartbeatResponse> {
        reply(
            self.service
                .send_task_heartbeat(req.into_inner().into())
                .await,
        )
    }

    async fn send_task_success(
        &self,
        req: Request<pb::SendTaskSuccessRequest>,
    ) -> Reply<pb::SendTaskSuccessResponse> {
        reply(
            self.service
                .send_task_success(req.into_inner().into())
                .await,
        )
    }

    async fn start_execution(
        &self,
        req: Request<pb::StartExecutionRequest>,
    ) -> Reply<pb::StartExecutionResponse> {
        let traceparent = req
            .metadata()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut shape: crate::operations::shapes::StartExecutionRequest = req.into_inner().into();
        shape.traceparent = traceparent;
        reply(self.service.start_execution(shape).await)
    }

    async fn redrive_execution(
        &self,
        req: Request<pb::RedriveExecutionRequest>,
    ) -> Reply<pb::RedriveExecutionResponse> {
        reply(
            self.service
                .redrive_execution(req.into_inner().into())
                .await,
        )
    }

    async fn start_sync_execution(
        &self,
        req: Request<pb::StartSyncExecutionRequest>,
    ) -> Reply<pb::StartSyncExecutionResponse> {
        let traceparent = req
            .metadata()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut shape: crate::operations::shapes::StartSyncExecutionRequest =
            req.into_inner().into();
        shape.traceparent = traceparent;
        reply(self.service.start_sync_execution(shape).await)
    }

    async fn stop_execution(
        &self,
        req: Request<pb::StopExecutionRequest>,
    ) -> Reply<pb::StopExecutionResponse> {
        reply(self.service.stop_execution(req.into_inner().into()).await)
    }

    async fn tag_resource(
        &self,
        req: Request<pb::TagResourceRequest>,
    ) -> Reply<pb::TagResourceResponse> {
        reply(self.service.tag_resource(req.into_inner().into()).await)
    }

    async fn untag_resource(
        &self,
        req: Request<pb::UntagResourceRequest>,
    ) -> Reply<pb::UntagResourceResponse> {
        reply(self.service.untag_resource(req.into_inner().into()).await)
    }

    async fn update_state_machine(
        &self,
        req: Request<pb::UpdateStateMachineRequest>,
    ) -> Reply<pb::UpdateStateMachineResponse> {
        reply(
            self.service
                .update_state_machine(req.into_inner().into())
                .await,
        )
    }

    async fn validate_state_machine_definition(
        &self,
        req: Request<pb::ValidateStateMachineDefinitionRequest>,
    ) -> Reply<pb::ValidateStateMachineDefinitionResponse> {
        reply(
            self.service
                .validate_state_machine_definition(req.into_inner().into())
                .await,
        )
    }

    async fn test_state(&self, req: Request<pb::TestStateRequest>) -> Reply<pb::TestStateResponse> {
        reply(self.service.test_state(req.into_inner().into()).await)
    }

    async fn publish_state_machine_version(
        &self,
        req: Request<pb::PublishStateMachineVersionRequest>,
    ) -> Reply<pb::PublishStateMachineVersionResponse> {
        reply(
            self.service
                .publish_state_machine_version(req.into_inner().into())
                .await,
        )
    }

    async fn list_state_machine_versions(
        &self,
        req: Request<pb::ListStateMachineVersionsRequest>,
    ) -> Reply<pb::ListStateMachineVersionsResponse> {
        reply(
            self.service
                .list_state_machine_versions(req.into_inner().into())
                .await,
        )
    }

    async fn delete_state_machine_version(
        &self,
        req: Request<pb::DeleteStateMachineVersionRequest>,
    ) -> Reply<pb::DeleteStateMachineVersionResponse> {
        reply(
            self.service
                .delete_state_machine_version(req.into_inner().into())
                .await,
        )
    }

    async fn create_state_machine_alias(
        &self,
        req: Request<pb::CreateStateMachineAliasRequest>,
    ) -> Reply<pb::CreateStateMachineAliasResponse> {
        reply(
            self.service
                .create_state_machine_alias(req.into_inner().into())
                .await,
        )
    }

    async fn describe_state_machine_alias(
        &self,
        req: Request<pb::DescribeStateMachineAliasRequest>,
    ) -> Reply<pb::DescribeStateMachineAliasResponse> {
        reply(
            self.service
                .describe_state_machine_alias(req.into_inner().into())
                .await,
        )
    }

    async fn update_state_machine_alias(
        &self,
        req: Request<pb::UpdateStateMachineAliasRequest>,
    ) -> Reply<pb::UpdateStateMachineAliasResponse> {
        reply(
            self.service
                .update_state_machine_alias(req.into_inner().into())
                .await,
        )
    }

    async fn delete_state_machine_alias(
        &self,
        req: Request<pb::DeleteStateMachineAliasRequest>,
    ) -> Reply<pb::DeleteStateMachineAliasResponse> {
        reply(
            self.service
                .delete_state_machine_alias(req.into_inner().into())
                .await,
        )
    }

    async fn list_state_machine_aliases(
        &self,
        req: Request<pb::ListStateMachineAliasesRequest>,
    ) -> Reply<pb::ListStateMachineAliasesResponse> {
        reply(
            self.service
                .list_state_machine_aliases(req.into_inner().into())
                .await,
        )
    }
}
