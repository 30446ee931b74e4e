//! Public sample definitions' JSONPath shapes, run through the engine: Jayway's `.[` steps, several names after a
//! wildcard, intrinsics over such paths, `$$` in Choice `…Path` operands, and a filter with a bare word (which Jayway
//! cannot compile, so reading it fails at run time).

use super::*;

#[test]
fn dot_bracket_paths_read_as_jayway_does() {
    let definition = json!({
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "Parameters": {
                    "first.$": "$.Records.[0].s3.object.key",
                    "objects.$": "$.Records.[*].s3.['bucket', 'key']",
                    "body.$": "States.StringToJson($.Records.[0].body)"
                },
                "OutputPath": "$.[*]",
                "End": true
            }
        }
    });
    let input = json!({"Records": [
        {"s3": {"bucket": "b1", "key": "k1", "object": {"key": "o1"}}, "body": "{\"n\":1}"},
        {"s3": {"bucket": "b2", "key": "k2", "object": {"key": "o2"}}, "body": "{}"}
    ]});
    let h = Harness::start(definition, input);
    assert_eq!(
        h.output(),
        json!([
            "o1",
            [{"bucket": "b1", "key": "k1"}, {"bucket": "b2", "key": "k2"}],
            {"n": 1}
        ])
    );
}

#[test]
fn choice_path_operands_read_the_context_object() {
    let definition = json!({
        "StartAt": "Enough",
        "States": {
            "Enough": {
                "Type": "Choice",
                "Choices": [{
                    "Variable": "$.votes",
                    "NumericGreaterThanEqualsPath": "$$.Execution.Input.quorum",
                    "Next": "Yes"
                }],
                "Default": "No"
            },
            "Yes": {"Type": "Pass", "Result": "yes", "End": true},
            "No": {"Type": "Pass", "Result": "no", "End": true}
        }
    });
    for (votes, expected) in [(3, "yes"), (2, "no")] {
        let h = Harness::start(definition.clone(), json!({"votes": votes, "quorum": 3}));
        assert_eq!(h.output(), json!(expected), "votes {votes}");
    }
}

#[test]
fn a_bare_word_filter_fails_when_read_with_jayways_compile_error() {
    let definition = json!({
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Pass",
                "Parameters": {"receipt.$": "$.Labels[?(@.Name==Receipt)]"},
                "End": true
            }
        }
    });
    let h = Harness::start(
        definition,
        json!({"Labels": [{"Name": "Receipt"}, {"Name": "Other"}]}),
    );
    let (error, cause) = h.failure();
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    assert!(
        cause
            .as_deref()
            .is_some_and(|c| c.contains("$.Labels[?(@.Name==Receipt)]")),
        "{cause:?}"
    );
}
