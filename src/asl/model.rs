//! The typed form of a state machine, built from a definition the validator accepted.
//!
//! State names are unique across the whole machine (branches and iterators included), so all states live in one
//! flat map and a running thread only needs the name of its current state.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

mod jsonata;

pub use jsonata::{JsonataCatch, JsonataChoice, JsonataState};

use super::choice::{parse_timestamp, ChoiceRule};
use super::intrinsics::IntrinsicCall;
use super::path::JsonPath;
use super::template::PayloadTemplate;

#[derive(Debug, Clone)]
pub struct StateMachine {
    pub start_at: String,
    pub timeout_seconds: Option<u64>,
    pub states: HashMap<String, State>,
}

/// InputPath / OutputPath: absent means `$`, `null` means "use `{}`".
#[derive(Debug, Clone, PartialEq)]
pub enum PathField {
    Identity,
    Null,
    Path(JsonPath),
}

/// ResultPath: absent means `$` (replace), `null` means "discard the result".
#[derive(Debug, Clone, PartialEq)]
pub enum ResultPathField {
    Discard,
    Path(JsonPath),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Next(String),
    End,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: ResultPathField,
    /// Variables the catcher assigns, from the Error Output.
    pub assign: Option<PayloadTemplate>,
}

/// One rule of a Choice state: where it leads and what it assigns when it matches.
#[derive(Debug, Clone)]
pub struct ChoiceOption {
    pub rule: ChoiceRule,
    pub next: String,
    pub assign: Option<PayloadTemplate>,
}

/// A number given literally or read from the effective input by a reference path.
#[derive(Debug, Clone)]
pub enum Seconds {
    Literal(u64),
    Path(JsonPath),
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(JsonPath),
    Timestamp(DateTime<FixedOffset>),
    TimestampPath(JsonPath),
    /// A JSONata state's `Seconds` or `Timestamp` (in its [`JsonataState`]).
    Jsonata,
}

/// A Fail state's Error or Cause: a literal, or (later ASL) a path or intrinsic.
#[derive(Debug, Clone)]
pub enum FailText {
    Literal(String),
    Path(JsonPath),
    Intrinsic(IntrinsicCall),
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub start_at: String,
}

#[derive(Debug, Clone)]
pub enum StateKind {
    Pass {
        result: Option<Value>,
    },
    Task {
        resource: String,
        timeout: Option<Seconds>,
        heartbeat: Option<Seconds>,
    },
    Choice {
        choices: Vec<ChoiceOption>,
        default: Option<String>,
    },
    Wait {
        wait: WaitFor,
    },
    Succeed,
    Fail {
        error: Option<FailText>,
        cause: Option<FailText>,
    },
    Parallel {
        branches: Vec<Branch>,
    },
    Map {
        iterator: Branch,
        items_path: Option<JsonPath>,
        item_selector: Option<PayloadTemplate>,
        max_concurrency: Option<Seconds>,
        tolerated_failure_count: Option<u64>,
        tolerated_failure_percentage: Option<f64>,
    },
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub kind: StateKind,
    pub input_path: PathField,
    pub output_path: PathField,
    pub parameters: Option<PayloadTemplate>,
    pub result_selector: Option<PayloadTemplate>,
    pub result_path: ResultPathField,
    pub transition: Transition,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// Workflow variables the state assigns when it exits (for a Choice: when no rule's own applies).
    pub assign: Option<PayloadTemplate>,
    /// Whether anything in this state reads the Context Object (`$$`, `$states.context`); saves building it
    /// when nothing does.
    pub uses_context: bool,
    /// Set when the state's query language is JSONata: its fields, evaluated instead of the JSONPath ones.
    pub jsonata: Option<Box<JsonataState>>,
}

impl State {
    /// The prefix of this state's history event types, e.g. `Pass` for `PassStateEntered`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task { .. } => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait { .. } => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail { .. } => "Fail",
            StateKind::Parallel { .. } => "Parallel",
            StateKind::Map { .. } => "Map",
        }
    }
}

