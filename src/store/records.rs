//! The records both backends build from their rows and writes, written once: the backends only choose
//! the SQL and the connection.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::lease::{Lease, LeasedExecution};
use super::rows::Columns;
use super::*;

/// A state machine joined with its current version (columns as [`state_machine`] reads them).
pub(crate) const STATE_MACHINE_SELECT: &str = "SELECT sm.id, sm.arn, sm.name, sm.type, sm.status, sm.creation_date, \
     v.id AS version_id, v.definition, v.role_arn, v.logging_configuration, v.tracing_configuration, \
     v.encryption_configuration, v.update_date, v.revision_id \
     FROM state_machines sm JOIN state_machine_versions v ON v.id = sm.current_version_id";

/// An execution joined with its state machine (columns as [`execution`] reads them).
pub(crate) const EXECUTION_SELECT: &str = "SELECT e.id, e.arn, e.state_machine_id, sm.arn AS state_machine_arn, \
     sm.name AS state_machine_name, e.version_id, e.name, e.status, e.input, e.output, e.error, e.cause, \
     e.trace_header, e.trace_context, e.start_date, e.stop_date, e.express, e.redrive_count, \
     e.redrive_date, e.redrive_token, e.redrive_tokens, e.closed_before_redrive, e.last_event_id, sm.status AS state_machine_status, \
     e.state_machine_version_arn, e.state_machine_alias_arn \
     FROM executions e JOIN state_machines sm ON sm.id = e.state_machine_id";

/// An activity task's columns, as [`task`] reads them.
pub const TASK_COLUMNS: &str =
    "id, token, activity_arn, execution_id, task_key, input, status, worker_name, \
     created_at, started_at, closed_at, claim_version, claim_expires_at";

pub(crate) fn version(row: &impl Columns, id_column: &str) -> Result<VersionRecord> {
    Ok(VersionRecord {
        id: row.int(id_column)?,
        definition: row.text("definition")?,
        role_arn: row.text("role_arn")?,
        logging_configuration: row.text("logging_configuration")?,
        tracing_configuration: row.text("tracing_configuration")?,
        encryption_configuration: row.text_opt("encryption_configuration")?,
        update_date: row.time("update_date")?,
        revision_id: row.text_opt("revision_id")?,
    })
}

/// A published version joined with its revision (columns as [`PUBLISHED_VERSION_SELECT`] reads them).
pub(crate) const PUBLISHED_VERSION_SELECT: &str = "SELECT pv.number, pv.description, \
     pv.creation_date AS published_date, v.id, v.definition, v.role_arn, v.logging_configuration, \
     v.tracing_configuration, v.encryption_configuration, v.update_date, v.revision_id \
     FROM state_machine_published_versions pv JOIN state_machine_versions v ON v.id = pv.version_id";

pub(crate) fn published_version(row: &impl Columns) -> Result<PublishedVersionRecord> {
    Ok(PublishedVersionRecord {
        number: row.int("number")?,
        description: row.text_opt("description")?,
        creation_date: row.time("published_date")?,
        revision: version(row, "id")?,
    })
}

pub(crate) const ALIAS_COLUMNS: &str =
    "state_machine_id, name, description, routing_configuration, creation_date, update_date";

pub(crate) fn alias(row: &impl Columns) -> Result<AliasRecord> {
    let routing = row.text("routing_configuration")?;
    Ok(AliasRecord {
        state_machine_id: row.int("state_machine_id")?,
        name: row.text("name")?,
        description: row.text_opt("description")?,
        routing: serde_json::from_str(&routing)
            .map_err(|e| Error::Other(format!("unreadable alias routing: {e}").into()))?,
        creation_date: row.time("creation_date")?,
        update_date: row.time("update_date")?,
    })
}

