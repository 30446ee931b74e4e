//! Workflow variables in JSONPath states: what `Assign` computes, when it takes effect, the history fields it
//! records, its scopes, its limits and its durability.

use super::*;
use crate::asl::engine::{MAX_TOTAL_VARIABLE_BYTES, MAX_VARIABLE_BYTES};

/// The `stateExitedEventDetails` of the event with this id.
fn details(h: &Harness, id: i64) -> &Value {
    &h.history[(id - 1) as usize].details
}

#[test]
fn pass_assign_reads_the_result_and_records_compact_json_texts() {
    // Recorded on AWS (test_task_dataflow_to_state, first state): `$` in Assign is the Pass result.
    let h = Harness::start(
        json!({"StartAt": "StateJsonPath", "States": {"StateJsonPath": {"Type": "Pass",
            "Result": {"riddle": "What is it?"}, "ResultPath": "$.enigma.mystery",
            "Assign": {"answer": 42, "inputData.$": "$"}, "End": true}}}),
        json!({"functionName": "f"}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "PassStateExited"),
            (4, 3, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        details(&h, 3),
        &json!({
            "name": "StateJsonPath",
            "output": "{\"functionName\":\"f\",\"enigma\":{\"mystery\":{\"riddle\":\"What is it?\"}}}",
            "outputDetails": {"truncated": false},
            "assignedVariables": {"answer": "42", "inputData": "{\"riddle\":\"What is it?\"}"},
            "assignedVariablesDetails": {"truncated": false},
        })
    );
}

#[test]
fn assign_values_without_dollar_keys_are_literals() {
    // Recorded on AWS (BASE_CONSTANT_LITERALS): strings that look like paths or expressions stay strings.
    let h = Harness::start(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {
            "s": "constant string", "n": 0.1, "b": true, "z": null,
            "list": [null, 0, 0.1, true, "$.no.such.path"], "path": "$varname", "expr": "{% $x %}",
            "obj": {"k.$": "$.v"}}, "End": true}}}),
        json!({"v": 5}),
    );
    assert_eq!(
        details(&h, 3)["assignedVariables"],
        json!({
            "s": "\"constant string\"", "n": "0.1", "b": "true", "z": "null",
            "list": "[null,0,0.1,true,\"$.no.such.path\"]", "path": "\"$varname\"",
            "expr": "\"{% $x %}\"", "obj": "{\"k\":5}",
        })
    );
}

#[test]
fn empty_assign_records_nothing() {
    let h = Harness::start(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {}, "End": true}}}),
        json!({}),
    );
    let exited = details(&h, 3).as_object().unwrap();
    assert!(!exited.contains_key("assignedVariables"));
    assert!(!exited.contains_key("assignedVariablesDetails"));
}

#[test]
fn task_assign_reads_the_selected_result_and_a_catcher_the_error_output() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": ACTIVITY, "ResultSelector": {"p.$": "$.payload"},
              "ResultPath": "$.r", "Assign": {"selected.$": "$", "p.$": "$.p"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"error.$": "$", "name.$": "$.Error"},
                         "ResultPath": "$.caught", "Next": "Caught"}],
              "End": true},
        "Caught": {"Type": "Succeed"}}});
    let mut h = Harness::start(def.clone(), json!({"in": 1}));
    let task = h.last_task();
    h.advance(&[
        started(&task),
        succeeded(&task, json!({"payload": 7, "other": 1})),
    ]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ActivityScheduled"),
            (4, 3, "ActivityStarted"),
            (5, 4, "ActivitySucceeded"),
            (6, 5, "TaskStateExited"),
            (7, 6, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        details(&h, 6)["assignedVariables"],
        json!({"selected": "{\"p\":7}", "p": "7"})
    );
    assert_eq!(h.output(), json!({"in": 1, "r": {"p": 7}}));

    // On the error path the catcher's Assign replaces the state's.
    let mut h = Harness::start(def, json!({"in": 1}));
    let task = h.last_task();
    h.advance(&[started(&task), failed(&task, "Boom", "it broke")]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ActivityScheduled"),
            (4, 3, "ActivityStarted"),
            (5, 4, "ActivityFailed"),
            (6, 5, "TaskStateExited"),
            (7, 6, "SucceedStateEntered"),
            (8, 7, "SucceedStateExited"),
            (9, 8, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        details(&h, 6)["assignedVariables"],
        json!({"error": "{\"Error\":\"Boom\",\"Cause\":\"it broke\"}", "name": "\"Boom\""})
    );
    assert_eq!(
        h.output(),
        json!({"in": 1, "caught": {"Error": "Boom", "Cause": "it broke"}})
    );
}

#[test]
fn choice_assigns_the_matching_rules_or_for_default_the_states() {
    // Recorded on AWS (choice_condition_jsonata): a rule's Assign when it matches, the state's on Default.
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "InputPath": "$.in",
              "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Assign": {"which": "rule", "seen.$": "$.n"}, "Next": "Done"}],
              "Default": "Done", "Assign": {"which": "default", "seen.$": "$"}},
        "Done": {"Type": "Succeed"}}});
    let h = Harness::start(def.clone(), json!({"in": {"n": 1}}));
    assert_eq!(h.types()[2], "ChoiceStateExited");
    assert_eq!(
        details(&h, 3)["assignedVariables"],
        json!({"which": "\"rule\"", "seen": "1"})
    );
    let h = Harness::start(def, json!({"in": {"n": 2}}));
    assert_eq!(
        details(&h, 3)["assignedVariables"],
        json!({"which": "\"default\"", "seen": "{\"n\":2}"})
    );
}

