//! Validation of workflow variables (`Assign`) in JSONPath states.

use super::*;

const STANDARD: ValidationOptions = ValidationOptions { express: false };

fn machine(states: &str) -> String {
    format!(r#"{{"StartAt":"A","States":{{{states}}}}}"#)
}

fn diagnostics(definition: &str) -> Vec<String> {
    match validate(definition, &STANDARD) {
        Ok(_) => Vec::new(),
        Err(found) => found.iter().map(Diagnostic::to_string).collect(),
    }
}

#[test]
fn assign_is_accepted_where_aws_allows_it() {
    let definitions = [machine(
        r#""A":{"Type":"Pass","Assign":{"n":1,"s":"$.literal","o":{"k":[1]},"p.$":"$.a","c.$":"$$.Execution.Id","f.$":"States.Format('x{}', $.a)"},"Next":"B"},
               "B":{"Type":"Wait","Seconds":0,"Assign":{},"Next":"C"},
               "C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Assign":{"r":1},"Next":"D"}],"Default":"D","Assign":{"d":2}},
               "D":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:a","Assign":{"t.$":"$"},
                    "Catch":[{"ErrorEquals":["States.ALL"],"Assign":{"err.$":"$.Error"},"Next":"E"}],"Next":"E"},
               "E":{"Type":"Parallel","Assign":{"_x1":1},"Branches":[{"StartAt":"F","States":{"F":{"Type":"Pass","Assign":{"in":1},"End":true}}}],"Next":"G"},
               "G":{"Type":"Map","Assign":{"ü":1},"ItemProcessor":{"StartAt":"H","States":{"H":{"Type":"Pass","End":true}}},"End":true}"#,
    )];
    for definition in definitions {
        assert_eq!(
            diagnostics(&definition),
            Vec::<String>::new(),
            "{definition}"
        );
    }
}

#[test]
fn assign_errors_are_reported_where_they_are() {
    let rows: [(&str, String, &[&str]); 7] = [
        (
            "Succeed takes no Assign",
            machine(r#""A":{"Type":"Succeed","Assign":{"x":1}}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Assign' is not supported at /States/A"],
        ),
        (
            "Fail takes no Assign",
            machine(r#""A":{"Type":"Fail","Assign":{"x":1}}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Assign' is not supported at /States/A"],
        ),
        (
            "states is reserved",
            machine(r#""A":{"Type":"Pass","Assign":{"states":1},"Next":"B"},"B":{"Type":"Pass","Assign":{"states.$":"$"},"End":true}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: The variable name 'states' is reserved and cannot be assigned at /States/A/Assign/states",
                "SCHEMA_VALIDATION_FAILED: The variable name 'states' is reserved and cannot be assigned at /States/B/Assign/states.$",
            ],
        ),
        (
            "names are identifiers",
            machine(r#""A":{"Type":"Pass","Assign":{"1x":1,"a-b":2,"":3},"End":true}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: The variable name '1x' is not valid: it must start with a letter or '_' and hold only letters, digits and '_' at /States/A/Assign/1x",
                "SCHEMA_VALIDATION_FAILED: The variable name 'a-b' is not valid: it must start with a letter or '_' and hold only letters, digits and '_' at /States/A/Assign/a-b",
                "SCHEMA_VALIDATION_FAILED: The variable name '' is not valid: it must start with a letter or '_' and hold only letters, digits and '_' at /States/A/Assign/",
            ],
        ),
        (
            "Assign is an object",
            machine(r#""A":{"Type":"Pass","Assign":[1],"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States/A/Assign"],
        ),
        (
            "a .$ value must be a path or intrinsic",
            machine(r#""A":{"Type":"Pass","Assign":{"x.$":"nope"},"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call at /States/A/Assign"],
        ),
        (
            "a nested Choice rule takes no Assign",
            machine(
                r#""A":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsPresent":true,"Assign":{"x":1}},"Next":"B"}],"Default":"B"},"B":{"Type":"Succeed"}"#,
            ),
            &["SCHEMA_VALIDATION_FAILED: Field 'Assign' is not supported at /States/A/Choices/0/Not"],
        ),
    ];
    for (rule, definition, expected) in rows {
        assert_eq!(diagnostics(&definition), expected, "rule: {rule}");
    }
}

#[test]
fn variables_may_be_read_wherever_a_path_is_allowed() {
    let definition = machine(
        r#""A":{"Type":"Pass","Assign":{"guess":7,"delay":1,"list":[1],"e":"E"},"InputPath":"$list","OutputPath":"$guess","Next":"C"},
           "C":{"Type":"Choice","Choices":[{"Variable":"$guess","NumericEqualsPath":"$guess","Next":"W"}],"Default":"F"},
           "W":{"Type":"Wait","SecondsPath":"$delay","Next":"M"},
           "M":{"Type":"Map","ItemsPath":"$list","MaxConcurrencyPath":"$delay","ItemSelector":{"v.$":"$guess"},
                "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","Parameters":{"x.$":"States.Format('{}', $e)"},"End":true}}},"Next":"T"},
           "T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:a","TimeoutSecondsPath":"$delay","ResultSelector":{"a.$":"$guess.x"},"Next":"F"},
           "F":{"Type":"Fail","ErrorPath":"$e","CausePath":"$e"}"#,
    );
    assert_eq!(diagnostics(&definition), Vec::<String>::new());
    // A variable is never a ResultPath: results go into the state's output only.
    assert_eq!(
        diagnostics(&machine(
            r#""A":{"Type":"Pass","ResultPath":"$x","End":true}"#
        ))
        .len(),
        1
    );
}