pub(crate) fn routing_json(routing: &[AliasRoute]) -> String {
    serde_json::to_string(routing).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn state_machine(row: &impl Columns) -> Result<StateMachineRecord> {
    Ok(StateMachineRecord {
        id: row.int("id")?,
        arn: row.text("arn")?,
        name: row.text("name")?,
        machine_type: StateMachineType::parse(&row.text("type")?)?,
        status: StateMachineStatus::parse(&row.text("status")?)?,
        creation_date: row.time("creation_date")?,
        version: version(row, "version_id")?,
    })
}

pub(crate) fn activity(row: &impl Columns) -> Result<ActivityRecord> {
    Ok(ActivityRecord {
        id: row.int("id")?,
        arn: row.text("arn")?,
        name: row.text("name")?,
        creation_date: row.time("creation_date")?,
        encryption_configuration: row.text_opt("encryption_configuration")?,
    })
}

pub(crate) fn execution(row: &impl Columns) -> Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: row.int("id")?,
        arn: row.text("arn")?,
        state_machine_id: row.int("state_machine_id")?,
        state_machine_arn: row.text("state_machine_arn")?,
        state_machine_name: row.text("state_machine_name")?,
        version_id: row.int("version_id")?,
        name: row.text("name")?,
        status: ExecutionStatus::parse(&row.text("status")?)?,
        input: row.text("input")?,
        output: row.text_opt("output")?,
        error: row.text_opt("error")?,
        cause: row.text_opt("cause")?,
        trace_header: row.text_opt("trace_header")?,
        trace_context: row.text_opt("trace_context")?,
        start_date: row.time("start_date")?,
        stop_date: row.time_opt("stop_date")?,
        express: row.flag("express")?,
        redrive: super::RedriveRecord {
            count: u32::try_from(row.int("redrive_count")?).unwrap_or(u32::MAX),
            date: row.time_opt("redrive_date")?,
            tokens: redrive_tokens(
                row.text_opt("redrive_tokens")?,
                row.text_opt("redrive_token")?,
                row.time_opt("redrive_date")?,
            )?,
            closed_before_redrive: row.flag("closed_before_redrive")?,
        },
        last_event_id: row.int("last_event_id")?,
        machine_deleting: row.text("state_machine_status")? == "DELETING",
        state_machine_version_arn: row.text_opt("state_machine_version_arn")?,
        state_machine_alias_arn: row.text_opt("state_machine_alias_arn")?,
    })
}

pub fn task(row: &impl Columns) -> Result<ActivityTaskRecord> {
    Ok(ActivityTaskRecord {
        id: row.int("id")?,
        token: row.text("token")?,
        activity_arn: row.text("activity_arn")?,
        execution_id: row.int("execution_id")?,
        task_key: row.text("task_key")?,
        input: row.text("input")?,
        status: TaskStatus::parse(&row.text("status")?)?,
        worker_name: row.text_opt("worker_name")?,
        created_at: row.time("created_at")?,
        started_at: row.time_opt("started_at")?,
        closed_at: row.time_opt("closed_at")?,
        claim_version: row.int("claim_version")?,
        claim_expires_at: row.time_opt("claim_expires_at")?,
    })
}

pub(crate) fn event(row: &impl Columns) -> Result<HistoryEvent> {
    let details = match row.text_opt("details")? {
        Some(text) => serde_json::from_str(&text).map_err(|e| Error::Other(Box::new(e)))?,
        None => Value::Null,
    };
    Ok(HistoryEvent {
        id: row.int("id")?,
        previous_event_id: row.int("previous_event_id")?,
        timestamp: row.time("timestamp")?,
        event_type: row.text("type")?,
        details,
    })
}

pub(crate) fn tag(row: &impl Columns) -> Result<Tag> {
    Ok(Tag {
        key: row.text("key")?,
        value: row.text("value")?,
    })
}

/// A history event's details column: JSON text, NULL when it has none.
pub(crate) fn event_details(event: &HistoryEvent) -> Option<String> {
    (!event.details.is_null()).then(|| json_text(&event.details))
}

/// A value as compact JSON text, the same text as its `Display` (`to_string`), written straight into a
/// byte buffer: `Display` goes through `fmt::Formatter` a few bytes at a time, which cost several times
/// more (it was the largest single cost of a StartExecution's write).
pub(crate) fn json_text(value: &Value) -> String {
    // Serialising a `Value` cannot fail: its keys are strings.
    serde_json::to_string(value).unwrap_or_default()
}