impl StateMachine {
    /// Builds the model from a definition's JSON. The validator has already checked it; errors here are
    /// defensive (a definition stored before a validator change) and are reported, never panicked on.
    pub fn from_json(root: &Value) -> Result<StateMachine, String> {
        let obj = root
            .as_object()
            .ok_or("the definition must be a JSON object")?;
        let mut states = HashMap::new();
        let jsonata = obj.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata");
        let start_at = collect_scope(obj, &mut states, jsonata)?;
        let timeout_seconds = obj.get("TimeoutSeconds").and_then(Value::as_u64);
        Ok(StateMachine {
            start_at,
            timeout_seconds,
            states,
        })
    }

    pub fn parse(definition: &str) -> Result<StateMachine, String> {
        let root: Value = serde_json::from_str(definition).map_err(|e| e.to_string())?;
        Self::from_json(&root)
    }

    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.get(name)
    }

    /// The activity ARNs the machine's Task states name, sorted, without repeats.
    pub fn activity_arns(&self) -> Vec<String> {
        let mut arns: Vec<String> = self
            .states
            .values()
            .filter_map(|s| match &s.kind {
                StateKind::Task { resource, .. } if is_activity_arn(resource) => {
                    Some(resource.clone())
                }
                _ => None,
            })
            .collect();
        arns.sort();
        arns.dedup();
        arns
    }
}

/// `arn:aws:states:<region>:<account>:activity:<name>`: a Task resource worked by activity workers.
pub fn is_activity_arn(resource: &str) -> bool {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "activity"
}

/// Adds every state of a scope (and of scopes nested in it) to `states`; returns the scope's StartAt.
/// `jsonata`: the machine's QueryLanguage is JSONata (every state is, unless it says otherwise).
fn collect_scope(
    scope: &Map<String, Value>,
    states: &mut HashMap<String, State>,
    jsonata: bool,
) -> Result<String, String> {
    let start_at = str_field(scope, "StartAt")?.to_string();
    let members = scope
        .get("States")
        .and_then(Value::as_object)
        .ok_or("a scope needs States")?;
    for (name, body) in members {
        let body = body
            .as_object()
            .ok_or_else(|| format!("state {name} must be an object"))?;
        let state = build_state(name, body, states, jsonata)?;
        states.insert(name.clone(), state);
    }
    Ok(start_at)
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("field {key} must be a string"))
}

fn path(text: &str) -> Result<JsonPath, String> {
    JsonPath::parse(text).map_err(|e| e.0)
}

fn path_field(obj: &Map<String, Value>, key: &str) -> Result<PathField, String> {
    Ok(match obj.get(key) {
        None => PathField::Identity,
        Some(Value::Null) => PathField::Null,
        Some(Value::String(s)) => PathField::Path(path(s)?),
        Some(_) => return Err(format!("{key} must be a string or null")),
    })
}

fn result_path_field(obj: &Map<String, Value>) -> Result<ResultPathField, String> {
    Ok(match obj.get("ResultPath") {
        None => ResultPathField::Path(path("$")?),
        Some(Value::Null) => ResultPathField::Discard,
        Some(Value::String(s)) => ResultPathField::Path(path(s)?),
        Some(_) => return Err("ResultPath must be a string or null".into()),
    })
}

fn template(obj: &Map<String, Value>, key: &str) -> Result<Option<PayloadTemplate>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => PayloadTemplate::compile(v).map(Some).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    }
}

/// `Assign`: in a JSONPath state a payload template whose top-level keys are the variable names.
fn assign(obj: &Map<String, Value>) -> Result<Option<PayloadTemplate>, String> {
    template(obj, "Assign")
}

