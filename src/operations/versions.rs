//! State machine versions: PublishStateMachineVersion, ListStateMachineVersions,
//! DeleteStateMachineVersion, the publish of Create/UpdateStateMachine and DescribeStateMachine of a
//! version ARN. A version is a number per machine (never reused) frozen on one revision.

use super::configuration::{
    encryption_configuration, logging_configuration, tracing_configuration,
};
use super::shapes::{
    DeleteStateMachineVersionRequest, DeleteStateMachineVersionResponse,
    DescribeStateMachineResponse, ListStateMachineVersionsRequest,
    ListStateMachineVersionsResponse, PublishStateMachineVersionRequest,
    PublishStateMachineVersionResponse, StateMachineVersionListItem,
};
use super::state_machines::definition_or_empty;
use super::{state_machine_deleting, state_machine_does_not_exist, Service};
use crate::domain::arn::{check_arn, split_qualifier, MachineQualifier, ResourceType};
use crate::domain::pagination::{decode_optional, finish_page, page_size, MAX_TOKEN_LEN};
use crate::domain::validation::check_max_len;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::store::{
    ExpectedRevision, PublishOutcome, PublishVersion, PublishedVersionRecord, StateMachineRecord,
    StateMachineStatus, VersionDeleteOutcome,
};

/// AWS: 1,000 versions per state machine.
pub(super) const MAX_VERSIONS: u64 = 1000;
const MAX_DESCRIPTION_LEN: usize = 256;
const MAX_VERSION_ARN_LEN: usize = 2000;
/// PublishStateMachineVersion's revisionId for the revision CreateStateMachine made.
const INITIAL_REVISION: &str = "INITIAL";

pub(super) fn check_description(description: Option<&str>, member: &str) -> ApiResult<()> {
    match description {
        Some(text) => check_max_len(text, member, MAX_DESCRIPTION_LEN),
        None => Ok(()),
    }
}

fn invalid_version_arn(arn: &str) -> ApiError {
    // AWS's text for an ARN that names no version is not known; InvalidArn's wording is reused.
    ApiError::new(
        ErrorKind::InvalidArn,
        format!("Invalid Arn: 'Invalid version ARN: {arn}'"),
    )
}

impl Service {
    /// Publishes the machine's current revision; `expected` guards against a concurrent update.
    pub(super) async fn publish_version(
        &self,
        machine: &StateMachineRecord,
        expected: ExpectedRevision,
        description: Option<String>,
    ) -> ApiResult<PublishedVersionRecord> {
        let requested = match &expected {
            ExpectedRevision::Revision(Some(id)) => id.clone(),
            _ => INITIAL_REVISION.to_string(),
        };
        let outcome = self
            .store
            .version_publish(PublishVersion {
                state_machine_id: machine.id,
                expected,
                description,
                creation_date: self.clock.now(),
                quota: MAX_VERSIONS,
            })
            .await?;
        match outcome {
            PublishOutcome::Published(version) | PublishOutcome::Existing(version) => Ok(version),
            PublishOutcome::RevisionConflict { current } => Err(ApiError::new(
                ErrorKind::ConflictException,
                format!(
                    "Failed to publish the State Machine version for revision {requested}. The current State Machine revision is {}.",
                    current.as_deref().unwrap_or(INITIAL_REVISION)
                ),
            )),
            // AWS's text is not known; the wording is ours.
            PublishOutcome::LimitExceeded => Err(ApiError::new(
                ErrorKind::ServiceQuotaExceededException,
                format!(
                    "The maximum number of versions ({MAX_VERSIONS}) of state machine '{}' has been reached",
                    machine.arn
                ),
            )),
            PublishOutcome::NotFound => Err(state_machine_does_not_exist(&machine.arn)),
            PublishOutcome::Deleting => Err(state_machine_deleting(&machine.arn)),
        }
    }