#[test]
fn wait_assigns_when_it_exits() {
    let mut h = Harness::start(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5,
            "Assign": {"waited.$": "$.s"}, "End": true}}}),
        json!({"s": "five"}),
    );
    assert!(h.outcome.is_none());
    h.later(5);
    assert_eq!(h.types()[1..3], ["WaitStateEntered", "WaitStateExited"]);
    assert_eq!(
        details(&h, 3)["assignedVariables"],
        json!({"waited": "\"five\""})
    );
}

/// The variables the stored execution state holds at the top level.
fn stored_root_variables(h: &Harness) -> Value {
    let stored = serde_json::to_value(&h.state).unwrap();
    stored["root"].get("vars").cloned().unwrap_or(json!({}))
}

#[test]
fn variables_are_part_of_the_stored_state_and_old_states_load() {
    let mut h = Harness::start(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1, "y": {"deep": [true]}}, "Next": "T"},
            "T": {"Type": "Task", "Resource": ACTIVITY, "Assign": {"x": 2}, "End": true}}}),
        json!({}),
    );
    // Mid-execution (the task waits), the stored form carries A's variables; the harness re-reads it at
    // every step.
    assert_eq!(
        stored_root_variables(&h),
        json!({"x": 1, "y": {"deep": [true]}})
    );
    let task = h.last_task();
    h.advance(&[succeeded(&task, json!({}))]);
    assert!(h.outcome.is_some());

    // A state stored before variables existed (no `vars` member anywhere) still loads and runs.
    let h = Harness::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACTIVITY, "End": true}}}),
        json!({}),
    );
    let stored = serde_json::to_value(&h.state).unwrap();
    assert!(stored["root"].get("vars").is_none(), "{stored}");
    let reloaded: ExecutionState = serde_json::from_value(stored).unwrap();
    assert_eq!(reloaded, h.state);
}

