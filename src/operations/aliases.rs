//! State machine aliases: Create/Describe/Update/Delete/ListStateMachineAliases. An alias is a name per
//! machine (`<state machine ARN>:<alias name>`) routing to one or two of its published versions by weight;
//! the machine is the one its versions belong to.

use super::shapes::{
    CreateStateMachineAliasRequest, CreateStateMachineAliasResponse,
    DeleteStateMachineAliasRequest, DeleteStateMachineAliasResponse,
    DescribeStateMachineAliasRequest, DescribeStateMachineAliasResponse,
    ListStateMachineAliasesRequest, ListStateMachineAliasesResponse, RoutingConfigurationListItem,
    StateMachineAliasListItem, UpdateStateMachineAliasRequest, UpdateStateMachineAliasResponse,
};
use super::versions::check_description;
use super::{state_machine_does_not_exist, Service};
use crate::domain::arn::{check_arn, split_qualifier, MachineQualifier, ResourceType};
use crate::domain::pagination::{decode_optional, finish_page, page_size, MAX_TOKEN_LEN};
use crate::domain::validation::{check_max_len, check_min_len, constraint_violation};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::store::{
    AliasChange, AliasOutcome, AliasRecord, AliasRoute, NewAlias, StateMachineRecord,
};

/// AWS: 100 aliases per state machine.
const MAX_ALIASES: u64 = 100;
const MAX_ALIAS_NAME_LEN: usize = 80;
const ALIAS_NAME_PATTERN: &str = "^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$";
const MAX_ROUTES: usize = 2;

fn check_alias_name(name: &str) -> ApiResult<()> {
    check_min_len(name, "name", 1)?;
    check_max_len(name, "name", MAX_ALIAS_NAME_LEN)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let has_non_digit = name.chars().any(|c| !c.is_ascii_digit());
    if !name.chars().all(allowed) || !has_non_digit {
        return Err(constraint_violation(
            name,
            "name",
            &format!("satisfy regular expression pattern: {ALIAS_NAME_PATTERN}"),
        ));
    }
    Ok(())
}

