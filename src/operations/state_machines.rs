//! CreateStateMachine, DescribeStateMachine, UpdateStateMachine, DeleteStateMachine, ListStateMachines.

use super::configuration::{
    encryption_configuration, encryption_json, logging_configuration, logging_json,
    tracing_configuration, tracing_json,
};
use super::shapes::{
    CreateStateMachineRequest, CreateStateMachineResponse, DeleteStateMachineRequest,
    DeleteStateMachineResponse, DescribeStateMachineRequest, DescribeStateMachineResponse,
    ListStateMachinesRequest, ListStateMachinesResponse, StateMachineListItem,
    UpdateStateMachineRequest, UpdateStateMachineResponse,
};
use super::versions::check_description;
use super::{quotas, state_machine_deleting, state_machine_does_not_exist, Service};
use crate::asl::validate_definition;
use crate::domain::arn::{
    check_arn, check_foreign_arn, split_qualifier, MachineQualifier, ResourceType,
};
use crate::domain::enums::{EnumValue, IncludedData, StateMachineType};
use crate::domain::names::validate_name;
use crate::domain::pagination::{decode_optional, finish_page, page_size, MAX_TOKEN_LEN};
use crate::domain::tags::validate_tags;
use crate::domain::validation::{check_max_len, check_min_len};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::store::{
    self, DeleteOutcome, ExpectedRevision, NewStateMachine, StateMachineChange, StateMachineRecord,
    StateMachineStatus, UpdateOutcome,
};

const MAX_DEFINITION_LEN: usize = 1_048_576;
const LIST_QUERY: &str = "ListStateMachines";

fn check_definition(definition: &str, machine_type: StateMachineType) -> ApiResult<()> {
    check_min_len(definition, "definition", 1)?;
    check_max_len(definition, "definition", MAX_DEFINITION_LEN)?;
    validate_definition(definition, machine_type == StateMachineType::Express)
        .map_err(|message| ApiError::new(ErrorKind::InvalidDefinition, message))
}

impl Service {
    /// Looks a state machine up by a checked ARN, finishing pending deletions first so a machine whose
    /// last execution ended is gone.
    /// The machine as stored. A DELETING machine whose last execution just ended is removed by whoever
    /// ended it (executor, StopExecution), so this read needs no clean-up of its own.
    pub(super) async fn find_state_machine(&self, arn: &str) -> ApiResult<StateMachineRecord> {
        self.store
            .state_machine_get(arn)
            .await?
            .ok_or_else(|| state_machine_does_not_exist(arn))
    }

    pub async fn create_state_machine(
        &self,
        req: CreateStateMachineRequest,
    ) -> ApiResult<CreateStateMachineResponse> {
        validate_name(&req.name, "name")?;
        check_foreign_arn(&req.role_arn, "roleArn")?;
        let machine_type: StateMachineType = match req.r#type {
            None => StateMachineType::Standard,
            Some(machine_type) => machine_type.check("type")?,
        };
        let logging = logging_json(req.logging_configuration.as_ref())?;
        let tracing = tracing_json(req.tracing_configuration.as_ref())?;
        let encryption = encryption_json(req.encryption_configuration.as_ref())?;
        let arn = self.scope.state_machine(&req.name);
        let tags = validate_tags(req.tags, &arn)?;
        check_version_description(req.publish, req.version_description.as_deref())?;
        check_definition(&req.definition, machine_type)?;

