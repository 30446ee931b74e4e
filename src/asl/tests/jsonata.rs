//! JSONata states through the engine: each field in JSONata form, `$states`, variables, and
//! `States.QueryEvaluationError` with its `EvaluationFailed` event, histories checked event by event.

use super::*;

fn details(h: &Harness, id: i64) -> &Value {
    &h.history[(id - 1) as usize].details
}

fn jsonata(states: Value) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": states})
}

#[test]
fn pass_output_reads_states_input_context_and_variables_and_assigns() {
    let h = Harness::start(
        jsonata(json!({
            "A": {"Type": "Pass", "Assign": {"price": "{% $states.input.price %}", "n": 3, "label": "{% 'x' & 'y' %}"},
                  "Next": "B"},
            "B": {"Type": "Pass",
                  "Output": {"total": "{% $price * $n %}", "name": "{% $states.context.Execution.Name %}",
                             "state": "{% $states.context.State.Name %}", "literal": " {% 1 %} ", "keep.$": "$"},
                  "Assign": {"price": "{% $price + 1 %}", "seen": "{% $price %}"},
                  "End": true}})),
        json!({"price": 2.5}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "PassStateExited"),
            (4, 3, "PassStateEntered"),
            (5, 4, "PassStateExited"),
            (6, 5, "ExecutionSucceeded"),
        ])
    );
    assert_eq!(
        details(&h, 3)["assignedVariables"],
        json!({"price": "2.5", "n": "3", "label": "\"xy\""})
    );
    // Output and Assign both read the values from before the state.
    assert_eq!(
        details(&h, 5)["assignedVariables"],
        json!({"price": "3.5", "seen": "2.5"})
    );
    assert_eq!(
        h.output(),
        json!({"total": 7.5, "name": "e1", "state": "B", "literal": " {% 1 %} ", "keep.$": "$"})
    );
}

#[test]
fn a_jsonpath_machine_may_switch_one_state_to_jsonata_and_variables_cross() {
    let h = Harness::start(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": {"riddle": "r"}, "ResultPath": "$.enigma", "Assign": {"answer": 42}, "Next": "J"},
            "J": {"Type": "Pass", "QueryLanguage": "JSONata",
                  "Output": {"q": "{% $states.input.enigma.riddle %}", "a": "{% $answer %}"}, "Next": "Back"},
            "Back": {"Type": "Pass", "Parameters": {"q.$": "$.q", "a.$": "$answer"}, "End": true}}}),
        json!({}),
    );
    assert_eq!(h.output(), json!({"q": "r", "a": 42}));
}

#[test]
fn task_arguments_timeouts_result_output_and_assign() {
    let mut h = Harness::start(
        jsonata(json!({
            "A": {"Type": "Task", "Resource": ACTIVITY,
                  "Arguments": {"order": "{% $states.input.id %}", "fixed": [1, "{% 1 + 1 %}"]},
                  "TimeoutSeconds": "{% $states.input.limit %}", "HeartbeatSeconds": 5,
                  "Output": {"got": "{% $states.result.value %}", "input": "{% $states.input.id %}"},
                  "Assign": {"last": "{% $states.result %}"},
                  "End": true}})),
        json!({"id": "o-1", "limit": 60}),
    );
    assert_eq!(
        details(&h, 3),
        &json!({"resource": ACTIVITY, "input": "{\"order\":\"o-1\",\"fixed\":[1,2]}",
                "inputDetails": {"truncated": false}, "timeoutInSeconds": 60, "heartbeatInSeconds": 5})
    );
    let task = h.last_task();
    h.advance(&[started(&task), succeeded(&task, json!({"value": 9}))]);
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
        json!({"last": "{\"value\":9}"})
    );
    assert_eq!(h.output(), json!({"got": 9, "input": "o-1"}));
}

#[test]
fn task_output_defaults_to_the_result() {
    let mut h = Harness::start(
        jsonata(json!({"A": {"Type": "Task", "Resource": ACTIVITY, "End": true}})),
        json!({"in": 1}),
    );
    let task = h.last_task();
    h.advance(&[succeeded(&task, json!([1, 2]))]);
    assert_eq!(h.output(), json!([1, 2]));
}

