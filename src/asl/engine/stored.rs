//! The stored (JSON) form of a state's progress, [`Active`]. A Map or Parallel holds one per running
//! iteration or branch and the executor writes the whole engine state on every step, so a compact form (fields
//! at their usual value left out: no retry used, the effective input the same as the raw input) makes each
//! step's write smaller. This release READS the compact form but still WRITES every field the previous
//! release requires (`input`, `retries`, `retry_count`, a task's `started`): during a rolling upgrade an
//! older executor may claim a state a newer one wrote, and a field it cannot find would fail the execution.
//! The next release can switch the writer to the compact form, since every process then reads it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{is_zero, Active, Step};

/// An [`Active`] as written.
#[derive(Serialize)]
struct ActiveOut<'a> {
    state: &'a str,
    entered_event: i64,
    #[serde(skip_serializing_if = "is_zero")]
    entered_prev: i64,
    entered_time: DateTime<Utc>,
    raw_input: &'a Value,
    // Written even when equal to `raw_input`, and the retry counters even when unused: see the module doc.
    input: &'a Value,
    retries: &'a [u32],
    retry_count: u32,
    step: &'a Step,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_token: Option<&'a str>,
}

impl Serialize for Active {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ActiveOut {
            state: &self.state,
            entered_event: self.entered_event,
            entered_prev: self.entered_prev,
            entered_time: self.entered_time,
            raw_input: &self.raw_input,
            input: &self.input,
            retries: &self.retries,
            retry_count: self.retry_count,
            step: &self.step,
            task_token: self.task_token.as_deref(),
        }
        .serialize(serializer)
    }
}

/// An [`Active`] as read: the compact form, or the full one earlier versions wrote.
#[derive(Deserialize)]
pub(super) struct StoredActive {
    state: String,
    entered_event: i64,
    #[serde(default)]
    entered_prev: i64,
    entered_time: DateTime<Utc>,
    raw_input: Value,
    /// `Some(Null)` when written as `null`, `None` when left out.
    #[serde(default, deserialize_with = "present")]
    input: Option<Value>,
    #[serde(default)]
    retries: Vec<u32>,
    #[serde(default)]
    retry_count: u32,
    step: Step,
    #[serde(default)]
    task_token: Option<String>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl From<StoredActive> for Active {
    fn from(stored: StoredActive) -> Active {
        Active {
            input: stored.input.unwrap_or_else(|| stored.raw_input.clone()),
            state: stored.state,
            entered_event: stored.entered_event,
            entered_prev: stored.entered_prev,
            entered_time: stored.entered_time,
            raw_input: stored.raw_input,
            retries: stored.retries,
            retry_count: stored.retry_count,
            step: stored.step,
            task_token: stored.task_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::asl::engine::{ExecutionInfo, ExecutionState, Resources, Signal, StepEnv};
    use crate::asl::model::StateMachine;

    const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:work";

    struct World;

    impl Resources for World {
        fn activity_exists(&self, arn: &str) -> bool {
            arn == ACTIVITY
        }
    }

    fn active(raw_input: Value, input: Value) -> Active {
        Active {
            state: "T".into(),
            entered_event: 5,
            entered_prev: 0,
            entered_time: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
            raw_input,
            input,
            retries: vec![],
            retry_count: 0,
            step: Step::Wait {
                until: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 1).unwrap(),
            },
            task_token: None,
        }
    }

    #[test]
    fn the_compact_form_reads_back_to_the_same_state() {
        let a = active(json!({"n": 1}), json!({"n": 1}));
        let compact = r#"{"state":"T","entered_event":5,"entered_time":"2024-01-01T00:00:00Z","raw_input":{"n":1},"step":{"Wait":{"until":"2024-01-01T00:00:01Z"}}}"#;
        assert_eq!(serde_json::from_str::<Active>(compact).unwrap(), a);
    }

    #[test]
    fn the_written_form_keeps_what_the_previous_release_requires() {
        let a = active(json!({"n": 1}), json!({"n": 1}));
        let text = serde_json::to_value(&a).unwrap();
        for field in ["input", "retries", "retry_count"] {
            assert!(text.get(field).is_some(), "{field} missing: {text}");
        }
        assert_eq!(serde_json::from_value::<Active>(text).unwrap(), a);
        let map = map_of_scheduled_tasks(2);
        assert_eq!(map.matches("\"started\":false").count(), 2, "{map}");
    }

    #[test]
    fn a_null_effective_input_is_told_from_a_left_out_one() {
        let a = active(json!({"n": 1}), Value::Null);
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.contains("\"input\":null"), "{text}");
        assert_eq!(serde_json::from_str::<Active>(&text).unwrap(), a);
    }

    /// The stored state of a Map of `n` activity tasks, all scheduled (MaxConcurrency 0).
    fn map_of_scheduled_tasks(n: usize) -> String {
        let machine = StateMachine::from_json(&json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "T", "States": {
                    "T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}}}}))
        .unwrap();
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let info = ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            name: "e1".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            state_machine_name: "sm".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            start_time: now,
            input: Value::Array((0..n).map(|i| json!(i)).collect()),
            redrive_count: 0,
            redrive_time: None,
        };
        let mut state = ExecutionState::new(info, &machine);
        let mut rng = rand::rng();
        let mut env = StepEnv {
            now,
            rng: &mut rng,
            resources: &World,
        };
        let advance = state.advance(&machine, &[] as &[Signal], &mut env);
        assert_eq!(advance.commands.len(), n);
        serde_json::to_string(&state).unwrap()
    }

    #[test]
    fn a_scheduled_map_iteration_is_stored_in_under_330_bytes() {
        // Unset task fields left out (timeouts, heartbeats, token); about 400 bytes each before.
        let (small, large) = (map_of_scheduled_tasks(100), map_of_scheduled_tasks(1100));
        let per_iteration = (large.len() - small.len()) / 1000;
        assert!(per_iteration < 330, "{per_iteration} bytes per iteration");
    }
}