/// A claimed execution from the claim's columns (its lease fields as the backend knows them).
pub(crate) fn leased_execution(row: &impl Columns, lease: Lease) -> Result<LeasedExecution> {
    Ok(LeasedExecution {
        lease,
        arn: row.text("arn")?,
        name: row.text("name")?,
        input: row.text("input")?,
        start_date: row.time("start_date")?,
        state_machine_arn: row.text("state_machine_arn")?,
        state_machine_name: row.text("state_machine_name")?,
        version_id: row.int("version_id")?,
        role_arn: row.text("role_arn")?,
        engine_state: row.text_opt("engine_state")?,
        last_event_id: row.int("last_event_id")?,
        step_failures: row.int("step_failures")?,
        trace_context: row.text_opt("trace_context")?,
        inbox_seen_empty: false,
    })
}

/// A created machine, from what was asked and the ids the inserts returned.
pub(crate) fn created_state_machine(
    new: NewStateMachine,
    id: i64,
    version_id: i64,
) -> StateMachineRecord {
    StateMachineRecord {
        id,
        arn: new.arn,
        name: new.name,
        machine_type: new.machine_type,
        status: StateMachineStatus::Active,
        creation_date: new.creation_date,
        version: VersionRecord {
            id: version_id,
            definition: new.definition,
            role_arn: new.role_arn,
            logging_configuration: new.logging_configuration,
            tracing_configuration: new.tracing_configuration,
            encryption_configuration: new.encryption_configuration,
            update_date: new.creation_date,
            revision_id: None,
        },
    }
}

/// The next version: the current one with the change's members (its id is set by the insert). A change
/// that changes nothing keeps the current revisionId.
pub(crate) fn changed_version(current: VersionRecord, change: StateMachineChange) -> VersionRecord {
    let unchanged = change
        .definition
        .as_ref()
        .is_none_or(|d| *d == current.definition)
        && change
            .role_arn
            .as_ref()
            .is_none_or(|r| *r == current.role_arn)
        && change
            .logging_configuration
            .as_ref()
            .is_none_or(|l| *l == current.logging_configuration)
        && change
            .tracing_configuration
            .as_ref()
            .is_none_or(|t| *t == current.tracing_configuration)
        && change
            .encryption_configuration
            .as_ref()
            .is_none_or(|e| Some(e) == current.encryption_configuration.as_ref());
    let revision_id = if unchanged {
        current.revision_id
    } else {
        Some(change.revision_id)
    };
    VersionRecord {
        id: 0,
        revision_id,
        definition: change.definition.unwrap_or(current.definition),
        role_arn: change.role_arn.unwrap_or(current.role_arn),
        logging_configuration: change
            .logging_configuration
            .unwrap_or(current.logging_configuration),
        tracing_configuration: change
            .tracing_configuration
            .unwrap_or(current.tracing_configuration),
        encryption_configuration: change
            .encryption_configuration
            .or(current.encryption_configuration),
        update_date: change.update_date,
    }
}

/// Resources with a quota on how many may exist.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Quota {
    StateMachines,
    Activities,
}

/// Refuses a create when `count` resources exist already and the quota allows no more.
pub(crate) fn quota_check(count: i64, quota: u64) -> Result<()> {
    if u64::try_from(count).unwrap_or(0) >= quota {
        return Err(Error::LimitExceeded);
    }
    Ok(())
}

/// Whether adding `tags` to a resource that has the `existing` keys keeps it within `limit` tags (every
/// key counts: callers cannot add `aws:` keys, see domain::tags).
pub(crate) fn tags_fit(existing: &[String], tags: &[Tag], limit: usize) -> bool {
    let existing_keys: std::collections::HashSet<&str> =
        existing.iter().map(String::as_str).collect();
    let added = tags
        .iter()
        .filter(|t| !existing_keys.contains(t.key.as_str()))
        .count();
    existing_keys.len() + added <= limit
}