        let new = NewStateMachine {
            arn: arn.clone(),
            name: req.name,
            machine_type,
            definition: req.definition,
            role_arn: req.role_arn,
            logging_configuration: logging,
            tracing_configuration: tracing,
            encryption_configuration: encryption,
            creation_date: self.clock.now(),
            tags,
            quota: self.quotas.state_machines,
        };
        self.store.state_machine_finish_deletions().await?;
        let machine = match self.store.state_machine_get(&arn).await? {
            Some(existing) => idempotent_create(existing, &new)?,
            None => match self.store.state_machine_create(new.clone()).await {
                Ok(created) => created,
                // Lost a race with a concurrent create of the same name: judge against the winner.
                Err(store::Error::UniqueViolation(_)) => {
                    match self.store.state_machine_get(&arn).await? {
                        Some(existing) => idempotent_create(existing, &new)?,
                        None => {
                            return Err(ApiError::internal(
                                "state machine vanished after a name conflict",
                            ))
                        }
                    }
                }
                Err(store::Error::LimitExceeded) => {
                    return Err(quotas::state_machine_limit_exceeded())
                }
                Err(other) => return Err(other.into()),
            },
        };
        let state_machine_version_arn = if req.publish {
            let expected = ExpectedRevision::Revision(machine.version.revision_id.clone());
            let version = self
                .publish_version(&machine, expected, req.version_description)
                .await?;
            Some(
                self.scope
                    .state_machine_version(&machine.arn, version.number),
            )
        } else {
            None
        };
        Ok(CreateStateMachineResponse {
            state_machine_arn: machine.arn,
            creation_date: machine.creation_date,
            state_machine_version_arn,
        })
    }

    pub async fn describe_state_machine(
        &self,
        req: DescribeStateMachineRequest,
    ) -> ApiResult<DescribeStateMachineResponse> {
        let arn = req.state_machine_arn;
        check_arn(&arn, "stateMachineArn", &[ResourceType::StateMachine])?;
        let metadata_only = metadata_only(req.included_data)?;
        match split_qualifier(&arn) {
            (machine_arn, Some(MachineQualifier::Version(number))) => {
                return self
                    .describe_version(&arn, machine_arn, number, metadata_only)
                    .await
            }
            // Aliases are not served yet: no machine has this ARN.
            (_, Some(MachineQualifier::Alias(_))) => {
                return Err(state_machine_does_not_exist(&arn))
            }
            (_, None) => {}
        }
        let machine = self.find_state_machine(&arn).await?;
        // Computed from the stored definition on each call: cheap, and no column to migrate.
        let variable_references = crate::asl::variable_references(&machine.version.definition);
        Ok(DescribeStateMachineResponse {
            state_machine_arn: machine.arn,
            name: machine.name,
            status: machine.status,
            definition: definition_or_empty(machine.version.definition, metadata_only),
            role_arn: machine.version.role_arn,
            r#type: machine.machine_type,
            creation_date: machine.creation_date,
            logging_configuration: logging_configuration(&machine.version.logging_configuration)?,
            tracing_configuration: tracing_configuration(&machine.version.tracing_configuration)?,
            revision_id: machine.version.revision_id,
            description: None,
            label: None,
            variable_references,
            encryption_configuration: encryption_configuration(
                machine.version.encryption_configuration.as_deref(),
            )?,
        })
    }

    pub async fn update_state_machine(
        &self,
        req: UpdateStateMachineRequest,
    ) -> ApiResult<UpdateStateMachineResponse> {
        let arn = req.state_machine_arn;
        check_arn(&arn, "stateMachineArn", &[ResourceType::StateMachine])?;
        if req.definition.is_none()
            && req.role_arn.is_none()
            && req.logging_configuration.is_none()
            && req.tracing_configuration.is_none()
            && req.encryption_configuration.is_none()
        {
            return Err(ApiError::new(
                ErrorKind::MissingRequiredParameter,
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        if let Some(role_arn) = &req.role_arn {
            check_foreign_arn(role_arn, "roleArn")?;
        }
        check_version_description(req.publish, req.version_description.as_deref())?;
        let logging = req
            .logging_configuration
            .as_ref()
            .map(|c| logging_json(Some(c)))
            .transpose()?;
        let tracing = req
            .tracing_configuration
            .as_ref()
            .map(|c| tracing_json(Some(c)))
            .transpose()?;
        let encryption = encryption_json(req.encryption_configuration.as_ref())?;
        let machine = self.find_state_machine(&arn).await?;
        if machine.status == StateMachineStatus::Deleting {
            return Err(state_machine_deleting(&arn));
        }
        if let Some(definition) = &req.definition {
            check_definition(definition, machine.machine_type)?;
        }
        let change = StateMachineChange {
            state_machine_id: machine.id,
            definition: req.definition,
            role_arn: req.role_arn,
            logging_configuration: logging,
            tracing_configuration: tracing,
            encryption_configuration: encryption,
            update_date: self.clock.now(),
            revision_id: uuid::Uuid::new_v4().to_string(),
        };
        let version = match self.store.state_machine_update(change).await? {
            UpdateOutcome::Updated(version) => version,
            UpdateOutcome::NotFound => return Err(state_machine_does_not_exist(&arn)),
            UpdateOutcome::Deleting => return Err(state_machine_deleting(&arn)),
        };
        let state_machine_version_arn = if req.publish {
            // The revision this update made: a concurrent update in between is AWS's ConflictException.
            let expected = ExpectedRevision::Revision(version.revision_id.clone());
            let published = self
                .publish_version(&machine, expected, req.version_description)
                .await?;
            Some(self.scope.state_machine_version(&arn, published.number))
        } else {
            None
        };
        Ok(UpdateStateMachineResponse {
            update_date: version.update_date,
            revision_id: version.revision_id,
            state_machine_version_arn,
        })
    }

    /// Removes the machine at once when nothing runs, else marks it DELETING (see `store` docs).
    /// A missing machine is a success, as on AWS.
    pub async fn delete_state_machine(
        &self,
        req: DeleteStateMachineRequest,
    ) -> ApiResult<DeleteStateMachineResponse> {
        let arn = req.state_machine_arn;
        check_arn(&arn, "stateMachineArn", &[ResourceType::StateMachine])?;
        match self.store.state_machine_delete(&arn).await? {
            DeleteOutcome::Deleted | DeleteOutcome::MarkedDeleting | DeleteOutcome::NotFound => {
                Ok(DeleteStateMachineResponse {})
            }
        }
    }

    pub async fn list_state_machines(
        &self,
        req: ListStateMachinesRequest,
    ) -> ApiResult<ListStateMachinesResponse> {
        let limit = page_size(req.max_results)?;
        let now = self.clock.now();
        let after: Option<String> = decode_optional(
            req.next_token.as_deref().unwrap_or_default(),
            LIST_QUERY,
            MAX_TOKEN_LEN,
            now,
        )?;
        self.store.state_machine_finish_deletions().await?;
        let mut machines = self
            .store
            .state_machine_list(after.as_deref(), limit + 1)
            .await?;
        let next_token = finish_page(&mut machines, limit, LIST_QUERY, now, |m| m.name.clone())?;
        Ok(ListStateMachinesResponse {
            state_machines: machines
                .into_iter()
                .map(|m| StateMachineListItem {
                    state_machine_arn: m.arn,
                    name: m.name,
                    r#type: m.machine_type,
                    creation_date: m.creation_date,
                })
                .collect(),
            next_token,
        })
    }
}

/// `versionDescription` only with `publish` (AWS's ValidationException).
fn check_version_description(publish: bool, description: Option<&str>) -> ApiResult<()> {
    if description.is_some() && !publish {
        return Err(ApiError::new(
            ErrorKind::ValidationException,
            "Version description can only be set when publish is true",
        ));
    }
    check_description(description, "versionDescription")
}

/// Whether a Describe's includedData asks for METADATA_ONLY (absent = ALL_DATA).
pub(super) fn metadata_only(included: Option<EnumValue<IncludedData>>) -> ApiResult<bool> {
    match included {
        None => Ok(false),
        Some(value) => Ok(value.check("includedData")? == IncludedData::MetadataOnly),
    }
}

/// With METADATA_ONLY, AWS returns the definition as `{}` (botocore's DescribeStateMachineOutput).
pub(super) fn definition_or_empty(definition: String, metadata_only: bool) -> String {
    if metadata_only {
        "{}".to_string()
    } else {
        definition
    }
}

/// CreateStateMachine on a taken name: same definition (byte for byte), type, logging and tracing →
/// the existing machine; otherwise StateMachineAlreadyExists. Role and tags of the repeat are ignored.
fn idempotent_create(
    existing: StateMachineRecord,
    new: &NewStateMachine,
) -> ApiResult<StateMachineRecord> {
    if existing.status == StateMachineStatus::Deleting {
        return Err(state_machine_deleting(&existing.arn));
    }
    let same = existing.version.definition == new.definition
        && existing.machine_type == new.machine_type
        && existing.version.logging_configuration == new.logging_configuration
        && existing.version.tracing_configuration == new.tracing_configuration
        && existing.version.encryption_configuration == new.encryption_configuration;
    if same {
        Ok(existing)
    } else {
        Err(ApiError::new(
            ErrorKind::StateMachineAlreadyExists,
            format!("State Machine Already Exists: '{}'", existing.arn),
        ))
    }
}
