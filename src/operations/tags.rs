//! TagResource, UntagResource, ListTagsForResource (state machines and activities only).

use super::shapes::{
    ListTagsForResourceRequest, ListTagsForResourceResponse, TagResourceRequest,
    TagResourceResponse, UntagResourceRequest, UntagResourceResponse,
};
use super::Service;
use crate::domain::arn::check_any_states_arn;
use crate::domain::tags::{too_many_tags, validate_tags, validate_untag_keys, MAX_TAGS};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::store::TagOutcome;

fn resource_not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!("Resource not found: '{arn}'"),
    )
}

impl Service {
    pub async fn tag_resource(&self, req: TagResourceRequest) -> ApiResult<TagResourceResponse> {
        let arn = req.resource_arn;
        check_any_states_arn(&arn, "resourceArn")?;
        let tags = validate_tags(req.tags, &arn)?;
        self.store.state_machine_finish_deletions().await?;
        match self.store.tags_add(&arn, &tags, MAX_TAGS).await? {
            TagOutcome::Applied => Ok(TagResourceResponse {}),
            TagOutcome::ResourceNotFound => Err(resource_not_found(&arn)),
            TagOutcome::TooManyTags => Err(too_many_tags(&arn)),
        }
    }

    pub async fn untag_resource(
        &self,
        req: UntagResourceRequest,
    ) -> ApiResult<UntagResourceResponse> {
        let arn = req.resource_arn;
        check_any_states_arn(&arn, "resourceArn")?;
        validate_untag_keys(&req.tag_keys)?;
        self.store.state_machine_finish_deletions().await?;
        if self.store.tags_remove(&arn, &req.tag_keys).await? {
            Ok(UntagResourceResponse {})
        } else {
            Err(resource_not_found(&arn))
        }
    }

    pub async fn list_tags_for_resource(
        &self,
        req: ListTagsForResourceRequest,
    ) -> ApiResult<ListTagsForResourceResponse> {
        let arn = req.resource_arn;
        check_any_states_arn(&arn, "resourceArn")?;
        self.store.state_machine_finish_deletions().await?;
        let tags = self
            .store
            .tags_list(&arn)
            .await?
            .ok_or_else(|| resource_not_found(&arn))?;
        Ok(ListTagsForResourceResponse { tags })
    }
}
