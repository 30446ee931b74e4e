//! TagResource, UntagResource, ListTagsForResource (state machines and activities only).

use super::state_machines::tags_from_pb;
use super::Service;
use crate::api::pb;
use crate::domain::arn::check_any_states_arn;
use crate::domain::tags::{validate_key, validate_tags, MAX_TAGS};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::store::TagOutcome;

fn resource_not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!("Resource not found: '{arn}'"),
    )
}

impl Service {
    pub async fn tag_resource(
        &self,
        req: pb::TagResourceRequest,
    ) -> ApiResult<pb::TagResourceResponse> {
        let arn = req.resource_arn;
        check_any_states_arn(&arn, "resourceArn")?;
        let tags = validate_tags(tags_from_pb(req.tags))?;
        self.store.state_machine_finish_deletions().await?;
        match self.store.tags_add(&arn, &tags, MAX_TAGS).await? {
            TagOutcome::Applied => Ok(pb::TagResourceResponse {}),
            TagOutcome::ResourceNotFound => Err(resource_not_found(&arn)),
            // Same wording as the create-time check in domain::tags.
            TagOutcome::TooManyTags => Err(ApiError::new(
                ErrorKind::TooManyTags,
                format!("Too many tags: '{arn}'"),
            )),
        }
    }

    pub async fn untag_resource(
        &self,
        req: pb::UntagResourceRequest,
    ) -> ApiResult<pb::UntagResourceResponse> {
        let arn = req.resource_arn;
        check_any_states_arn(&arn, "resourceArn")?;
        for key in &req.tag_keys {
            validate_key(key, "tagKeys.member")?;
        }
        self.store.state_machine_finish_deletions().await?;
        if self.store.tags_remove(&arn, &req.tag_keys).await? {
            Ok(pb::UntagResourceResponse {})
        } else {
            Err(resource_not_found(&arn))
        }
    }

    pub async fn list_tags_for_resource(
        &self,
        req: pb::ListTagsForResourceRequest,
    ) -> ApiResult<pb::ListTagsForResourceResponse> {
        let arn = req.resource_arn;
        check_any_states_arn(&arn, "resourceArn")?;
        self.store.state_machine_finish_deletions().await?;
        let tags = self
            .store
            .tags_list(&arn)
            .await?
            .ok_or_else(|| resource_not_found(&arn))?;
        Ok(pb::ListTagsForResourceResponse {
            tags: tags
                .into_iter()
                .map(|t| pb::Tag {
                    key: t.key,
                    value: t.value,
                })
                .collect(),
        })
    }
}
