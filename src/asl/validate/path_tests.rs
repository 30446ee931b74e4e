//! JSONPath shapes AWS accepts (Jayway's grammar, variables, `$$` in Choice `…Path` operands), checked as whole
//! definitions through the public entry point [`crate::asl::validate_definition`].

use crate::asl::validate_definition;

/// A machine whose state `A` has the given fields and ends.
fn pass_with(fields: &str) -> String {
    format!(r#"{{"StartAt":"A","States":{{"A":{{"Type":"Pass",{fields},"End":true}}}}}}"#)
}

fn choice_with(rule: &str) -> String {
    format!(
        r#"{{"StartAt":"A","States":{{"A":{{"Type":"Choice","Choices":[{rule}],"Default":"B"}},"B":{{"Type":"Succeed"}}}}}}"#
    )
}

#[test]
fn public_sample_shapes_validate() {
    let definitions = [
        ("dot before bracket", pass_with(r#""InputPath":"$.[0]""#)),
        (
            "dot before bracket mid-path",
            pass_with(r#""OutputPath":"$.Snapshots.[0].State""#),
        ),
        (
            "several names after a wildcard",
            pass_with(r#""Parameters":{"objects.$":"$.[*].['bucket', 'key']"}"#),
        ),
        (
            "intrinsic over a dot-bracket path",
            pass_with(r#""Parameters":{"body.$":"States.StringToJson($.[0].body)"}"#),
        ),
        (
            "filter with a bare word",
            pass_with(r#""Parameters":{"receipt.$":"$.Labels[?(@.Name==Receipt)]"}"#),
        ),
        (
            "a Jayway function (fails when read, as on AWS)",
            pass_with(r#""Parameters":{"Jobs.$":"$.Jobs.sum()"}"#),
        ),
        (
            "context path in a Choice Path operator",
            choice_with(
                r#"{"Variable":"$.votes","NumericGreaterThanEqualsPath":"$$.Execution.Input.quorum","Next":"B"}"#,
            ),
        ),
        (
            "context path as a Choice Variable",
            choice_with(r#"{"Variable":"$$.Execution.Input.mode","StringEquals":"x","Next":"B"}"#),
        ),
    ];
    for (shape, definition) in definitions {
        assert_eq!(
            validate_definition(&definition, false),
            Ok(()),
            "{shape}: {definition}"
        );
    }
}

#[test]
fn variable_paths_validate_where_a_path_is_read() {
    let definitions = [
        pass_with(r#""InputPath":"$order""#),
        pass_with(r#""OutputPath":"$order.items[0]""#),
        pass_with(r#""Parameters":{"id.$":"$order.id","msg.$":"States.Format('{}', $who)"}"#),
        choice_with(r#"{"Variable":"$guess","NumericEqualsPath":"$answer","Next":"B"}"#),
        choice_with(r#"{"Not":{"Variable":"$guess","IsPresent":true},"Next":"B"}"#),
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$delay","End":true}}}"#.to_string(),
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$errorVar","CausePath":"$causeVar"}}}"#
            .to_string(),
    ];
    for definition in definitions {
        assert_eq!(
            validate_definition(&definition, false),
            Ok(()),
            "{definition}"
        );
    }
}

#[test]
fn paths_aws_refuses_stay_refused() {
    let definitions = [
        // A variable is never a ResultPath target, nor is the Context object.
        (
            pass_with(r#""ResultPath":"$result""#),
            "The value for the field 'ResultPath' must be a valid ReferencePath at /States/A/ResultPath",
        ),
        (
            pass_with(r#""ResultPath":"$$.x""#),
            "The value for the field 'ResultPath' must be a valid ReferencePath at /States/A/ResultPath",
        ),
        // A `…Path` operand still selects one node.
        (
            choice_with(r#"{"Variable":"$.a","NumericEqualsPath":"$$.Execution.Input[*]","Next":"B"}"#),
            "The value for the field 'NumericEqualsPath' must be a valid ReferencePath at /States/A/Choices/0/NumericEqualsPath",
        ),
        (
            pass_with(r#""InputPath":"$1x""#),
            "The value for the field 'InputPath' must be a valid JSONPath at /States/A/InputPath",
        ),
        (
            pass_with(r#""InputPath":"$..[""#),
            "The value for the field 'InputPath' must be a valid JSONPath at /States/A/InputPath",
        ),
    ];
    for (definition, diagnostic) in definitions {
        let message = validate_definition(&definition, false).unwrap_err();
        assert!(message.contains(diagnostic), "{definition}: {message}");
    }
}
