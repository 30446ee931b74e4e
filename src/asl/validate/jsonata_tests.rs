//! Validation of JSONata states: the language switch, the field matrix, expression syntax and `$states`.

use super::*;

const STANDARD: ValidationOptions = ValidationOptions { express: false };

fn diagnostics(definition: &str) -> Vec<String> {
    match validate(definition, &STANDARD) {
        Ok(_) => Vec::new(),
        Err(found) => found.iter().map(Diagnostic::to_string).collect(),
    }
}

fn jsonata(states: &str) -> String {
    format!(r#"{{"QueryLanguage":"JSONata","StartAt":"A","States":{{{states}}}}}"#)
}

#[test]
fn jsonata_fields_are_accepted_in_every_state_type() {
    let definition = jsonata(
        r#""A":{"Type":"Pass","Output":{"a":"{% $states.input.x %}","b":[1,"{% 2 %}"]},"Assign":{"x":"{% $states.context.Execution.Id %}"},"Next":"T"},
           "T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:a","Arguments":"{% $states.input %}",
                "TimeoutSeconds":"{% 10 %}","HeartbeatSeconds":5,"Output":"{% $states.result %}","Assign":{"r":"{% $states.result %}"},
                "Retry":[{"ErrorEquals":["States.QueryEvaluationError"]}],
                "Catch":[{"ErrorEquals":["States.ALL"],"Output":"{% $states.errorOutput %}","Assign":{"e":"{% $states.errorOutput.Error %}"},"Next":"C"}],"Next":"C"},
           "C":{"Type":"Choice","Choices":[{"Condition":"{% $x = 1 %}","Output":1,"Assign":{"y":1},"Next":"W"}],"Default":"W","Output":"{% $states.input %}"},
           "W":{"Type":"Wait","Seconds":"{% 1 %}","Next":"W2"},
           "W2":{"Type":"Wait","Timestamp":"{% $states.input.t %}","Next":"M"},
           "M":{"Type":"Map","Items":"{% [1,2] %}","ItemSelector":{"v":"{% $states.context.Map.Item.Value %}"},"MaxConcurrency":"{% 2 %}",
                "ToleratedFailureCount":"{% 0 %}","ToleratedFailurePercentage":10,
                "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"Next":"P"},
           "P":{"Type":"Parallel","Arguments":{"a":1},"Branches":[{"StartAt":"B","States":{"B":{"Type":"Succeed","Output":"{% $states.input.a %}"}}}],"Next":"F"},
           "F":{"Type":"Fail","Error":"{% 'E' %}","Cause":"literal"}"#,
    );
    assert_eq!(diagnostics(&definition), Vec::<String>::new());
    // A JSONPath machine may switch a state to JSONata; a JSONata Map's inner state may say JSONPath.
    let mixed = r#"{"StartAt":"A","States":{
        "A":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% 1 %}","Next":"M"},
        "M":{"Type":"Map","QueryLanguage":"JSONata","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","QueryLanguage":"JSONPath","Parameters":{"a.$":"$"},"End":true}}},"End":true}}}"#;
    assert_eq!(diagnostics(mixed), Vec::<String>::new());
}

#[test]
fn jsonata_errors_in_aws_words() {
    let rows: [(&str, String, &[&str]); 7] = [
        (
            "a JSONPath state in a JSONata machine (recorded on AWS)",
            jsonata(r#""A":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: 'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine at /States/A"],
        ),
        (
            "JSONPath fields in a JSONata state",
            jsonata(r#""A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:a","InputPath":"$","Parameters":{},"ResultSelector":{},"ResultPath":"$.r","OutputPath":"$","TimeoutSecondsPath":"$.t","End":true}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: Field 'InputPath' is not supported at /States/A",
                "SCHEMA_VALIDATION_FAILED: Field 'Parameters' is not supported at /States/A",
                "SCHEMA_VALIDATION_FAILED: Field 'ResultSelector' is not supported at /States/A",
                "SCHEMA_VALIDATION_FAILED: Field 'ResultPath' is not supported at /States/A",
                "SCHEMA_VALIDATION_FAILED: Field 'OutputPath' is not supported at /States/A",
                "SCHEMA_VALIDATION_FAILED: Field 'TimeoutSecondsPath' is not supported at /States/A",
            ],
        ),
        (
            "JSONata fields in a JSONPath state",
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:a","Arguments":{},"Output":{},"End":true}}}"#.to_string(),
            &[
                "SCHEMA_VALIDATION_FAILED: Field 'Arguments' is not supported at /States/A",
                "SCHEMA_VALIDATION_FAILED: Field 'Output' is not supported at /States/A",
            ],
        ),
        (
            "an expression that does not parse",
            jsonata(r#""A":{"Type":"Pass","Output":{"v":"{% $states.input. %}"},"End":true}"#),
            &["INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/A/Output/v"],
        ),
        (
            "a bare field name (reported on AWS)",
            jsonata(r#""A":{"Type":"Pass","Output":{"v":"{% phone %}"},"End":true}"#),
            &["UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported. at /States/A/Output/v"],
        ),
        (
            "$states.result and $states.errorOutput where they do not exist",
            jsonata(r#""A":{"Type":"Pass","Output":"{% $states.result %}","Assign":{"e":"{% $states.errorOutput %}"},"End":true}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: The JSONata expression reads '$states.result', which does not exist in this field at /States/A/Output",
                "SCHEMA_VALIDATION_FAILED: The JSONata expression reads '$states.errorOutput', which does not exist in this field at /States/A/Assign",
            ],
        ),
        (
            "a JSONata Choice rule needs Condition; JSONPath operators are not supported",
            jsonata(r#""A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"B"}],"Default":"B"},"B":{"Type":"Succeed"}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: The field 'Condition' is required but was missing at /States/A/Choices/0",
                "SCHEMA_VALIDATION_FAILED: Field 'Variable' is not supported at /States/A/Choices/0",
                "SCHEMA_VALIDATION_FAILED: Field 'IsPresent' is not supported at /States/A/Choices/0",
            ],
        ),
    ];
    for (rule, definition, expected) in rows {
        assert_eq!(diagnostics(&definition), expected, "rule: {rule}");
    }
}
