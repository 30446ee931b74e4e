//! The cases AWS recorded (localstack's `test_sfn_api_variable_references` snapshots, 2024-11-20): each
//! definition with the `variableReferences` DescribeStateMachine returned for it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::variable_references;

fn references(definition: Value) -> BTreeMap<String, Vec<String>> {
    variable_references(&definition.to_string())
}

fn expected(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(state, names)| {
            (
                state.to_string(),
                names.iter().map(|n| n.to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn a_dollar_key_reads_a_variable_a_plain_key_holds_a_literal() {
    let definition = json!({
        "StartAt": "State0",
        "States": {
            "State0": {"Type": "Pass", "Parameters": {"result": "$result"}, "Assign": {"result": "foobar"}, "Next": "State1"},
            "State1": {"Type": "Pass", "ResultPath": "$.result", "Parameters": {"result.$": "$result"}, "End": true}
        }
    });
    assert_eq!(references(definition), expected(&[("State1", &["result"])]));
}

#[test]
fn choice_operands_and_assign_reads_count_sorted() {
    let definition = json!({
        "StartAt": "Setup",
        "States": {
            "Setup": {"Type": "Pass", "Assign": {"guess": "the_guess", "answer": "the_answer"}, "Next": "CheckAnswer"},
            "CheckAnswer": {
                "Type": "Choice",
                "Choices": [{"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "CorrectAnswer"}],
                "Default": "WrongAnswer"
            },
            "CorrectAnswer": {"Type": "Pass", "Result": {"state": "CORRECT"}, "End": true},
            "WrongAnswer": {"Type": "Pass", "Assign": {"guess.$": "$answer"}, "Result": {"state": "WRONG"}, "Next": "CheckAnswer"}
        }
    });
    assert_eq!(
        references(definition),
        expected(&[
            ("CheckAnswer", &["answer", "guess"]),
            ("WrongAnswer", &["answer"])
        ])
    );
}

#[test]
fn nested_map_states_are_listed_by_their_own_name() {
    let definition = json!({
        "StartAt": "Input",
        "States": {
            "Input": {"Type": "Pass", "Result": [[9, 44, 6]], "Assign": {"bias": 4.3}, "Next": "IterateLevels"},
            "IterateLevels": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "AssignCurrentVector",
                    "States": {
                        "AssignCurrentVector": {
                            "Type": "Pass",
                            "Assign": {"xCurrent.$": "$[0]", "yCurrent.$": "$[1]", "zCurrent.$": "$[2]"},
                            "Next": "Calculate"
                        },
                        "Calculate": {
                            "Type": "Map",
                            "MaxConcurrency": 1,
                            "ItemProcessor": {
                                "ProcessorConfig": {"Mode": "INLINE"},
                                "StartAt": "Summate",
                                "States": {
                                    "Summate": {
                                        "Type": "Pass",
                                        "Assign": {"Sum.$": "States.MathAdd(States.MathAdd(States.MathAdd($yCurrent, $xCurrent), $zCurrent), $bias)"},
                                        "End": true
                                    }
                                }
                            },
                            "End": true
                        }
                    }
                },
                "End": true
            }
        }
    });
    assert_eq!(
        references(definition),
        expected(&[("Summate", &["bias", "xCurrent", "yCurrent", "zCurrent"])])
    );
}

#[test]
fn input_output_wait_and_fail_paths_read_variables() {
    let definition = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"theAnswer": 42, "waitTime": 0, "errorVar": "E", "causeVar": "C"}, "Next": "B"},
            "B": {"Type": "Pass", "InputPath": "$theAnswer", "Next": "C"},
            "C": {"Type": "Pass", "OutputPath": "$theAnswer", "Next": "W"},
            "W": {"Type": "Wait", "SecondsPath": "$waitTime", "Next": "Fail"},
            "Fail": {"Type": "Fail", "CausePath": "$causeVar", "ErrorPath": "$errorVar"}
        }
    });
    assert_eq!(
        references(definition),
        expected(&[
            ("B", &["theAnswer"]),
            ("C", &["theAnswer"]),
            ("Fail", &["causeVar", "errorVar"]),
            ("W", &["waitTime"]),
        ])
    );
}