/// The routing list as AWS's model validation prints it (Java `toString`).
fn routing_text(routing: &[RoutingConfigurationListItem]) -> String {
    let items: Vec<String> = routing
        .iter()
        .map(|r| {
            format!(
                "RoutingConfigurationListItem(stateMachineVersionArn={}, weight={})",
                r.state_machine_version_arn, r.weight
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn routing_error(message: String) -> ApiError {
    ApiError::new(ErrorKind::ValidationException, message)
}

/// Checks a routing configuration as AWS does (model constraints first, 1-based member paths, then the
/// routing rules) and returns its machine's ARN with the routes.
fn check_routing(routing: &[RoutingConfigurationListItem]) -> ApiResult<(String, Vec<AliasRoute>)> {
    if routing.is_empty() {
        return Err(constraint_violation(
            "[]",
            "routingConfiguration",
            "have length greater than or equal to 1",
        ));
    }
    if routing.len() > MAX_ROUTES {
        return Err(constraint_violation(
            routing_text(routing),
            "routingConfiguration",
            "have length less than or equal to 2",
        ));
    }
    for (i, route) in routing.iter().enumerate() {
        let member = format!("routingConfiguration.{}.member.weight", i + 1);
        if route.weight < 0 {
            return Err(constraint_violation(
                route.weight,
                &member,
                "have value greater than or equal to 0",
            ));
        }
        if route.weight > 100 {
            return Err(constraint_violation(
                route.weight,
                &member,
                "have value less than or equal to 100",
            ));
        }
    }
    let arns: Vec<&str> = routing
        .iter()
        .map(|r| r.state_machine_version_arn.as_str())
        .collect();
    let received = format!("[{}]", arns.join(", "));
    let mut machine: Option<&str> = None;
    let mut routes = Vec::new();
    for route in routing {
        let arn = route.state_machine_version_arn.as_str();
        check_arn(arn, "stateMachineVersionArn", &[ResourceType::StateMachine])?;
        let (machine_arn, Some(MachineQualifier::Version(number))) = split_qualifier(arn) else {
            return Err(routing_error(format!(
                "Routing configuration must contain state machine version ARNs. Received: {received}"
            )));
        };
        if machine.is_some_and(|m| m != machine_arn) {
            // AWS's text for versions of two machines is not known; the wording is ours.
            return Err(routing_error(format!(
                "Routing configuration must contain versions of one state machine. Received: {received}"
            )));
        }
        machine = Some(machine_arn);
        routes.push(AliasRoute {
            version: number,
            weight: route.weight,
        });
    }
    if routes.len() == 2 && routes[0].version == routes[1].version {
        return Err(routing_error(format!(
            "Routing configuration must contain distinct state machine version ARNs. Received: {received}"
        )));
    }
    let total: i64 = routes.iter().map(|r| r.weight).sum();
    if total != 100 {
        let weights: Vec<String> = routes.iter().map(|r| r.weight.to_string()).collect();
        return Err(routing_error(format!(
            "Sum of routing configuration weights must equal 100. Received: [{}]",
            weights.join(", ")
        )));
    }
    Ok((machine.unwrap_or_default().to_string(), routes))
}

/// The version an alias routes one start to: `roll` is uniform in 0..100 and the routes' weights sum
/// to 100, so each route is picked with its weight's chance (a 0-weight route never).
pub(super) fn pick_route(routing: &[AliasRoute], roll: u32) -> i64 {
    let mut below = 0;
    for route in routing {
        below += route.weight;
        if i64::from(roll) < below {
            return route.version;
        }
    }
    // Not reached with weights summing to 100; the last route is the safe answer.
    routing.last().map_or(0, |r| r.version)
}

/// AWS's answer for an alias (or its machine) that does not exist.
fn resource_not_found() -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        "Request references a resource that does not exist.",
    )
}

fn alias_limit_exceeded(machine_arn: &str) -> ApiError {
    // AWS's text is not known; the wording is ours.
    ApiError::new(
        ErrorKind::ServiceQuotaExceededException,
        format!("The maximum number of aliases ({MAX_ALIASES}) of state machine '{machine_arn}' has been reached"),
    )
}

/// Splits a caller's alias ARN into its machine's ARN and the alias name.
fn split_alias_arn(arn: &str) -> ApiResult<(&str, &str)> {
    check_arn(arn, "stateMachineAliasArn", &[ResourceType::StateMachine])?;
    match split_qualifier(arn) {
        (machine_arn, Some(MachineQualifier::Alias(_))) => {
            Ok((machine_arn, &arn[machine_arn.len() + 1..]))
        }
        // AWS's text for a machine or version ARN given as an alias ARN is not known.
        _ => Err(ApiError::new(
            ErrorKind::InvalidArn,
            format!("Invalid Arn: 'Invalid alias ARN: {arn}'"),
        )),
    }
}

impl Service {
    fn routing_items(
        &self,
        machine_arn: &str,
        alias: &AliasRecord,
    ) -> Vec<RoutingConfigurationListItem> {
        alias
            .routing
            .iter()
            .map(|r| RoutingConfigurationListItem {
                state_machine_version_arn: self.scope.state_machine_version(machine_arn, r.version),
                weight: r.weight,
            })
            .collect()
    }

    async fn alias_machine(&self, machine_arn: &str) -> ApiResult<Option<StateMachineRecord>> {
        Ok(self.store.state_machine_get(machine_arn).await?)
    }

    /// Idempotent: the same name with the same description and routing gives the existing alias.
    pub async fn create_state_machine_alias(
        &self,
        req: CreateStateMachineAliasRequest,
    ) -> ApiResult<CreateStateMachineAliasResponse> {
        check_description(req.description.as_deref(), "description")?;
        check_alias_name(&req.name)?;
        let (machine_arn, routes) = check_routing(&req.routing_configuration)?;
        let first_version = req.routing_configuration[0]
            .state_machine_version_arn
            .clone();
        let machine = self
            .alias_machine(&machine_arn)
            .await?
            .ok_or_else(|| state_machine_does_not_exist(&first_version))?;
        let outcome = self
            .store
            .alias_create(NewAlias {
                state_machine_id: machine.id,
                name: req.name.clone(),
                description: req.description.clone(),
                routing: routes.clone(),
                creation_date: self.clock.now(),
                quota: MAX_ALIASES,
            })
            .await?;
        let alias = match outcome {
            AliasOutcome::Written(alias) => alias,
            AliasOutcome::Existing(existing) => {
                if existing.description != req.description || existing.routing != routes {
                    return Err(ApiError::new(
                        ErrorKind::ConflictException,
                        "Failed to create alias because an alias with the same name and a different routing configuration already exists.",
                    ));
                }
                existing
            }
            AliasOutcome::VersionMissing(number) => {
                return Err(state_machine_does_not_exist(
                    &self.scope.state_machine_version(&machine_arn, number),
                ))
            }
            AliasOutcome::LimitExceeded => return Err(alias_limit_exceeded(&machine_arn)),
            AliasOutcome::NotFound => return Err(state_machine_does_not_exist(&first_version)),
        };
        Ok(CreateStateMachineAliasResponse {
            state_machine_alias_arn: format!("{machine_arn}:{}", alias.name),
            creation_date: alias.creation_date,
        })
    }

    pub async fn describe_state_machine_alias(
        &self,
        req: DescribeStateMachineAliasRequest,
    ) -> ApiResult<DescribeStateMachineAliasResponse> {
        let arn = req.state_machine_alias_arn;
        let (machine_arn, name) = split_alias_arn(&arn)?;
        let machine = self
            .alias_machine(machine_arn)
            .await?
            .ok_or_else(resource_not_found)?;
        let alias = self
            .store
            .alias_get(machine.id, name)
            .await?
            .ok_or_else(resource_not_found)?;
        Ok(DescribeStateMachineAliasResponse {
            routing_configuration: self.routing_items(machine_arn, &alias),
            state_machine_alias_arn: arn.clone(),
            name: alias.name,
            description: alias.description,
            creation_date: alias.creation_date,
            update_date: alias.update_date,
        })
    }

    pub async fn update_state_machine_alias(
        &self,
        req: UpdateStateMachineAliasRequest,
    ) -> ApiResult<UpdateStateMachineAliasResponse> {
        let arn = req.state_machine_alias_arn;
        let (machine_arn, name) = split_alias_arn(&arn)?;
        check_description(req.description.as_deref(), "description")?;
        if req.description.is_none() && req.routing_configuration.is_empty() {
            // AWS requires one of the two; its text is not known.
            return Err(ApiError::new(
                ErrorKind::ValidationException,
                "Either the description or the RoutingConfiguration must be specified",
            ));
        }
        let routing = if req.routing_configuration.is_empty() {
            None
        } else {
            let (routed_machine, routes) = check_routing(&req.routing_configuration)?;
            if routed_machine != machine_arn {
                return Err(routing_error(format!(
                    "Routing configuration must contain versions of the alias's state machine. Received: {}",
                    routing_text(&req.routing_configuration)
                )));
            }
            Some(routes)
        };
        let machine = self
            .alias_machine(machine_arn)
            .await?
            .ok_or_else(resource_not_found)?;
        let outcome = self
            .store
            .alias_update(AliasChange {
                state_machine_id: machine.id,
                name: name.to_string(),
                description: req.description,
                routing,
                update_date: self.clock.now(),
            })
            .await?;
        match outcome {
            AliasOutcome::Written(alias) => Ok(UpdateStateMachineAliasResponse {
                update_date: alias.update_date,
            }),
            AliasOutcome::VersionMissing(number) => Err(state_machine_does_not_exist(
                &self.scope.state_machine_version(machine_arn, number),
            )),
            AliasOutcome::NotFound | AliasOutcome::Existing(_) | AliasOutcome::LimitExceeded => {
                Err(resource_not_found())
            }
        }
    }

    /// A missing alias is a success, as on AWS; its versions are untouched.
    pub async fn delete_state_machine_alias(
        &self,
        req: DeleteStateMachineAliasRequest,
    ) -> ApiResult<DeleteStateMachineAliasResponse> {
        let (machine_arn, name) = split_alias_arn(&req.state_machine_alias_arn)?;
        if let Some(machine) = self.alias_machine(machine_arn).await? {
            self.store.alias_delete(machine.id, name).await?;
        }
        Ok(DeleteStateMachineAliasResponse {})
    }

    /// A machine's aliases in name order; for a version ARN, the aliases that route to it.
    pub async fn list_state_machine_aliases(
        &self,
        req: ListStateMachineAliasesRequest,
    ) -> ApiResult<ListStateMachineAliasesResponse> {
        let arn = req.state_machine_arn;
        check_arn(&arn, "stateMachineArn", &[ResourceType::StateMachine])?;
        let limit = page_size(req.max_results)?;
        let query = format!("ListStateMachineAliases\0{arn}");
        let now = self.clock.now();
        let after: Option<String> = decode_optional(
            req.next_token.as_deref().unwrap_or_default(),
            &query,
            MAX_TOKEN_LEN,
            now,
        )?;
        let (machine_arn, version) = match split_qualifier(&arn) {
            (machine_arn, None) => (machine_arn, None),
            (machine_arn, Some(MachineQualifier::Version(number))) => (machine_arn, Some(number)),
            (_, Some(MachineQualifier::Alias(_))) => {
                return Err(state_machine_does_not_exist(&arn))
            }
        };
        let machine = self
            .alias_machine(machine_arn)
            .await?
            .ok_or_else(|| state_machine_does_not_exist(&arn))?;
        if let Some(number) = version {
            if self.store.version_get(machine.id, number).await?.is_none() {
                return Err(state_machine_does_not_exist(&arn));
            }
        }
        // At most 100 aliases per machine: read them all, then page.
        let mut aliases: Vec<AliasRecord> = self
            .store
            .alias_list(machine.id, after.as_deref(), MAX_ALIASES as usize + 1)
            .await?
            .into_iter()
            .filter(|a| version.is_none_or(|n| a.routing.iter().any(|r| r.version == n)))
            .collect();
        let next_token = finish_page(&mut aliases, limit, &query, now, |a| a.name.clone())?;
        Ok(ListStateMachineAliasesResponse {
            state_machine_aliases: aliases
                .into_iter()
                .map(|a| StateMachineAliasListItem {
                    state_machine_alias_arn: format!("{machine_arn}:{}", a.name),
                    creation_date: a.creation_date,
                })
                .collect(),
            next_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_is_picked_by_its_weight() {
        let routing = [
            AliasRoute {
                version: 3,
                weight: 80,
            },
            AliasRoute {
                version: 7,
                weight: 20,
            },
        ];
        let picks: Vec<i64> = (0..100).map(|roll| pick_route(&routing, roll)).collect();
        assert_eq!(picks.iter().filter(|&&v| v == 3).count(), 80);
        assert_eq!(picks.iter().filter(|&&v| v == 7).count(), 20);
        assert_eq!(pick_route(&routing, 79), 3);
        assert_eq!(pick_route(&routing, 80), 7);
        let zero_first = [
            AliasRoute {
                version: 1,
                weight: 0,
            },
            AliasRoute {
                version: 2,
                weight: 100,
            },
        ];
        assert!((0..100).all(|roll| pick_route(&zero_first, roll) == 2));
        let single = [AliasRoute {
            version: 5,
            weight: 100,
        }];
        assert!((0..100).all(|roll| pick_route(&single, roll) == 5));
    }
}