/// An engine-made error or cause as the execution row keeps it. The API refuses NUL in the values
/// callers send, but the engine can still produce one (a Fail state's `ErrorPath` reading `"\u0000"`
/// from the input; its `Error` written as `"\u0000"` in the definition). Postgres TEXT cannot hold NUL,
/// so on both backends the row gets U+FFFD in its place; the history events keep the exact value (they
/// are JSON text, where NUL is the escape `\u0000`).
pub(crate) fn storable_text(text: Option<&str>) -> Option<String> {
    text.map(|t| t.replace('\0', "\u{FFFD}"))
}

/// The activity ARNs a definition names that could exist: one with NUL cannot (names refuse control
/// characters) and cannot be sent to Postgres either, so it is left out of the lookup and the engine
/// finds the activity missing instead of the step failing on storage.
pub(crate) fn lookup_arns(arns: &[String]) -> Vec<&str> {
    arns.iter()
        .map(String::as_str)
        .filter(|arn| !arn.contains('\0'))
        .collect()
}

/// The remembered clientTokens of an execution's redrives: the `redrive_tokens` list (migration 0022), or
/// for a redrive written before it the one token it kept, dated by that redrive.
fn redrive_tokens(
    list: Option<String>,
    last: Option<String>,
    date: Option<DateTime<Utc>>,
) -> Result<Vec<super::RedriveToken>> {
    match (list, last, date) {
        (Some(text), _, _) => serde_json::from_str(&text)
            .map_err(|e| Error::Other(format!("unreadable redrive tokens: {e}").into())),
        (None, Some(token), Some(date)) => Ok(vec![super::RedriveToken { token, date }]),
        _ => Ok(Vec::new()),
    }
}

/// History event 1 of every execution.
pub(crate) fn execution_started(new: &NewExecution, role_arn: &str) -> HistoryEvent {
    let mut details = json!({
        "input": new.input,
        "inputDetails": {"truncated": false},
        "roleArn": role_arn,
    });
    // AWS: the version and alias the execution was started through, only when it was.
    if let Some(via) = &new.via {
        details["stateMachineVersionArn"] = json!(via.version_arn);
        if let Some(alias) = &via.alias_arn {
            details["stateMachineAliasArn"] = json!(alias);
        }
    }
    HistoryEvent {
        id: 1,
        previous_event_id: 0,
        timestamp: new.start_date,
        event_type: "ExecutionStarted".to_string(),
        details,
    }
}

/// The worker reports still in an execution's inbox when StopExecution aborts it, as the history events
/// the engine would have written for them (numbered on from `last_event_id`, each at the time it was
/// accepted). A report a worker was told was accepted is applied before the abort, never dropped:
/// StopExecution records it, then `ExecutionAborted`. (The engine links an event to its thread's previous
/// one; the store does not know the threads, so these link to none, like `ExecutionAborted`.)
/// Heartbeats and unreadable rows record nothing.
pub(crate) fn reports_before_abort(
    inbox: &[(String, DateTime<Utc>)],
    last_event_id: i64,
) -> Vec<HistoryEvent> {
    use crate::asl::Signal;
    let mut events = Vec::new();
    for (text, accepted_at) in inbox {
        let Ok(signal) = serde_json::from_str::<Signal>(text) else {
            continue;
        };
        let (event_type, details) = match signal {
            Signal::TaskStarted { worker_name, .. } => (
                "ActivityStarted",
                match worker_name {
                    Some(w) => json!({"workerName": w}),
                    None => json!({}),
                },
            ),
            Signal::TaskSucceeded { output, .. } => (
                "ActivitySucceeded",
                json!({"output": output, "outputDetails": {"truncated": false}}),
            ),
            Signal::TaskFailed { error, cause, .. } => {
                let mut d = serde_json::Map::new();
                if let Some(e) = error {
                    d.insert("error".into(), Value::String(e));
                }
                if let Some(c) = cause {
                    d.insert("cause".into(), Value::String(c));
                }
                ("ActivityFailed", Value::Object(d))
            }
            // An integration's submit response: the engine records it, StopExecution has no event for it.
            Signal::TaskHeartbeat { .. } | Signal::TaskSubmitted { .. } => continue,
        };
        events.push(HistoryEvent {
            id: last_event_id + 1 + events.len() as i64,
            previous_event_id: 0,
            timestamp: *accepted_at,
            event_type: event_type.to_string(),
            details,
        });
    }
    events
}