#[test]
fn choice_condition_takes_the_rules_output_and_assign_or_the_states_on_default() {
    // Recorded on AWS (choice_condition_jsonata): the matching rule's Output/Assign, the state's on Default.
    let def = jsonata(json!({
        "A": {"Type": "Choice", "Choices": [
                {"Condition": "{% $states.input.n > 5 %}", "Next": "Done",
                 "Output": "Condition Output block", "Assign": {"a": "Condition assignment"}}],
              "Default": "Done", "Output": "Default Output block", "Assign": {"a": "Default Assignment"}},
        "Done": {"Type": "Succeed"}}));
    let h = Harness::start(def.clone(), json!({"n": 6}));
    assert_eq!(h.output(), json!("Condition Output block"));
    assert_eq!(
        details(&h, 3)["assignedVariables"],
        json!({"a": "\"Condition assignment\""})
    );
    let h = Harness::start(def, json!({"n": 1}));
    assert_eq!(h.output(), json!("Default Output block"));
    assert_eq!(
        details(&h, 3)["assignedVariables"],
        json!({"a": "\"Default Assignment\""})
    );

    // A Condition that is not a boolean fails the state.
    let h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "D"}], "Default": "D"},
                       "D": {"Type": "Succeed"}}),
        ),
        json!({"n": 6}),
    );
    assert_eq!(
        h.failure(),
        (
            Some("States.QueryEvaluationError".into()),
            Some("An error occurred while executing the state 'A' (entered at the event id #2). The JSONata expression '$states.input.n' specified for the field 'Choices[0]/Condition' returned an unexpected result type. Expected 'boolean', but was 'number' for value: 6".into())
        )
    );
}

#[test]
fn wait_seconds_and_timestamp_expressions() {
    let mut h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Wait", "Seconds": "{% $states.input.s * 2 %}",
                             "Output": {"waited": "{% $states.input.s %}"}, "Assign": {"w": true}, "Next": "B"},
                       "B": {"Type": "Wait", "Timestamp": "{% $states.input.at %}", "End": true}}),
        ),
        json!({"s": 5, "at": "2024-01-01T00:01:00Z"}),
    );
    assert_eq!(h.wake_at, Some(h.now + Duration::seconds(10)));
    h.later(10);
    assert_eq!(details(&h, 3)["assignedVariables"], json!({"w": "true"}));
    // B's input is A's output, which has no `at`: the expression yields nothing.
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "WaitStateEntered"),
            (3, 2, "WaitStateExited"),
            (4, 3, "WaitStateEntered"),
            (5, 3, "EvaluationFailed"),
            (6, 5, "ExecutionFailed"),
        ])
    );
    assert_eq!(
        details(&h, 5),
        &json!({"error": "States.QueryEvaluationError", "state": "B", "location": "Timestamp",
                "cause": "An error occurred while executing the state 'B' (entered at the event id #4). The JSONata expression '$states.input.at' specified for the field 'Timestamp' returned nothing (undefined)."})
    );

    let h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Wait", "Timestamp": "{% '2016-03-14 01:59:00Z' %}", "End": true}}),
        ),
        json!({}),
    );
    assert_eq!(
        h.failure().1.as_deref(),
        Some("An error occurred while executing the state 'A' (entered at the event id #2). The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-03-14 01:59:00Z")
    );
}

#[test]
fn evaluation_failure_is_recorded_as_aws_does() {
    // Recorded on AWS: Pass State2 with `"Output": {"result": "{% $doesNotExist %}"}` after two Pass states.
    let h = Harness::start(
        json!({"QueryLanguage": "JSONata", "StartAt": "State0", "States": {
            "State0": {"Type": "Pass", "Next": "State1"},
            "State1": {"Type": "Pass", "Next": "State2"},
            "State2": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}}}),
        json!({}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "PassStateExited"),
            (4, 3, "PassStateEntered"),
            (5, 4, "PassStateExited"),
            (6, 5, "PassStateEntered"),
            (7, 5, "EvaluationFailed"),
            (8, 7, "ExecutionFailed"),
        ])
    );
    let cause = "An error occurred while executing the state 'State2' (entered at the event id #6). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).";
    assert_eq!(
        details(&h, 7),
        &json!({"error": "States.QueryEvaluationError", "location": "Output/result", "state": "State2", "cause": cause})
    );
    assert_eq!(
        details(&h, 8),
        &json!({"error": "States.QueryEvaluationError", "cause": cause})
    );
}

