//! The `StepFunctions` gRPC service: each handler hands the request to `operations::Service` and maps
//! its error once (see `status_from`). Malformed messages never get here: tonic rejects them.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::pb;
use super::pb::step_functions_server::StepFunctions;
use super::status_from;
use crate::operations::Service;

/// The gRPC face of [`Service`].
#[derive(Clone)]
pub struct StepFunctionsApi {
    service: Arc<Service>,
}

impl StepFunctionsApi {
    pub fn new(service: Arc<Service>) -> Self {
        StepFunctionsApi { service }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl StepFunctions for StepFunctionsApi {
    async fn create_activity(
        &self,
        req: Request<pb::CreateActivityRequest>,
    ) -> Reply<pb::CreateActivityResponse> {
        self.service
            .create_activity(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn create_state_machine(
        &self,
        req: Request<pb::CreateStateMachineRequest>,
    ) -> Reply<pb::CreateStateMachineResponse> {
        self.service
            .create_state_machine(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn delete_activity(
        &self,
        req: Request<pb::DeleteActivityRequest>,
    ) -> Reply<pb::DeleteActivityResponse> {
        self.service
            .delete_activity(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn delete_state_machine(
        &self,
        req: Request<pb::DeleteStateMachineRequest>,
    ) -> Reply<pb::DeleteStateMachineResponse> {
        self.service
            .delete_state_machine(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn describe_activity(
        &self,
        req: Request<pb::DescribeActivityRequest>,
    ) -> Reply<pb::DescribeActivityResponse> {
        self.service
            .describe_activity(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn describe_execution(
        &self,
        req: Request<pb::DescribeExecutionRequest>,
    ) -> Reply<pb::DescribeExecutionResponse> {
        self.service
            .describe_execution(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn describe_state_machine(
        &self,
        req: Request<pb::DescribeStateMachineRequest>,
    ) -> Reply<pb::DescribeStateMachineResponse> {
        self.service
            .describe_state_machine(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn describe_state_machine_for_execution(
        &self,
        req: Request<pb::DescribeStateMachineForExecutionRequest>,
    ) -> Reply<pb::DescribeStateMachineForExecutionResponse> {
        self.service
            .describe_state_machine_for_execution(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn get_activity_task(
        &self,
        req: Request<pb::GetActivityTaskRequest>,
    ) -> Reply<pb::GetActivityTaskResponse> {
        self.service
            .get_activity_task(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn get_execution_history(
        &self,
        req: Request<pb::GetExecutionHistoryRequest>,
    ) -> Reply<pb::GetExecutionHistoryResponse> {
        self.service
            .get_execution_history(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn list_activities(
        &self,
        req: Request<pb::ListActivitiesRequest>,
    ) -> Reply<pb::ListActivitiesResponse> {
        self.service
            .list_activities(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn list_executions(
        &self,
        req: Request<pb::ListExecutionsRequest>,
    ) -> Reply<pb::ListExecutionsResponse> {
        self.service
            .list_executions(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn list_state_machines(
        &self,
        req: Request<pb::ListStateMachinesRequest>,
    ) -> Reply<pb::ListStateMachinesResponse> {
        self.service
            .list_state_machines(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn list_tags_for_resource(
        &self,
        req: Request<pb::ListTagsForResourceRequest>,
    ) -> Reply<pb::ListTagsForResourceResponse> {
        self.service
            .list_tags_for_resource(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn send_task_failure(
        &self,
        req: Request<pb::SendTaskFailureRequest>,
    ) -> Reply<pb::SendTaskFailureResponse> {
        self.service
            .send_task_failure(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn send_task_heartbeat(
        &self,
        req: Request<pb::SendTaskHeartbeatRequest>,
    ) -> Reply<pb::SendTaskHeartbeatResponse> {
        self.service
            .send_task_heartbeat(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn send_task_success(
        &self,
        req: Request<pb::SendTaskSuccessRequest>,
    ) -> Reply<pb::SendTaskSuccessResponse> {
        self.service
            .send_task_success(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn start_execution(
        &self,
        req: Request<pb::StartExecutionRequest>,
    ) -> Reply<pb::StartExecutionResponse> {
        self.service
            .start_execution(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn stop_execution(
        &self,
        req: Request<pb::StopExecutionRequest>,
    ) -> Reply<pb::StopExecutionResponse> {
        self.service
            .stop_execution(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn tag_resource(
        &self,
        req: Request<pb::TagResourceRequest>,
    ) -> Reply<pb::TagResourceResponse> {
        self.service
            .tag_resource(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn untag_resource(
        &self,
        req: Request<pb::UntagResourceRequest>,
    ) -> Reply<pb::UntagResourceResponse> {
        self.service
            .untag_resource(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }

    async fn update_state_machine(
        &self,
        req: Request<pb::UpdateStateMachineRequest>,
    ) -> Reply<pb::UpdateStateMachineResponse> {
        self.service
            .update_state_machine(req.into_inner())
            .await
            .map(Response::new)
            .map_err(status_from)
    }
}