    pub async fn publish_state_machine_version(
        &self,
        req: PublishStateMachineVersionRequest,
    ) -> ApiResult<PublishStateMachineVersionResponse> {
        let arn = req.state_machine_arn;
        check_arn(&arn, "stateMachineArn", &[ResourceType::StateMachine])?;
        check_description(req.description.as_deref(), "description")?;
        let machine = self.find_state_machine(&arn).await?;
        let expected = match req.revision_id {
            None => ExpectedRevision::Current,
            Some(id) if id == INITIAL_REVISION => ExpectedRevision::Revision(None),
            Some(id) => ExpectedRevision::Revision(Some(id)),
        };
        let version = self
            .publish_version(&machine, expected, req.description)
            .await?;
        Ok(PublishStateMachineVersionResponse {
            creation_date: version.creation_date,
            state_machine_version_arn: self.scope.state_machine_version(&arn, version.number),
        })
    }

    pub async fn list_state_machine_versions(
        &self,
        req: ListStateMachineVersionsRequest,
    ) -> ApiResult<ListStateMachineVersionsResponse> {
        let arn = req.state_machine_arn;
        check_arn(&arn, "stateMachineArn", &[ResourceType::StateMachine])?;
        let limit = page_size(req.max_results)?;
        let query = format!("ListStateMachineVersions\0{arn}");
        let now = self.clock.now();
        let before: Option<i64> = decode_optional(
            req.next_token.as_deref().unwrap_or_default(),
            &query,
            MAX_TOKEN_LEN,
            now,
        )?;
        let machine = self.find_state_machine(&arn).await?;
        let mut versions = self
            .store
            .version_list(machine.id, before, limit + 1)
            .await?;
        let next_token = finish_page(&mut versions, limit, &query, now, |v| v.number)?;
        Ok(ListStateMachineVersionsResponse {
            state_machine_versions: versions
                .into_iter()
                .map(|v| StateMachineVersionListItem {
                    state_machine_version_arn: self.scope.state_machine_version(&arn, v.number),
                    creation_date: v.creation_date,
                })
                .collect(),
            next_token,
        })
    }

    /// A missing version (or machine) is a success, like AWS's other deletes.
    pub async fn delete_state_machine_version(
        &self,
        req: DeleteStateMachineVersionRequest,
    ) -> ApiResult<DeleteStateMachineVersionResponse> {
        let arn = req.state_machine_version_arn;
        check_max_len(&arn, "stateMachineVersionArn", MAX_VERSION_ARN_LEN)?;
        check_arn(
            &arn,
            "stateMachineVersionArn",
            &[ResourceType::StateMachine],
        )?;
        let (machine_arn, Some(MachineQualifier::Version(number))) = split_qualifier(&arn) else {
            return Err(invalid_version_arn(&arn));
        };
        if let Some(machine) = self.store.state_machine_get(machine_arn).await? {
            let outcome = self.store.version_delete(machine.id, number).await?;
            if let VersionDeleteOutcome::RoutedBy(aliases) = outcome {
                return Err(ApiError::new(
                    ErrorKind::ConflictException,
                    format!(
                        "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                        aliases.join(", ")
                    ),
                ));
            }
        }
        Ok(DeleteStateMachineVersionResponse {})
    }

    /// DescribeStateMachine of a version ARN: the version's revision, its own date and description.
    pub(super) async fn describe_version(
        &self,
        version_arn: &str,
        machine_arn: &str,
        number: i64,
        metadata_only: bool,
    ) -> ApiResult<DescribeStateMachineResponse> {
        let not_found = || state_machine_does_not_exist(version_arn);
        let machine = self
            .store
            .state_machine_get(machine_arn)
            .await?
            .ok_or_else(not_found)?;
        let version = self
            .store
            .version_get(machine.id, number)
            .await?
            .ok_or_else(not_found)?;
        // Computed from the stored definition on each call: cheap, and no column to migrate.
        let variable_references = crate::asl::variable_references(&version.revision.definition);
        Ok(DescribeStateMachineResponse {
            state_machine_arn: version_arn.to_string(),
            name: machine.name,
            status: StateMachineStatus::Active,
            definition: definition_or_empty(version.revision.definition, metadata_only),
            role_arn: version.revision.role_arn,
            r#type: machine.machine_type,
            creation_date: version.creation_date,
            logging_configuration: logging_configuration(&version.revision.logging_configuration)?,
            tracing_configuration: tracing_configuration(&version.revision.tracing_configuration)?,
            revision_id: version.revision.revision_id,
            description: version.description,
            label: None,
            variable_references,
            encryption_configuration: encryption_configuration(
                version.revision.encryption_configuration.as_deref(),
            )?,
        })
    }
}