#[test]
fn query_evaluation_errors_are_retried_and_caught_with_error_output() {
    let mut h = Harness::start(
        jsonata(json!({
            "A": {"Type": "Task", "Resource": ACTIVITY,
                  "Output": "{% $eval('1') %}",
                  "Retry": [{"ErrorEquals": ["States.QueryEvaluationError"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught",
                             "Output": {"caught": "{% $states.errorOutput.Error %}", "in": "{% $states.input.x %}"},
                             "Assign": {"why": "{% $states.errorOutput.Cause %}"}}],
                  "End": true},
            "Caught": {"Type": "Pass", "Output": {"why": "{% $why %}", "was": "{% $states.input %}"}, "End": true}})),
        json!({"x": 1}),
    );
    let task = h.last_task();
    h.advance(&[succeeded(&task, json!({}))]);
    h.later(1);
    let task = h.last_task();
    h.advance(&[succeeded(&task, json!({}))]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ActivityScheduled"),
            (4, 3, "ActivitySucceeded"),
            (5, 0, "EvaluationFailed"),
            (6, 5, "ActivityScheduled"),
            (7, 6, "ActivitySucceeded"),
            (8, 0, "EvaluationFailed"),
            (9, 8, "TaskStateExited"),
            (10, 9, "PassStateEntered"),
            (11, 10, "PassStateExited"),
            (12, 11, "ExecutionSucceeded"),
        ])
    );
    let cause = "An error occurred while executing the state 'A' (entered at the event id #2). The JSONata expression '$eval('1')' specified for the field 'Output' threw an error during evaluation. T1006: Attempted to invoke a non-function";
    assert_eq!(
        details(&h, 9)["assignedVariables"],
        json!({"why": serde_json::to_string(cause).unwrap()})
    );
    assert_eq!(
        h.output(),
        json!({"why": cause, "was": {"caught": "States.QueryEvaluationError", "in": 1}})
    );
}

#[test]
fn map_items_item_selector_and_max_concurrency() {
    let mut def = jsonata(json!({
        "Init": {"Type": "Pass", "Assign": {"k": 7}, "Next": "A"},
        "A": {"Type": "Map", "Items": "{% $states.input.list %}",
              "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}", "k": "{% $k %}"},
              "MaxConcurrency": "{% 1 %}",
              "ItemProcessor": {"StartAt": "Each", "States": {
                  "Each": {"Type": "Pass", "Output": {"v": "{% $states.input.v %}", "k": "{% $k %}", "i": "{% $states.input.i %}"}, "End": true}}},
              "Output": {"results": "{% $states.result %}"},
              "End": true}}));
    def["StartAt"] = json!("Init");
    let h = Harness::start(def, json!({"list": ["a", "b"]}));
    assert_eq!(
        h.output(),
        json!({"results": [{"v": "a", "k": 7, "i": 0}, {"v": "b", "k": 7, "i": 1}]})
    );
    // MaxConcurrency 1: the second iteration starts after the first one's last event.
    let types = h.types();
    assert_eq!(
        types[3..],
        [
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );

    // Without Items the input must be an array.
    let h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Map", "ItemProcessor": {"StartAt": "E", "States": {"E": {"Type": "Pass", "End": true}}}, "End": true}}),
        ),
        json!({"not": "a list"}),
    );
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "MapStateEntered"),
            (3, 0, "EvaluationFailed"),
            (4, 3, "ExecutionFailed")
        ])
    );
    assert_eq!(
        details(&h, 3),
        &json!({"error": "States.QueryEvaluationError", "state": "A",
                "cause": "An error occurred while executing the state 'A' (entered at the event id #2). Map state input must be an array but was: {\"not\":\"a list\"}"})
    );
    // Items of the wrong type.
    let h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Map", "Items": "{% 1 %}", "ItemProcessor": {"StartAt": "E", "States": {"E": {"Type": "Pass", "End": true}}}, "End": true}}),
        ),
        json!({}),
    );
    assert_eq!(
        h.failure().1.as_deref(),
        Some("An error occurred while executing the state 'A' (entered at the event id #2). The JSONata expression '1' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 1")
    );
}

#[test]
fn map_tolerated_failures_from_expressions() {
    let h = Harness::start(
        jsonata(json!({
            "A": {"Type": "Map", "Items": [1, 0, 2], "ToleratedFailureCount": "{% 1 %}",
                  "ItemProcessor": {"StartAt": "Check", "States": {
                      "Check": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input = 0 %}", "Next": "Bad"}], "Default": "Ok"},
                      "Bad": {"Type": "Fail", "Error": "{% 'Zero' %}", "Cause": "{% 'item ' & $string($states.input) %}"},
                      "Ok": {"Type": "Pass", "End": true}}},
                  "End": true}})),
        json!({}),
    );
    assert_eq!(
        h.output(),
        json!([1, {"Error": "Zero", "Cause": "item 0"}, 2])
    );
}

#[test]
fn fail_error_and_cause_expressions() {
    let h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Pass", "Assign": {"code": "E42"}, "Next": "F"},
                       "F": {"Type": "Fail", "Error": "{% 'Custom.' & $code %}", "Cause": "{% $string($states.input) %}"}}),
        ),
        json!({"a": 1}),
    );
    assert_eq!(
        h.failure(),
        (Some("Custom.E42".into()), Some("{\"a\":1}".into()))
    );
    let h = Harness::start(
        jsonata(json!({"A": {"Type": "Fail", "Error": "{% 1 %}"}})),
        json!({}),
    );
    assert_eq!(
        h.failure().1.as_deref(),
        Some("An error occurred while executing the state 'A' (entered at the event id #2). The JSONata expression '1' specified for the field 'Error' returned an unexpected result type. Expected 'string', but was 'number' for value: 1")
    );
}