fn seconds(obj: &Map<String, Value>, key: &str) -> Result<Option<Seconds>, String> {
    if let Some(v) = obj.get(key) {
        return v
            .as_u64()
            .map(|n| Some(Seconds::Literal(n)))
            .ok_or_else(|| format!("{key} must be a non-negative integer"));
    }
    match obj.get(&format!("{key}Path")) {
        Some(v) => Ok(Some(Seconds::Path(path(
            v.as_str()
                .ok_or_else(|| format!("{key}Path must be a string"))?,
        )?))),
        None => Ok(None),
    }
}

fn fail_text(obj: &Map<String, Value>, key: &str) -> Result<Option<FailText>, String> {
    if let Some(v) = obj.get(key) {
        return Ok(Some(FailText::Literal(
            v.as_str()
                .ok_or_else(|| format!("{key} must be a string"))?
                .to_string(),
        )));
    }
    match obj.get(&format!("{key}Path")).and_then(Value::as_str) {
        Some(text) if IntrinsicCall::looks_like_call(text) => Ok(Some(FailText::Intrinsic(
            IntrinsicCall::parse(text).map_err(|e| e.0)?,
        ))),
        Some(text) => Ok(Some(FailText::Path(path(text)?))),
        None => Ok(None),
    }
}

fn error_equals(obj: &Map<String, Value>) -> Vec<String> {
    obj.get("ErrorEquals")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn build_state(
    name: &str,
    body: &Map<String, Value>,
    states: &mut HashMap<String, State>,
    machine_jsonata: bool,
) -> Result<State, String> {
    let is_jsonata = match body.get("QueryLanguage").and_then(Value::as_str) {
        Some(language) => language == "JSONata",
        None => machine_jsonata,
    };
    let jsonata = if is_jsonata {
        Some(Box::new(JsonataState::from_json(body)?))
    } else {
        None
    };
    let kind = match str_field(body, "Type")? {
        "Pass" => StateKind::Pass {
            result: body.get("Result").cloned(),
        },
        "Task" if is_jsonata => StateKind::Task {
            resource: str_field(body, "Resource")?.to_string(),
            timeout: None,
            heartbeat: None,
        },
        "Task" => StateKind::Task {
            resource: str_field(body, "Resource")?.to_string(),
            timeout: seconds(body, "TimeoutSeconds")?,
            heartbeat: seconds(body, "HeartbeatSeconds")?,
        },
        "Choice" if is_jsonata => StateKind::Choice {
            choices: Vec::new(),
            default: body
                .get("Default")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        "Wait" if is_jsonata => StateKind::Wait {
            wait: WaitFor::Jsonata,
        },
        "Fail" if is_jsonata => StateKind::Fail {
            error: None,
            cause: None,
        },
        "Choice" => {
            let mut choices = Vec::new();
            for rule in body
                .get("Choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let next = rule
                    .get("Next")
                    .and_then(Value::as_str)
                    .ok_or("a top-level Choice rule needs Next")?;
                choices.push(ChoiceOption {
                    rule: ChoiceRule::from_json(rule)?,
                    next: next.to_string(),
                    assign: assign(rule.as_object().ok_or("a Choice rule must be an object")?)?,
                });
            }
            StateKind::Choice {
                choices,
                default: body
                    .get("Default")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }
        }
        "Wait" => {
            let wait = if let Some(v) = body.get("Seconds") {
                WaitFor::Seconds(v.as_u64().ok_or("Seconds must be a non-negative integer")?)
            } else if let Some(v) = body.get("SecondsPath").and_then(Value::as_str) {
                WaitFor::SecondsPath(path(v)?)
            } else if let Some(v) = body.get("Timestamp").and_then(Value::as_str) {
                WaitFor::Timestamp(parse_timestamp(v).ok_or("Timestamp must be RFC 3339")?)
            } else if let Some(v) = body.get("TimestampPath").and_then(Value::as_str) {
                WaitFor::TimestampPath(path(v)?)
            } else {
                return Err(format!("Wait state {name} needs a duration"));
            };
            StateKind::Wait { wait }
        }
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail {
            error: fail_text(body, "Error")?,
            cause: fail_text(body, "Cause")?,
        },
        "Parallel" => {
            let mut branches = Vec::new();
            for branch in body
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let branch = branch.as_object().ok_or("a branch must be an object")?;
                branches.push(Branch {
                    start_at: collect_scope(branch, states, machine_jsonata)?,
                });
            }
            StateKind::Parallel { branches }
        }
        "Map" => {
            let processor = body
                .get("ItemProcessor")
                .or_else(|| body.get("Iterator"))
                .and_then(Value::as_object)
                .ok_or("a Map state needs ItemProcessor or Iterator")?;
            let items_path = match body.get("ItemsPath").and_then(Value::as_str) {
                Some(p) => Some(path(p)?),
                None => None,
            };
            // `Parameters` on Map is the 2020 name of ItemSelector: it applies per item.
            let item_selector = match template(body, "ItemSelector")? {
                Some(t) => Some(t),
                None => template(body, "Parameters")?,
            };
            StateKind::Map {
                iterator: Branch {
                    start_at: collect_scope(processor, states, machine_jsonata)?,
                },
                items_path,
                item_selector: if is_jsonata { None } else { item_selector },
                max_concurrency: if is_jsonata {
                    None
                } else {
                    seconds(body, "MaxConcurrency")?
                },
                tolerated_failure_count: body.get("ToleratedFailureCount").and_then(Value::as_u64),
                tolerated_failure_percentage: body
                    .get("ToleratedFailurePercentage")
                    .and_then(Value::as_f64),
            }
        }
        other => return Err(format!("unknown state type {other}")),
    };
    let is_map = matches!(kind, StateKind::Map { .. });
    let transition = match (body.get("Next").and_then(Value::as_str), body.get("End")) {
        (Some(next), _) => Transition::Next(next.to_string()),
        _ => Transition::End,
    };
    let retry = body
        .get("Retry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|r| Retrier {
            error_equals: error_equals(r),
            interval_seconds: r
                .get("IntervalSeconds")
                .and_then(Value::as_f64)
                .unwrap_or(1.0),
            max_attempts: r
                .get("MaxAttempts")
                .and_then(Value::as_u64)
                .map_or(3, |n| n.min(u32::MAX as u64) as u32),
            backoff_rate: r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0),
            max_delay_seconds: r.get("MaxDelaySeconds").and_then(Value::as_f64),
            full_jitter: r.get("JitterStrategy").and_then(Value::as_str) == Some("FULL"),
        })
        .collect();
    let mut catch = Vec::new();
    for c in body
        .get("Catch")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let c = c.as_object().ok_or("a catcher must be an object")?;
        catch.push(Catcher {
            error_equals: error_equals(c),
            next: str_field(c, "Next")?.to_string(),
            result_path: result_path_field(c)?,
            assign: if is_jsonata { None } else { assign(c)? },
        });
    }
    // Everything but nested scopes may mention `$$`; nested states are scanned on their own.
    let uses_context = if is_jsonata {
        jsonata::reads_context(body)
    } else {
        body.iter()
            .filter(|(k, _)| !matches!(k.as_str(), "Branches" | "Iterator" | "ItemProcessor"))
            .any(|(_, v)| v.to_string().contains("$$"))
    };
    Ok(State {
        name: name.to_string(),
        kind,
        input_path: path_field(body, "InputPath")?,
        output_path: path_field(body, "OutputPath")?,
        parameters: if is_map {
            None
        } else {
            template(body, "Parameters")?
        },
        result_selector: template(body, "ResultSelector")?,
        result_path: result_path_field(body)?,
        transition,
        retry,
        catch,
        assign: if is_jsonata { None } else { assign(body)? },
        uses_context,
        jsonata,
    })
}
