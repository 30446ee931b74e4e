use super::*;

const STANDARD: ValidationOptions = ValidationOptions { express: false };
const EXPRESS: ValidationOptions = ValidationOptions { express: true };

/// A machine starting at state `A` with the given `States` members.
fn machine(states: &str) -> String {
    format!(r#"{{"StartAt":"A","States":{{{states}}}}}"#)
}

fn diagnostics(definition: &str, options: &ValidationOptions) -> Vec<String> {
    match validate(definition, options) {
        Ok(_) => Vec::new(),
        Err(found) => found.iter().map(Diagnostic::to_string).collect(),
    }
}

fn check_rows(rows: &[(&str, String, &[&str])], options: &ValidationOptions) {
    for (rule, definition, expected) in rows {
        assert_eq!(
            diagnostics(definition, options),
            expected
                .iter()
                .map(|line| line.to_string())
                .collect::<Vec<_>>(),
            "rule: {rule}\ndefinition: {definition}"
        );
    }
}

#[test]
fn valid_definitions_return_the_parsed_root() {
    let definitions = [
        machine(r#""A":{"Type":"Pass","End":true}"#),
        machine(
            r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":10,
                 "HeartbeatSeconds":5,"Parameters":{"x.$":"$.a","y":[{"z.$":"States.UUID()"}]},
                 "ResultSelector":{"p.$":"$.Payload"},"ResultPath":"$.r","InputPath":null,
                 "Retry":[{"ErrorEquals":["Lambda.Unknown"],"IntervalSeconds":1,"MaxAttempts":0,
                           "BackoffRate":1.0,"MaxDelaySeconds":5,"JitterStrategy":"FULL"},
                          {"ErrorEquals":["States.ALL"]}],
                 "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C","ResultPath":"$.error"}],
                 "Next":"C"},
             "C":{"Type":"Choice","Choices":[
                 {"Variable":"$.n","NumericGreaterThan":1,"Next":"W"},
                 {"And":[{"Variable":"$.s","StringMatches":"a*"},{"Not":{"Variable":"$$.Execution.Id","IsPresent":true}}],"Next":"P"},
                 {"Variable":"$.t","TimestampLessThanPath":"$.u","Next":"M"}],
               "Default":"F"},
             "W":{"Type":"Wait","Timestamp":"2024-01-02T03:04:05.5+02:00","Next":"P"},
             "P":{"Type":"Parallel","Branches":[{"StartAt":"B1","States":{"B1":{"Type":"Succeed"}}}],"Next":"M"},
             "M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":0,"ItemSelector":{"v.$":"$$.Map.Item.Value"},
                  "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"I1",
                                   "States":{"I1":{"Type":"Wait","Seconds":0,"End":true}}},
                  "End":true},
             "F":{"Type":"Fail","ErrorPath":"$.e","Cause":"boom"}"#,
        ),
            r#"{"Comment":"c","Version":"1.0","TimeoutSeconds":60,"QueryLanguage":"JSONPath",
                "StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:work","End":true}}}"#
        .to_string(),
    ];
    for definition in &definitions {
        let root = validate(definition, &STANDARD)
            .unwrap_or_else(|found| panic!("{definition}\n{found:#?}"));
        assert_eq!(root["StartAt"], "A");
    }
}

#[test]
fn root_and_json_rules() {
    let rows: &[(&str, String, &[&str])] = &[
        (
            "JSON must parse",
            r#"{"StartAt":"#.to_string(),
            &["INVALID_JSON_DESCRIPTION: EOF while parsing a value at line 1 column 11 at null"],
        ),
        (
            "empty definition",
            "  ".to_string(),
            &["SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object at null"],
        ),
        (
            "root must be an object",
            "[]".to_string(),
            &["SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object at null"],
        ),
        (
            "States required",
            r#"{"StartAt":"A"}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /"],
        ),
        (
            "StartAt required",
            r#"{"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: These fields are required: [StartAt] at /"],
        ),
        (
            "both required",
            r#"{"Comment":"x"}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: These fields are required: [States, StartAt] at /"],
        ),
        (
            "no unknown top-level fields",
            r#"{"StartAt":"A","Extra":1,"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: Field 'Extra' is not supported at /"],
        ),
        (
            "StartAt is a string",
            r#"{"StartAt":1,"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /StartAt"],
        ),
        (
            "States is an object",
            r#"{"StartAt":"A","States":[]}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States"],
        ),
        (
            "States is not empty",
            r#"{"StartAt":"A","States":{}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States"],
        ),
        (
            "root TimeoutSeconds positive",
            r#"{"StartAt":"A","TimeoutSeconds":0,"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: Minimum value is 1 at /TimeoutSeconds"],
        ),
        (
            "root Comment is a string",
            r#"{"StartAt":"A","Comment":{},"States":{"A":{"Type":"Succeed"}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /Comment"],
        ),
        (
            "QueryLanguage is JSONPath or JSONata",
            r#"{"StartAt":"A","QueryLanguage":"XPath","States":{"A":{"Type":"Succeed"}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata] at /QueryLanguage"],
        ),
    ];
    check_rows(rows, &STANDARD);
}