#[test]
fn parallel_arguments_feed_every_branch_and_output_reads_the_result() {
    let h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Parallel", "Arguments": {"n": "{% $states.input.n %}"},
            "Branches": [
                {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Output": "{% $states.input.n + 1 %}", "End": true}}},
                {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "Output": "{% $states.input.n * 10 %}", "End": true}}}],
            "Output": {"sum": "{% $sum($states.result) %}"}, "End": true}}),
        ),
        json!({"n": 2, "other": true}),
    );
    assert_eq!(h.output(), json!({"sum": 23}));
}

#[test]
fn randomness_comes_from_the_engines_entropy() {
    let def = jsonata(
        json!({"A": {"Type": "Pass", "Output": {"u": "{% $uuid() %}", "r": "{% $random() %}"}, "End": true}}),
    );
    let a = Harness::start(def.clone(), json!({}));
    let b = Harness::start(def, json!({}));
    // The harness seeds its random source the same way each time: same inputs, same history.
    assert_eq!(a.output(), b.output());
    assert!(a.output()["u"].as_str().unwrap().len() == 36);
}

#[test]
fn the_readme_jsonata_workflow_gives_what_the_readme_says() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Price", "States": {
        "Price": {"Type": "Pass", "Assign": {"total": "{% $sum($states.input.items.(price * qty)) %}"},
                  "Output": {"skus": "{% $states.input.items.sku %}"}, "Next": "Big?"},
        "Big?": {"Type": "Choice", "Choices": [{"Condition": "{% $total > 100 %}", "Next": "Big"}], "Default": "Small"},
        "Big": {"Type": "Pass", "Output": {"skus": "{% $states.input.skus %}", "total": "{% $total %}", "size": "big"}, "End": true},
        "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "{% \"total \" & $string($total) %}"}}});
    assert_eq!(
        crate::asl::validate_definition(&def.to_string(), false),
        Ok(())
    );
    let h = Harness::start(
        def.clone(),
        json!({"items": [{"sku": "a", "price": 60, "qty": 2}]}),
    );
    assert_eq!(
        h.output(),
        json!({"skus": "a", "total": 120, "size": "big"})
    );
    let h = Harness::start(def, json!({"items": [{"sku": "a", "price": 6, "qty": 2}]}));
    assert_eq!(
        h.failure(),
        (Some("TooSmall".into()), Some("total 12".into()))
    );
}

#[test]
fn a_failing_catcher_output_fails_the_execution_and_is_not_caught_again() {
    let mut h = Harness::start(
        jsonata(json!({
            "A": {"Type": "Task", "Resource": ACTIVITY,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B", "Output": "{% $states.errorOutput.Missing %}"}],
                  "End": true},
            "B": {"Type": "Succeed"}})),
        json!({}),
    );
    let task = h.last_task();
    h.advance(&[failed(&task, "Boom", "c")]);
    assert_eq!(
        h.rows(),
        rows(&[
            (1, 0, "ExecutionStarted"),
            (2, 0, "TaskStateEntered"),
            (3, 2, "ActivityScheduled"),
            (4, 3, "ActivityFailed"),
            (5, 0, "EvaluationFailed"),
            (6, 5, "ExecutionFailed"),
        ])
    );
    assert_eq!(details(&h, 5)["location"], json!("Catch[0]/Output"));
}

#[test]
fn wrong_types_for_numeric_fields_and_assign() {
    let h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Task", "Resource": ACTIVITY, "TimeoutSeconds": "{% 'soon' %}", "End": true}}),
        ),
        json!({}),
    );
    assert_eq!(
        h.failure().1.as_deref(),
        Some("An error occurred while executing the state 'A' (entered at the event id #2). The JSONata expression ''soon'' specified for the field 'TimeoutSeconds' returned an unexpected result type. Expected 'number', but was 'string' for value: \"soon\"")
    );
    let h = Harness::start(
        jsonata(
            json!({"A": {"Type": "Pass", "Assign": {"x": "{% $undefinedVariable %}"}, "End": true}}),
        ),
        json!({}),
    );
    assert_eq!(
        h.failure().1.as_deref(),
        Some("An error occurred while executing the state 'A' (entered at the event id #2). The JSONata expression '$undefinedVariable' specified for the field 'Assign/x' returned nothing (undefined).")
    );
}