#[test]
fn intrinsic_arguments_read_variables_once_each() {
    let definition = json!({
        "StartAt": "State0",
        "States": {
            "State0": {"Type": "Pass", "Assign": {"rawString": "Hello", "value1": 5, "value2": 3, "name": "J", "place": "L"}, "Next": "State1"},
            "State1": {
                "Type": "Pass",
                "Parameters": {
                    "encodingOps": {"encoded.$": "States.Base64Encode($rawString)"},
                    "mathOps": {"sum.$": "States.MathAdd($value1, $value2)", "again.$": "States.MathAdd($value1, $value1)"},
                    "stringOps": {"formattedString.$": "States.Format('Hello {}, welcome to {}!', $name, $place)"},
                    "uuidOp": {"uniqueId.$": "States.UUID()"}
                },
                "End": true
            }
        }
    });
    assert_eq!(
        references(definition),
        expected(&[(
            "State1",
            &["name", "place", "rawString", "value1", "value2"]
        )])
    );
}

#[test]
fn no_member_when_nothing_reads_a_variable() {
    // Assign reading only the state's data (`$.x`) and intrinsics on `$.x` are no variable reads.
    let definition = json!({
        "StartAt": "State0",
        "States": {
            "State0": {"Type": "Pass", "Parameters": {"input": "PENDING"}, "Assign": {"result.$": "$.input"}, "Next": "State1"},
            "State1": {"Type": "Pass", "Assign": {"result": "SUCCESS", "originalResult.$": "States.ArrayLength($.input)"}, "End": true}
        }
    });
    assert!(references(definition).is_empty());
}

#[test]
fn map_paths_item_selector_and_item_reader_belong_to_the_map_state() {
    let definition = json!({
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Assign": {"Question": "Q", "PokemonList": ["a"], "AnswerTemplate": "It's {}!", "maxItems": "2", "toleratedFailureCount": "1", "toleratedFailurePercentage": "1"}, "Next": "MapIterateState"},
            "MapIterateState": {
                "Type": "Map",
                "ItemsPath": "$PokemonList",
                "MaxConcurrencyPath": "$PokemonList",
                "ItemSelector": {"AnnouncePokemon.$": "States.Format($AnswerTemplate, $$.Map.Item.Value)", "bucketName": "$bucket"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Pass",
                    "States": {"Pass": {"Type": "Pass", "Parameters": {"Question.$": "$Question", "Answer.$": "$.AnnouncePokemon"}, "End": true}}
                },
                "Next": "Distributed"
            },
            "Distributed": {
                "Type": "Map",
                "ItemReader": {
                    "ReaderConfig": {"InputType": "JSON", "MaxItemsPath": "$maxItems"},
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"}
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "PassItem",
                    "States": {"PassItem": {"Type": "Pass", "End": true}}
                },
                "ToleratedFailurePercentagePath": "$toleratedFailurePercentage",
                "ToleratedFailureCountPath": "$toleratedFailureCount",
                "End": true
            }
        }
    });
    assert_eq!(
        references(definition),
        expected(&[
            (
                "Distributed",
                &[
                    "maxItems",
                    "toleratedFailureCount",
                    "toleratedFailurePercentage"
                ]
            ),
            ("MapIterateState", &["AnswerTemplate", "PokemonList"]),
            ("Pass", &["Question"]),
        ])
    );
}

#[test]
fn jsonata_reads_variables_but_not_states_nor_functions() {
    // AWS recorded no member for the first two (only `$states` and `$not` are read).
    let choice = json!({
        "StartAt": "CheckResult",
        "States": {
            "CheckResult": {
                "Type": "Choice",
                "QueryLanguage": "JSONata",
                "Choices": [
                    {"Condition": "{% $states.input.result.done %}", "Next": "FinishTrue"},
                    {"Condition": "{% $not($states.input.result.done) %}", "Next": "FinishFalse"}
                ]
            },
            "FinishTrue": {"End": true, "Type": "Pass"},
            "FinishFalse": {"End": true, "Type": "Pass"}
        }
    });
    assert!(references(choice).is_empty());
    let constant = json!({
        "StartAt": "ChoiceState",
        "States": {
            "ChoiceState": {"Type": "Choice", "QueryLanguage": "JSONata", "Choices": [{"Condition": true, "Next": "T"}], "Default": "F"},
            "T": {"Type": "Pass", "End": true},
            "F": {"Type": "Fail", "Cause": "Condition is false"}
        }
    });
    assert!(references(constant).is_empty());

    // Inherited from the machine; bound names (`:=`, lambda parameters) are the expression's own.
    let machine = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1, "y": [1, 2]}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "Output": {"sum": "{% $x + $sum($map($y, function($v) { $v * $factor })) %}", "kept": "{% ($t := 2; $t) %}"},
                "Assign": {"z": "{% $states.input.a & $label %}"},
                "Next": "P"
            },
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Output": "{% $x %}", "End": true}}}],
                "End": true
            }
        }
    });
    assert_eq!(
        references(machine),
        expected(&[("B", &["factor", "label", "x", "y"]), ("Inner", &["x"])])
    );
}