#[test]
fn state_field_rules() {
    let rows: &[(&str, String, &[&str])] = &[
        (
            "Type enum",
            machine(r#""A":{"Type":"Bogus","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/A/Type"],
        ),
        (
            "Type required",
            machine(r#""A":{"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Type' is required but was missing at /States/A"],
        ),
        (
            "state is an object",
            machine(r#""A":true,"B":{"Type":"Succeed"}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States/A",
                "MISSING_TRANSITION_TARGET: State \"B\" is not reachable. at /States/B",
            ],
        ),
        (
            "ResultSelector not on Pass",
            machine(r#""A":{"Type":"Pass","ResultSelector":{},"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'ResultSelector' is not supported at /States/A"],
        ),
        (
            "ResultPath not on Wait",
            machine(r#""A":{"Type":"Wait","Seconds":1,"ResultPath":"$.x","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'ResultPath' is not supported at /States/A"],
        ),
        (
            "TimeoutSeconds not on Map",
            machine(r#""A":{"Type":"Map","TimeoutSeconds":5,"Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'TimeoutSeconds' is not supported at /States/A"],
        ),
        (
            "Retry only on Task/Parallel/Map",
            machine(r#""A":{"Type":"Pass","Retry":[],"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Retry' is not supported at /States/A"],
        ),
        (
            "InputPath not on Fail",
            machine(r#""A":{"Type":"Fail","InputPath":"$"}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'InputPath' is not supported at /States/A"],
        ),
        (
            "End is boolean",
            machine(r#""A":{"Type":"Pass","End":"true"}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: Expected value of type Boolean at /States/A/End",
                "SCHEMA_VALIDATION_FAILED: Exactly one of the fields 'Next' or 'End' is required at /States/A",
                "MISSING_END_STATE: Workflow has no terminal state at null",
            ],
        ),
        (
            "End false is not terminal",
            machine(r#""A":{"Type":"Pass","End":false}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: Exactly one of the fields 'Next' or 'End' is required at /States/A",
                "MISSING_END_STATE: Workflow has no terminal state at null",
            ],
        ),
        (
            "Next xor End",
            machine(r#""A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Succeed"}"#),
            &["SCHEMA_VALIDATION_FAILED: Fields 'Next' and 'End' are mutually exclusive at /States/A"],
        ),
        (
            "Next is a string",
            machine(r#""A":{"Type":"Pass","Next":3},"B":{"Type":"Succeed"}"#),
            &[
                "SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/Next",
                "MISSING_TRANSITION_TARGET: State \"B\" is not reachable. at /States/B",
            ],
        ),
        (
            "no Next on Succeed",
            machine(r#""A":{"Type":"Succeed","Next":"A"}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/A"],
        ),
        (
            "no End on Choice",
            machine(r#""A":{"Type":"Choice","End":true,"Choices":[{"Variable":"$.a","IsNull":true,"Next":"B"}]},"B":{"Type":"Succeed"}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'End' is not supported at /States/A"],
        ),
        (
            "state name not empty",
            r#"{"StartAt":"","States":{"":{"Type":"Succeed"}}}"#.to_string(),
            &["INVALID_STATE_NAME: Invalid State name: State name cannot be empty at /States/"],
        ),
        (
            "pointer escapes / and ~",
            r#"{"StartAt":"a/b~c","States":{"a/b~c":{"Type":"Pass"}}}"#.to_string(),
            &[
                "SCHEMA_VALIDATION_FAILED: Exactly one of the fields 'Next' or 'End' is required at /States/a~1b~0c",
                "MISSING_END_STATE: Workflow has no terminal state at null",
            ],
        ),
    ];
    check_rows(rows, &STANDARD);
}

#[test]
fn state_names_are_at_most_80_characters() {
    let accepted = "x".repeat(80);
    let definition =
        format!(r#"{{"StartAt":"{accepted}","States":{{"{accepted}":{{"Type":"Succeed"}}}}}}"#);
    assert_eq!(diagnostics(&definition, &STANDARD), Vec::<String>::new());
    let rejected = "é".repeat(81);
    let definition =
        format!(r#"{{"StartAt":"{rejected}","States":{{"{rejected}":{{"Type":"Succeed"}}}}}}"#);
    assert_eq!(
        diagnostics(&definition, &STANDARD),
        [format!("INVALID_STATE_NAME: Invalid State name: State exceeds the 80-character limit allowed by the service at /States/{rejected}")]
    );
}

#[test]
fn transition_and_graph_rules() {
    let rows: &[(&str, String, &[&str])] = &[
        (
            "Next target exists (recorded AWS pair)",
            r#"{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}"#.to_string(),
            &[
                "MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next",
                "MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2",
            ],
        ),
        (
            "StartAt target exists",
            r#"{"StartAt":"Nope","States":{"A":{"Type":"Succeed"}}}"#.to_string(),
            &[
                "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nope at /StartAt",
                "MISSING_TRANSITION_TARGET: State \"A\" is not reachable. at /States/A",
            ],
        ),
        (
            "Default target exists",
            machine(r#""A":{"Type":"Choice","Choices":[{"Variable":"$.a","BooleanEquals":true,"Next":"B"}],"Default":"Z"},"B":{"Type":"Succeed"}"#),
            &["MISSING_TRANSITION_TARGET: Missing 'Default' target: Z at /States/A/Default"],
        ),
        (
            "Choice rule Next target exists",
            machine(r#""A":{"Type":"Choice","Choices":[{"Variable":"$.a","BooleanEquals":true,"Next":"Z"}],"Default":"B"},"B":{"Type":"Succeed"}"#),
            &["MISSING_TRANSITION_TARGET: Missing 'Next' target: Z at /States/A/Choices/0/Next"],
        ),
        (
            "Catch Next target exists",
            machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Z"}],"End":true}"#),
            &["MISSING_TRANSITION_TARGET: Missing 'Next' target: Z at /States/A/Catch/0/Next"],
        ),
        (
            "catch edges make states reachable",
            machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"}],"End":true},"B":{"Type":"Fail"}"#),
            &[],
        ),
        (
            "a Next may not leave a branch",
            machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"C"}}}],"Next":"C"},"C":{"Type":"Succeed"}"#),
            &[
                "MISSING_TRANSITION_TARGET: Missing 'Next' target: C at /States/A/Branches/0/States/B/Next",
                "MISSING_END_STATE: Workflow has no terminal state at /States/A/Branches/0",
            ],
        ),
        (
            "root scope needs a terminal state",
            machine(r#""A":{"Type":"Pass","Next":"B"},"B":{"Type":"Wait","Seconds":1,"Next":"A"}"#),
            &["MISSING_END_STATE: Workflow has no terminal state at null"],
        ),
        (
            "processor scope needs a terminal state",
            machine(r#""A":{"Type":"Map","Iterator":{"StartAt":"I","States":{"I":{"Type":"Pass","Next":"I"}}},"End":true}"#),
            &["MISSING_END_STATE: Workflow has no terminal state at /States/A/Iterator"],
        ),
        (
            "unreachable state inside a branch",
            machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Succeed"},"B2":{"Type":"Succeed"}}}],"End":true}"#),
            &["MISSING_TRANSITION_TARGET: State \"B2\" is not reachable. at /States/A/Branches/0/States/B2"],
        ),
        (
            "duplicate names in one States object",
            machine(r#""A":{"Type":"Succeed"},"A":{"Type":"Succeed"}"#),
            &["DUPLICATE_STATE_NAME: Duplicate State name: A at /States/A"],
        ),
        (
            "duplicate names across scopes",
            machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}],"End":true}"#),
            &["DUPLICATE_STATE_NAME: Duplicate State name: A at /States/A/Branches/0/States/A"],
        ),
        (
            "a States key inside Parameters is not a scope",
            machine(r#""A":{"Type":"Pass","Parameters":{"States":{"A":1}},"End":true}"#),
            &[],
        ),
    ];
    check_rows(rows, &STANDARD);
}

#[test]
fn path_and_template_rules() {
    let rows: &[(&str, String, &[&str])] = &[
        (
            "InputPath is a Path",
            machine(r#""A":{"Type":"Pass","InputPath":"a.b","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'InputPath' must be a valid JSONPath at /States/A/InputPath"],
        ),
        (
            "OutputPath is a string or null",
            machine(r#""A":{"Type":"Pass","OutputPath":5,"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/OutputPath"],
        ),
        (
            "ResultPath not $$",
            machine(r#""A":{"Type":"Pass","ResultPath":"$$.x","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'ResultPath' must be a valid ReferencePath at /States/A/ResultPath"],
        ),
        (
            "ItemsPath is a reference path",
            machine(r#""A":{"Type":"Map","ItemsPath":"$.a[*]","Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'ItemsPath' must be a valid ReferencePath at /States/A/ItemsPath"],
        ),
        (
            "SecondsPath is a reference path",
            machine(r#""A":{"Type":"Wait","SecondsPath":"$..s","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'SecondsPath' must be a valid ReferencePath at /States/A/SecondsPath"],
        ),
        (
            ".$ value is a path or intrinsic (recorded text)",
            r#"{"StartAt":"IntrinsicEscape","States":{"IntrinsicEscape":{"Type":"Pass","Parameters":{"parsed.$":"nope"},"End":true}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'parsed.$' must be a valid JSONPath or a valid intrinsic function call at /States/IntrinsicEscape/Parameters"],
        ),
        (
            ".$ checked in ResultSelector",
            machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","ResultSelector":{"x":{"y.$":"bad"}},"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'y.$' must be a valid JSONPath or a valid intrinsic function call at /States/A/ResultSelector"],
        ),
        (
            ".$ checked in ItemSelector",
            machine(r#""A":{"Type":"Map","ItemSelector":{"v.$":"States.Format("},"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'v.$' must be a valid JSONPath or a valid intrinsic function call at /States/A/ItemSelector"],
        ),
        (
            "Parameters is an object",
            machine(r#""A":{"Type":"Pass","Parameters":"x","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States/A/Parameters"],
        ),
        (
            "Fail ErrorPath path or intrinsic",
            machine(r#""A":{"Type":"Fail","ErrorPath":"err"}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'ErrorPath' must be a valid JSONPath or a valid intrinsic function call at /States/A/ErrorPath"],
        ),
    ];
    check_rows(rows, &STANDARD);
}

/// A Choice state `A` with one rule (given verbatim) falling through to `B`.
fn choice(rule: &str) -> String {
    machine(&format!(
        r#""A":{{"Type":"Choice","Choices":[{rule}],"Default":"B"}},"B":{{"Type":"Succeed"}}"#
    ))
}

#[test]
fn choice_rules() {
    let rows: &[(&str, String, &[&str])] = &[
        (
            "Choices non-empty",
            machine(r#""A":{"Type":"Choice","Choices":[],"Default":"B"},"B":{"Type":"Succeed"}"#),
            &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/A/Choices"],
        ),
        (
            "Choices required",
            machine(r#""A":{"Type":"Choice","Default":"B"},"B":{"Type":"Succeed"}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Choices' is required but was missing at /States/A"],
        ),
        (
            "an operator is required",
            choice(r#"{"Variable":"$.a","Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: A Choice rule must contain exactly one comparison operator at /States/A/Choices/0"],
        ),
        (
            "only one operator",
            choice(r#"{"Variable":"$.a","IsNull":true,"IsString":true,"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: A Choice rule must contain exactly one comparison operator at /States/A/Choices/0"],
        ),
        (
            "unknown rule field",
            choice(r#"{"Variable":"$.a","StringEquals":"x","Bogus":1,"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not supported at /States/A/Choices/0"],
        ),
        (
            "Variable required",
            choice(r#"{"StringEquals":"x","Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Variable' is required but was missing at /States/A/Choices/0"],
        ),
        (
            "Variable is a Path",
            choice(r#"{"Variable":"a","StringEquals":"x","Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'Variable' must be a valid JSONPath at /States/A/Choices/0/Variable"],
        ),
        (
            "string operand",
            choice(r#"{"Variable":"$.a","StringEquals":1,"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/Choices/0/StringEquals"],
        ),
        (
            "numeric operand",
            choice(r#"{"Variable":"$.a","NumericEquals":"1","Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Number at /States/A/Choices/0/NumericEquals"],
        ),
        (
            "boolean operand",
            choice(r#"{"Variable":"$.a","IsPresent":"yes","Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Boolean at /States/A/Choices/0/IsPresent"],
        ),
        (
            "timestamp operand",
            choice(r#"{"Variable":"$.a","TimestampEquals":"2024-01-01 00:00:00Z","Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/A/Choices/0/TimestampEquals"],
        ),
        (
            "Path operand is a reference path",
            choice(r#"{"Variable":"$.a","StringEqualsPath":"$.b[*]","Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'StringEqualsPath' must be a valid ReferencePath at /States/A/Choices/0/StringEqualsPath"],
        ),
        (
            "top-level rule needs Next",
            choice(r#"{"Variable":"$.a","IsNull":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Next' is required but was missing at /States/A/Choices/0"],
        ),
        (
            "nested rule must not have Next",
            choice(r#"{"Not":{"Variable":"$.a","IsNull":true,"Next":"B"},"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/A/Choices/0/Not"],
        ),
        (
            "And is a non-empty array",
            choice(r#"{"And":[],"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/A/Choices/0/And"],
        ),
        (
            "Or is an array",
            choice(r#"{"Or":{},"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Array at /States/A/Choices/0/Or"],
        ),
        (
            "Not is an object",
            choice(r#"{"Not":[],"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Object at /States/A/Choices/0/Not"],
        ),
        (
            "boolean rule takes no Variable",
            choice(r#"{"Variable":"$.a","Or":[{"Variable":"$.a","IsNull":true}],"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Variable' is not supported at /States/A/Choices/0"],
        ),
        (
            "nested rules are checked",
            choice(r#"{"And":[{"Variable":"$.a","IsNull":true},{"Variable":"$.b","NumericLessThan":true}],"Next":"B"}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Number at /States/A/Choices/0/And/1/NumericLessThan"],
        ),
    ];
    check_rows(rows, &STANDARD);
}

#[test]
fn wait_and_task_rules() {
    let rows: &[(&str, String, &[&str])] = &[
        (
            "Wait needs a duration",
            machine(r#""A":{"Type":"Wait","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath] at /States/A"],
        ),
        (
            "Wait takes only one duration",
            machine(r#""A":{"Type":"Wait","Seconds":1,"TimestampPath":"$.t","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath] at /States/A"],
        ),
        (
            "Seconds non-negative",
            machine(r#""A":{"Type":"Wait","Seconds":-1,"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Minimum value is 0 at /States/A/Seconds"],
        ),
        (
            "Seconds integer",
            machine(r#""A":{"Type":"Wait","Seconds":1.5,"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Integer at /States/A/Seconds"],
        ),
        (
            "Timestamp RFC 3339 (recorded text)",
            r#"{"StartAt":"WaitUntil","States":{"WaitUntil":{"Type":"Wait","Timestamp":"2016-03-14T01:59:00","End":true}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/WaitUntil/Timestamp"],
        ),
        (
            "Timestamp needs uppercase T",
            machine(r#""A":{"Type":"Wait","Timestamp":"2016-03-14t01:59:00Z","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/A/Timestamp"],
        ),
        (
            "Resource required",
            machine(r#""A":{"Type":"Task","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Resource' is required but was missing at /States/A"],
        ),
        (
            "Resource recognised (recorded text)",
            r#"{"StartAt":"Query","States":{"Query":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:query","End":true}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::dynamodb:query is not recognized. The value is not a valid resource ARN, or the resource is not available in this region. at /States/Query/Resource"],
        ),
        (
            "TimeoutSeconds positive",
            machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":0,"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Minimum value is 1 at /States/A/TimeoutSeconds"],
        ),
        (
            "TimeoutSeconds at most 99999999",
            machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":100000000,"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Maximum value is 99999999 at /States/A/TimeoutSeconds"],
        ),
        (
            "HeartbeatSeconds positive integer",
            machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","HeartbeatSeconds":"5","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Integer at /States/A/HeartbeatSeconds"],
        ),
        (
            "heartbeat below timeout",
            machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The value of 'HeartbeatSeconds' must be less than the value of 'TimeoutSeconds' at /States/A/HeartbeatSeconds"],
        ),
        (
            "literal and Path timeout exclusive",
            machine(r#""A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Fields 'TimeoutSeconds' and 'TimeoutSecondsPath' are mutually exclusive at /States/A"],
        ),
        (
            "Credentials need RoleArn (recorded text)",
            r#"{"StartAt":"State0","States":{"State0":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Credentials":{},"End":true}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: The field 'RoleArn' is required but was missing at /States/State0/Credentials"],
        ),
    ];
    check_rows(rows, &STANDARD);
}

/// A Task `A` with the given `Retry`/`Catch` members, plus a Fail state `F` for catchers.
fn task_with(handlers: &str) -> String {
    machine(&format!(
        r#""A":{{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",{handlers},"End":true}},"F":{{"Type":"Fail"}}"#
    ))
}

#[test]
fn retry_and_catch_rules() {
    const UNREACHABLE_F: &str =
        "MISSING_TRANSITION_TARGET: State \"F\" is not reachable. at /States/F";
    let rows: &[(&str, String, &[&str])] = &[
        (
            "ErrorEquals required",
            task_with(r#""Retry":[{"MaxAttempts":1}]"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'ErrorEquals' is required but was missing at /States/A/Retry/0", UNREACHABLE_F],
        ),
        (
            "ErrorEquals non-empty",
            task_with(r#""Retry":[{"ErrorEquals":[]}]"#),
            &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/A/Retry/0/ErrorEquals", UNREACHABLE_F],
        ),
        (
            "ErrorEquals holds strings",
            task_with(r#""Retry":[{"ErrorEquals":[1]}]"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/Retry/0/ErrorEquals/0", UNREACHABLE_F],
        ),
        (
            "States.ALL alone",
            task_with(r#""Retry":[{"ErrorEquals":["States.ALL","X"]}]"#),
            &["SCHEMA_VALIDATION_FAILED: 'States.ALL' must be the only element in 'ErrorEquals' at /States/A/Retry/0/ErrorEquals", UNREACHABLE_F],
        ),
        (
            "States.ALL in the last retrier",
            task_with(r#""Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]"#),
            &["SCHEMA_VALIDATION_FAILED: 'States.ALL' must appear in the last retrier only at /States/A/Retry/0/ErrorEquals", UNREACHABLE_F],
        ),
        (
            "IntervalSeconds at least 1",
            task_with(r#""Retry":[{"ErrorEquals":["X"],"IntervalSeconds":0}]"#),
            &["SCHEMA_VALIDATION_FAILED: Minimum value is 1 at /States/A/Retry/0/IntervalSeconds", UNREACHABLE_F],
        ),
        (
            "MaxAttempts non-negative",
            task_with(r#""Retry":[{"ErrorEquals":["X"],"MaxAttempts":-1}]"#),
            &["SCHEMA_VALIDATION_FAILED: Minimum value is 0 at /States/A/Retry/0/MaxAttempts", UNREACHABLE_F],
        ),
        (
            "BackoffRate at least 1.0",
            task_with(r#""Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}]"#),
            &["SCHEMA_VALIDATION_FAILED: Minimum value is 1.0 at /States/A/Retry/0/BackoffRate", UNREACHABLE_F],
        ),
        (
            "MaxDelaySeconds positive",
            task_with(r#""Retry":[{"ErrorEquals":["X"],"MaxDelaySeconds":0}]"#),
            &["SCHEMA_VALIDATION_FAILED: Minimum value is 1 at /States/A/Retry/0/MaxDelaySeconds", UNREACHABLE_F],
        ),
        (
            "JitterStrategy enum",
            task_with(r#""Retry":[{"ErrorEquals":["X"],"JitterStrategy":"HALF"}]"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'JitterStrategy' should have one of these values: [FULL, NONE] at /States/A/Retry/0/JitterStrategy", UNREACHABLE_F],
        ),
        (
            "unknown retrier field",
            task_with(r#""Retry":[{"ErrorEquals":["X"],"Backoff":2}]"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Backoff' is not supported at /States/A/Retry/0", UNREACHABLE_F],
        ),
        (
            "Retry is an array",
            task_with(r#""Retry":{}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type Array at /States/A/Retry", UNREACHABLE_F],
        ),
        (
            "catcher needs Next",
            task_with(r#""Catch":[{"ErrorEquals":["X"]}]"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Next' is required but was missing at /States/A/Catch/0", UNREACHABLE_F],
        ),
        (
            "States.ALL in the last catcher",
            task_with(r#""Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"},{"ErrorEquals":["X"],"Next":"F"}]"#),
            &["SCHEMA_VALIDATION_FAILED: 'States.ALL' must appear in the last catcher only at /States/A/Catch/0/ErrorEquals"],
        ),
        (
            "catcher ResultPath is a reference path",
            task_with(r#""Catch":[{"ErrorEquals":["X"],"Next":"F","ResultPath":"$$.e"}]"#),
            &["SCHEMA_VALIDATION_FAILED: The value for the field 'ResultPath' must be a valid ReferencePath at /States/A/Catch/0/ResultPath"],
        ),
    ];
    check_rows(rows, &STANDARD);
}

#[test]
fn parallel_map_and_fail_rules() {
    const ITERATOR: &str = r#""Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#;
    let map = |fields: &str| machine(&format!(r#""A":{{"Type":"Map",{fields},"End":true}}"#));
    let rows: &[(&str, String, &[&str])] = &[
        (
            "Branches non-empty (recorded text)",
            r#"{"StartAt":"StateName","States":{"StateName":{"Type":"Parallel","Branches":[],"End":true}}}"#.to_string(),
            &["SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/StateName/Branches"],
        ),
        (
            "Branches required",
            machine(r#""A":{"Type":"Parallel","End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Branches' is required but was missing at /States/A"],
        ),
        (
            "branch needs StartAt",
            machine(r#""A":{"Type":"Parallel","Branches":[{"States":{"B":{"Type":"Succeed"}}}],"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'StartAt' is required but was missing at /States/A/Branches/0"],
        ),
        (
            "branch takes StartAt, States, Comment only",
            machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"B","Version":"1.0","States":{"B":{"Type":"Succeed"}}}],"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Version' is not supported at /States/A/Branches/0"],
        ),
        (
            "nested states are validated",
            machine(r#""A":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Resource":"x","End":true}}}],"End":true}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'Resource' is not supported at /States/A/Branches/0/States/B"],
        ),
        (
            "Map needs a processor",
            map(r#""ItemsPath":"$.a""#),
            &["SCHEMA_VALIDATION_FAILED: The field 'ItemProcessor' is required but was missing at /States/A"],
        ),
        (
            "Iterator xor ItemProcessor",
            map(&format!(r#"{ITERATOR},"ItemProcessor":{{"StartAt":"J","States":{{"J":{{"Type":"Succeed"}}}}}}"#)),
            &["SCHEMA_VALIDATION_FAILED: Fields 'Iterator' and 'ItemProcessor' are mutually exclusive at /States/A"],
        ),
        (
            "Parameters xor ItemSelector",
            map(&format!(r#"{ITERATOR},"Parameters":{{}},"ItemSelector":{{}}"#)),
            &["SCHEMA_VALIDATION_FAILED: Fields 'Parameters' and 'ItemSelector' are mutually exclusive at /States/A"],
        ),
        (
            "MaxConcurrency non-negative",
            map(&format!(r#"{ITERATOR},"MaxConcurrency":-1"#)),
            &["SCHEMA_VALIDATION_FAILED: Minimum value is 0 at /States/A/MaxConcurrency"],
        ),
        (
            "ProcessorConfig Mode enum",
            map(r#""ItemProcessor":{"ProcessorConfig":{"Mode":"FAST"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#),
            &["SCHEMA_VALIDATION_FAILED: The field 'Mode' should have one of these values: [INLINE, DISTRIBUTED] at /States/A/ItemProcessor/ProcessorConfig/Mode"],
        ),
        (
            "ExecutionType only in DISTRIBUTED mode",
            map(r#""ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE","ExecutionType":"STANDARD"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'ExecutionType' is not supported at /States/A/ItemProcessor/ProcessorConfig"],
        ),
        (
            "ProcessorConfig not in Iterator",
            map(r#""Iterator":{"ProcessorConfig":{},"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#),
            &["SCHEMA_VALIDATION_FAILED: Field 'ProcessorConfig' is not supported at /States/A/Iterator"],
        ),
        (
            "ToleratedFailureCount non-negative",
            map(&format!(r#"{ITERATOR},"ToleratedFailureCount":-1"#)),
            &["SCHEMA_VALIDATION_FAILED: ToleratedFailureCount cannot be negative. at /States/A/ToleratedFailureCount"],
        ),
        (
            "ToleratedFailurePercentage 0-100",
            map(&format!(r#"{ITERATOR},"ToleratedFailurePercentage":100.5"#)),
            &["SCHEMA_VALIDATION_FAILED: ToleratedFailurePercentage must be between 0 and 100. at /States/A/ToleratedFailurePercentage"],
        ),
        (
            "Label characters",
            map(&format!(r#"{ITERATOR},"Label":"a b""#)),
            &["INVALID_LABEL_NAME: Invalid Label name: a b at /States/A/Label"],
        ),
        (
            "Fail Error is a string",
            machine(r#""A":{"Type":"Fail","Error":1}"#),
            &["SCHEMA_VALIDATION_FAILED: Expected value of type String at /States/A/Error"],
        ),
        (
            "Fail Cause xor CausePath",
            machine(r#""A":{"Type":"Fail","Cause":"c","CausePath":"$.c"}"#),
            &["SCHEMA_VALIDATION_FAILED: Fields 'Cause' and 'CausePath' are mutually exclusive at /States/A"],
        ),
    ];
    check_rows(rows, &STANDARD);
}

#[test]
fn express_restrictions() {
    let task = |resource: &str| {
        format!(
            r#"{{"StartAt":"S","States":{{"S":{{"Type":"Task","Resource":"{resource}","End":true}}}}}}"#
        )
    };
    let rows: &[(&str, String, &[&str])] = &[
        (
            "no activities",
            task("arn:aws:states:us-east-1:123456789012:activity:a"),
            &["SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN at /States/S/Resource"],
        ),
        (
            "no .sync",
            task("arn:aws:states:::states:startExecution.sync:2"),
            &["SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service integration at /States/S/Resource"],
        ),
        (
            "no .waitForTaskToken (two spaces, as recorded)",
            task("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            &["SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' service integration  at /States/S/Resource"],
        ),
        (
            "request-response is fine",
            task("arn:aws:states:::lambda:invoke"),
            &[],
        ),
        (
            "Lambda ARN is fine",
            task("arn:aws:lambda:us-east-1:123456789012:function:f"),
            &[],
        ),
    ];
    check_rows(rows, &EXPRESS);
    // The same definitions are accepted for STANDARD machines.
    for (_, definition, _) in rows {
        assert_eq!(diagnostics(definition, &STANDARD), Vec::<String>::new());
    }
}

#[test]
fn resource_forms() {
    let rows: &[(&str, Option<ResourceKind>)] = &[
        (
            "arn:aws:states:us-east-1:123456789012:activity:work",
            Some(ResourceKind::Activity),
        ),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:f",
            Some(ResourceKind::Lambda),
        ),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:f:prod",
            Some(ResourceKind::Lambda),
        ),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST",
            Some(ResourceKind::Lambda),
        ),
        (
            "arn:aws:states:::lambda:invoke",
            Some(ResourceKind::Integration(
                IntegrationPattern::RequestResponse,
            )),
        ),
        (
            "arn:aws:states:::dynamodb:putItem",
            Some(ResourceKind::Integration(
                IntegrationPattern::RequestResponse,
            )),
        ),
        (
            "arn:aws:states:::ecs:runTask.sync",
            Some(ResourceKind::Integration(IntegrationPattern::Sync)),
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            Some(ResourceKind::Integration(IntegrationPattern::Sync)),
        ),
        (
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            Some(ResourceKind::Integration(
                IntegrationPattern::WaitForTaskToken,
            )),
        ),
        (
            "arn:aws:states:::aws-sdk:s3:getObject",
            Some(ResourceKind::Integration(
                IntegrationPattern::RequestResponse,
            )),
        ),
        (
            "arn:aws:states:::aws-sdk:sfn:startExecution.waitForTaskToken",
            Some(ResourceKind::Integration(
                IntegrationPattern::WaitForTaskToken,
            )),
        ),
        (
            "arn:aws:states:::http:invoke",
            Some(ResourceKind::Integration(
                IntegrationPattern::RequestResponse,
            )),
        ),
        (
            "arn:aws-cn:states:::sns:publish",
            Some(ResourceKind::Integration(
                IntegrationPattern::RequestResponse,
            )),
        ),
        ("arn:aws:states:::dynamodb:query", None),
        ("arn:aws:states:::aws-sdk:s3:getObject.sync", None),
        ("arn:aws:states:::http:invoke.sync", None),
        ("arn:aws:states:::nosuch:thing", None),
        ("arn:aws:states:us-east-1:123:activity:work", None),
        ("arn:aws:states:us-east-1:123456789012:stateMachine:m", None),
        ("arn:aws:lambda:us-east-1:123456789012:function:", None),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:f:v:extra",
            None,
        ),
        ("arn:other:states:::lambda:invoke", None),
        ("lambda:invoke", None),
        ("", None),
    ];
    for (resource, expected) in rows {
        assert_eq!(classify_resource(resource), *expected, "{resource}");
    }
}

#[test]
fn all_problems_are_collected_in_a_stable_order() {
    let definition = r#"{"StartAt":"A","Bogus":true,"States":{
        "A":{"Type":"Pass","Result":1,"ResultSelector":{},"Next":"Missing"},
        "P":{"Type":"Parallel","Branches":[{"StartAt":"X","States":{"X":{"Type":"Wait","End":true},"A":{"Type":"Succeed"}}}],"End":true},
        "A2":{"Type":"Succeed","Next":"A"}}}"#;
    let expected = [
        "SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not supported at /",
        "SCHEMA_VALIDATION_FAILED: Field 'ResultSelector' is not supported at /States/A",
        "SCHEMA_VALIDATION_FAILED: Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath] at /States/P/Branches/0/States/X",
        "SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/A2",
        "DUPLICATE_STATE_NAME: Duplicate State name: A at /States/P/Branches/0/States/A",
        "MISSING_TRANSITION_TARGET: Missing 'Next' target: Missing at /States/A/Next",
        "MISSING_TRANSITION_TARGET: State \"P\" is not reachable. at /States/P",
        "MISSING_TRANSITION_TARGET: State \"A2\" is not reachable. at /States/A2",
        "MISSING_TRANSITION_TARGET: State \"A\" is not reachable. at /States/P/Branches/0/States/A",
    ];
    let first = diagnostics(definition, &STANDARD);
    assert_eq!(first, expected);
    assert_eq!(diagnostics(definition, &STANDARD), first);
}

#[test]
fn invalid_definition_message_joins_diagnostics() {
    let found = validate(
        r#"{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}"#,
        &STANDARD,
    )
    .unwrap_err();
    assert_eq!(
        invalid_definition_message(&found),
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2'"
    );
    assert_eq!(found[0].code, MISSING_TRANSITION_TARGET);
    assert_eq!(found[0].location.as_deref(), Some("/States/pass1/Next"));
    let root_end = Diagnostic {
        code: MISSING_END_STATE,
        message: "Workflow has no terminal state".to_string(),
        location: None,
    };
    assert_eq!(
        root_end.to_string(),
        "MISSING_END_STATE: Workflow has no terminal state at null"
    );
}