/// The event StopExecution appends after the execution's last one.
pub(crate) fn execution_aborted(stop: &StopRequest, event_id: i64) -> HistoryEvent {
    let mut details = serde_json::Map::new();
    if let Some(error) = &stop.error {
        details.insert("error".into(), Value::String(error.clone()));
    }
    if let Some(cause) = &stop.cause {
        details.insert("cause".into(), Value::String(cause.clone()));
    }
    HistoryEvent {
        id: event_id,
        previous_event_id: 0,
        timestamp: stop.stop_date,
        event_type: "ExecutionAborted".to_string(),
        details: Value::Object(details),
    }
}

/// The row a started execution has after its insert, as both backends write it: the status, times and
/// end from the first step (see [`NewExecution::initial_state`]).
pub(crate) struct StartRow<'a> {
    pub status: ExecutionStatus,
    pub due_at: Option<DateTime<Utc>>,
    pub last_event_id: i64,
    pub stop_date: Option<DateTime<Utc>>,
    pub engine_state: Option<&'a str>,
    pub output: Option<&'a str>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub lease_owner: Option<&'a str>,
    pub lease_until: Option<DateTime<Utc>>,
    /// The fence a start's lease begins with (1 when the start is leased, else 0).
    pub lease_version: i64,
}

impl<'a> StartRow<'a> {
    pub(crate) fn of(new: &'a NewExecution) -> Self {
        let (status, due_at, last_event_id, stop_date) = new.initial_state();
        let step = new.first_step.as_ref().map(|first| &first.step);
        let closing = step.and_then(|s| s.closing.as_ref());
        StartRow {
            status,
            due_at,
            last_event_id,
            stop_date,
            engine_state: step.map(|s| s.engine_state.as_str()),
            output: closing.and_then(|c| c.output.as_deref()),
            error: storable_text(closing.and_then(|c| c.error.as_deref())),
            cause: storable_text(closing.and_then(|c| c.cause.as_deref())),
            lease_owner: new.lease.as_ref().map(|l| l.owner.as_str()),
            lease_until: new.lease.as_ref().map(|l| l.until),
            lease_version: i64::from(new.lease.is_some()),
        }
    }
}

/// [`execution_started`]'s details as JSON text in two parts around the role ARN (a JSON string), for a
/// statement that learns the role only as it runs (Postgres's one-statement start joins them as
/// `before || to_json(role_arn)::TEXT || after`).
pub(crate) fn execution_started_around_role(new: &NewExecution) -> (String, String) {
    const MARK: &str = "\u{1}role\u{1}";
    let text = json_text(&execution_started(new, MARK).details);
    let quoted = json_text(&Value::String(MARK.into()));
    // The last one: the role comes after the input, which may hold the same characters.
    let at = text.rfind(&quoted).expect("the role is in the details");
    (
        text[..at].to_string(),
        text[at + quoted.len()..].to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_started_split_around_the_role_joins_back_to_the_event() {
        // An input holding what the split looks for, quotes and all.
        let input = "{\"s\":\"\u{1}role\u{1}\"}";
        let new = NewExecution {
            state_machine_id: 1,
            arn: "arn:e".into(),
            name: "e".into(),
            input: input.into(),
            trace_header: None,
            trace_context: None,
            start_date: now(),
            express: false,
            lease: None,
            first_step: None,
            via: Some(StartedVia {
                version_id: 1,
                version_arn: "arn:sm:1".into(),
                alias_arn: Some("arn:sm:live".into()),
            }),
        };
        let role = "arn:aws:iam::123456789012:role/r";
        let (before, after) = execution_started_around_role(&new);
        let joined = format!("{before}{}{after}", Value::String(role.into()));
        let joined: Value = serde_json::from_str(&joined).unwrap();
        assert_eq!(joined, execution_started(&new, role).details);
    }
}