#[test]
fn branch_and_iteration_assignments_stay_in_their_scope() {
    let mut h = Harness::start(
        json!({"StartAt": "Top", "States": {
            "Top": {"Type": "Pass", "Assign": {"x": 42}, "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "Inner", "States": {
                    "Inner": {"Type": "Pass", "Assign": {"innerX.$": "$"}, "Next": "Work"},
                    "Work": {"Type": "Task", "Resource": ACTIVITY, "End": true}}},
                  "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [
                    {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Assign": {"branch": 1}, "End": true}}}],
                  "End": true}}}),
        json!([10, 20]),
    );
    let stored = serde_json::to_value(&h.state).unwrap();
    // The iterations hold their own assignments; the top level holds only its own.
    assert_eq!(stored_root_variables(&h), json!({"x": 42}));
    let text = stored.to_string();
    assert!(text.contains(r#""vars":{"innerX":10}"#), "{text}");
    assert!(text.contains(r#""vars":{"innerX":20}"#), "{text}");
    let tasks: Vec<String> = h
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::ScheduleActivity { task, .. } => Some(task.clone()),
            _ => None,
        })
        .collect();
    let signals: Vec<Signal> = tasks.iter().map(|t| succeeded(t, json!("ok"))).collect();
    h.advance(&signals);
    assert_eq!(h.output(), json!([["ok", "ok"]]));
    // The Exited events inside the iterations and the branch list their assignments.
    let assigned: Vec<(String, Value)> = h
        .history
        .iter()
        .filter(|e| e.details.get("assignedVariables").is_some())
        .map(|e| {
            (
                e.details["name"].as_str().unwrap().to_string(),
                e.details["assignedVariables"].clone(),
            )
        })
        .collect();
    assert_eq!(
        assigned,
        vec![
            ("Top".to_string(), json!({"x": "42"})),
            ("Inner".to_string(), json!({"innerX": "10"})),
            ("Inner".to_string(), json!({"innerX": "20"})),
            ("B1".to_string(), json!({"branch": "1"})),
        ]
    );
    assert_eq!(stored_root_variables(&h), json!({"x": 42}));
}

#[test]
fn a_variable_over_256_kib_fails_the_state_with_data_limit_exceeded() {
    let big = "x".repeat(MAX_VARIABLE_BYTES);
    let h = Harness::start(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"big.$": "$.big"}, "OutputPath": null, "End": true}}}),
        json!({"big": big}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "ExecutionFailed"),
        ])
    );
    let (error, cause) = h.failure();
    assert_eq!(error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        cause.as_deref(),
        Some("The variable 'big' assigned by the state 'A' has a size exceeding the maximum number of bytes service limit.")
    );

    // It is an ordinary error: a catcher sees it (on a Task, the only state here with Catch and no task
    // service needed, the value arrives as the task's result).
    let mut h = Harness::start(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": ACTIVITY, "Assign": {"big.$": "$"}, "ResultPath": null,
                  "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "End": true}}}),
        json!({}),
    );
    let task = h.last_task();
    // The state's output (its input: ResultPath null) is small; the variable's JSON text adds quotes.
    let value = "y".repeat(MAX_VARIABLE_BYTES - 1);
    h.advance(&[succeeded(&task, json!(value))]);
    assert_eq!(
        h.types()[4..],
        [
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn all_variables_together_are_limited_to_10_mib() {
    // 41 variables of just under 256 KiB each: the 41st assignment passes 10 MiB.
    let chunk = "z".repeat(MAX_VARIABLE_BYTES - 100);
    let mut states = serde_json::Map::new();
    for i in 0..41 {
        let next = if i == 40 {
            json!({"End": true})
        } else {
            json!({"Next": format!("S{}", i + 1)})
        };
        let mut state = json!({"Type": "Pass", "Assign": {format!("v{i}.$"): "$.chunk"}, "Parameters": {"chunk.$": "$.chunk"}});
        state
            .as_object_mut()
            .unwrap()
            .extend(next.as_object().unwrap().clone());
        states.insert(format!("S{i}"), state);
    }
    let h = Harness::start(
        json!({"StartAt": "S0", "States": states}),
        json!({"chunk": chunk}),
    );
    let (error, cause) = h.failure();
    assert_eq!(error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        cause.as_deref(),
        Some("The variables assigned by the state 'S40' exceed the maximum total size of all variables of an execution.")
    );
    const { assert!(MAX_TOTAL_VARIABLE_BYTES / (MAX_VARIABLE_BYTES - 100) == 40) };
}

#[test]
fn every_field_of_a_state_reads_the_values_from_before_it() {
    // Recorded on AWS (BASE_EVALUATION_ORDER_PASS_STATE): OutputPath reads the old `answer`, and the state
    // assigns the new one.
    let h = Harness::start(
        json!({"StartAt": "State0", "States": {
            "State0": {"Type": "Pass", "Assign": {"answer": 42}, "Next": "State1"},
            "State1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer",
                       "OutputPath": "$answer", "Assign": {"answer": "<omitted>"}, "Next": "State2"},
            "State2": {"Type": "Pass", "Parameters": {"now.$": "$answer", "sum.$": "States.MathAdd($x, 1)"},
                       "Assign": {"x": 1, "y.$": "$x"}, "End": true}}}),
        json!({}),
    );
    assert_eq!(
        details(&h, 5),
        &json!({"name": "State1", "output": "42", "outputDetails": {"truncated": false},
                "assignedVariables": {"answer": "\"<omitted>\""},
                "assignedVariablesDetails": {"truncated": false}})
    );
    // State2 reads `$x` before any state assigned it: a runtime failure, as a missing path is.
    assert_eq!(
        h.rows()[5..],
        rows(&[(6, 5, "PassStateEntered"), (7, 6, "ExecutionFailed")])
    );
    let (error, cause) = h.failure();
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    assert!(cause.unwrap().contains("'$x'"));
}

#[test]
fn variables_are_read_by_paths_templates_intrinsics_choice_wait_and_fail() {
    let def = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"guess": 7, "answer": 7, "delay": 3, "list": [1, 2, 3],
                                             "errorVar": "Custom.Error", "who": {"name": "ann"}}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$guess", "NumericEqualsPath": "$answer", "Next": "Hold"}], "Default": "Wrong"},
        "Hold": {"Type": "Wait", "SecondsPath": "$delay", "Next": "Use"},
        "Use": {"Type": "Pass", "Parameters": {"name.$": "$who.name", "len.$": "States.ArrayLength($list)",
                                                "greeting.$": "States.Format('hi {}', $who.name)"},
                "Assign": {"greeting.$": "$.greeting"}, "Next": "Fanout"},
        "Fanout": {"Type": "Map", "ItemsPath": "$list", "ItemSelector": {"item.$": "$$.Map.Item.Value", "g.$": "$greeting"},
                   "ItemProcessor": {"StartAt": "Each", "States": {"Each": {"Type": "Pass", "End": true}}},
                   "ResultPath": "$.items", "Next": "Wrong"},
        "Wrong": {"Type": "Fail", "ErrorPath": "$errorVar", "CausePath": "States.Format('{} guessed', $who.name)"}}});
    let mut h = Harness::start(def, json!({}));
    assert_eq!(h.types().last().unwrap(), "WaitStateEntered");
    assert_eq!(h.wake_at, Some(h.now + Duration::seconds(3)));
    h.later(3);
    let exited_use = h
        .history
        .iter()
        .find(|e| e.event_type == "PassStateExited" && e.details["name"] == "Use")
        .unwrap();
    assert_eq!(
        exited_use.details["output"],
        json!("{\"name\":\"ann\",\"len\":3,\"greeting\":\"hi ann\"}")
    );
    let map_exited = h
        .history
        .iter()
        .find(|e| e.event_type == "MapStateExited")
        .unwrap();
    let output: Value =
        serde_json::from_str(map_exited.details["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output["items"],
        json!([{"item": 1, "g": "hi ann"}, {"item": 2, "g": "hi ann"}, {"item": 3, "g": "hi ann"}])
    );
    let (error, cause) = h.failure();
    assert_eq!(error.as_deref(), Some("Custom.Error"));
    assert_eq!(cause.as_deref(), Some("ann guessed"));
}

#[test]
fn iterations_and_branches_read_outer_variables_and_keep_their_own() {
    // Recorded on AWS (BASE_SCOPE_MAP): an inner Map reads `$bias` from the top and `$xCurrent` from the
    // outer iteration; after the Map, `$x` still reads 42 and the iterations' variables are gone.
    let def = json!({"StartAt": "Top", "States": {
        "Top": {"Type": "Pass", "Assign": {"x": 42, "bias": 100}, "Next": "Outer"},
        "Outer": {"Type": "Map", "ItemsPath": "$.rows",
            "ItemProcessor": {"StartAt": "Row", "States": {
                "Row": {"Type": "Pass", "Assign": {"xCurrent.$": "$.x", "x": -1}, "Next": "Inner"},
                "Inner": {"Type": "Map", "ItemsPath": "$.ys",
                    "ItemProcessor": {"StartAt": "Summate", "States": {
                        "Summate": {"Type": "Pass",
                            "Parameters": {"sum.$": "States.MathAdd(States.MathAdd($bias, $xCurrent), $)", "shadow.$": "$x"},
                            "End": true}}},
                    "End": true}}},
            "ResultPath": "$.sums", "Next": "Branches"},
        "Branches": {"Type": "Parallel", "ResultPath": "$.branches", "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B2"},
                                          "B2": {"Type": "Pass", "OutputPath": "$x", "End": true}}},
            {"StartAt": "C1", "States": {"C1": {"Type": "Pass", "OutputPath": "$x", "End": true}}}],
            "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"x.$": "$x", "sums.$": "$.sums", "branches.$": "$.branches"}, "Next": "Gone"},
        "Gone": {"Type": "Pass", "Parameters": {"v.$": "$xCurrent"}, "End": true}}});
    let h = Harness::start(
        def,
        json!({"rows": [{"x": 1, "ys": [10, 20]}, {"x": 2, "ys": [30]}]}),
    );
    let after = h
        .history
        .iter()
        .find(|e| e.event_type == "PassStateExited" && e.details["name"] == "After")
        .unwrap();
    let output: Value = serde_json::from_str(after.details["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output,
        json!({"x": 42,
               "sums": [[{"sum": 111, "shadow": -1}, {"sum": 121, "shadow": -1}], [{"sum": 132, "shadow": -1}]],
               "branches": [1, 42]})
    );
    // The last state reads a variable only the iterations had.
    let (error, cause) = h.failure();
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    assert!(cause.unwrap().contains("'$xCurrent'"));
}

#[test]
fn an_assign_path_that_finds_nothing_is_a_runtime_failure_catch_ignores() {
    let mut h = Harness::start(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": ACTIVITY, "Assign": {"x.$": "$.missing"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": true},
            "C": {"Type": "Succeed"}}}),
        json!({}),
    );
    let task = h.last_task();
    h.advance(&[succeeded(&task, json!({"present": 1}))]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ActivityScheduled"),
            (4, 3, "ActivitySucceeded"),
            (5, 4, "ExecutionFailed"),
        ])
    );
    assert_eq!(
        h.failure(),
        (
            Some("States.Runtime".into()),
            Some("An error occurred while executing the state 'T' (entered at the event id #2). The JSONPath '$.missing' specified for the field 'x.$' could not be found in the input '{\"present\":1}'".into())
        )
    );
}
