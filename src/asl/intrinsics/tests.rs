use super::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

fn run(text: &str, input: &Value) -> Result<Value, Failure> {
    let call = IntrinsicCall::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut rng = StdRng::seed_from_u64(7);
    call.evaluate(input, &json!({"Execution": {"Name": "run-1"}}), &mut rng)
}

#[test]
fn functions_produce_recorded_results() {
    let input = json!({
        "obj": {"Arg1": 1, "Arg2": []},
        "nums": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        "nested": [[1, 2, 3], 2],
        "s": "Data to encode",
        "tpl": "x={}",
        "a": {"k": 1, "in": {"x": 1}}, "b": {"k": 2, "in": {"y": 2}},
        "arr": [1, 1, "a", "a", [], [], {"a": 1}, {"a": 1}, null, null, true]
    });
    let cases: Vec<(&str, Value)> = vec![
        (
            "States.Format('Hello, {}!', 'World')",
            json!("Hello, World!"),
        ),
        (
            "States.Format('{} {} {} {}', 1, 1.5, true, null)",
            json!("1 1.5 true null"),
        ),
        ("States.Format('{}', $.obj)", json!("{Arg1=1, Arg2=[]}")),
        ("States.Format('{}', $.nums[0:2])", json!("[1, 2]")),
        (
            "States.Format('\\{\\} is {}', 'literal')",
            json!("{} is literal"),
        ),
        (
            "States.Format('it\\'s {}', $$.Execution.Name)",
            json!("it's run-1"),
        ),
        ("States.Format('back\\\\slash')", json!("back\\slash")),
        ("States.Format($.tpl, 5)", json!("x=5")),
        (
            "States.StringToJson('{\"a\": [1, 2]}')",
            json!({"a": [1, 2]}),
        ),
        ("States.StringToJson('')", json!(null)),
        ("States.StringToJson(' ')", json!(null)),
        ("States.StringToJson('-0')", json!(0)),
        (
            "States.JsonToString($.obj)",
            json!("{\"Arg1\":1,\"Arg2\":[]}"),
        ),
        ("States.Array()", json!([])),
        (
            "States.Array('a', 1, $.obj, null)",
            json!(["a", 1, {"Arg1": 1, "Arg2": []}, null]),
        ),
        ("States.ArrayPartition(States.Array(), 2)", json!([])),
        (
            "States.ArrayPartition(States.Array(0, 1, 2), 2)",
            json!([[0, 1], [2]]),
        ),
        (
            "States.ArrayPartition($.nums, 4)",
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ),
        (
            "States.ArrayContains($.nested, States.Array(1, 2, 3))",
            json!(true),
        ),
        ("States.ArrayContains($.nested, 3)", json!(false)),
        (
            "States.ArrayContains(States.Array(true, false), false)",
            json!(true),
        ),
        ("States.ArrayRange(0, 9, 3)", json!([0, 3, 6, 9])),
        ("States.ArrayRange(0, 10, 3)", json!([0, 3, 6, 9])),
        ("States.ArrayRange(1, 9, 9)", json!([1])),
        ("States.ArrayRange(1, 9, 2)", json!([1, 3, 5, 7, 9])),
        ("States.ArrayRange(5, 1, -2)", json!([5, 3, 1])),
        ("States.ArrayRange(0, 10, -1)", json!([])),
        ("States.ArrayGetItem($.nums, 5)", json!(6)),
        ("States.ArrayLength($.nums)", json!(9)),
        (
            "States.ArrayUnique($.arr)",
            json!([1, "a", [], {"a": 1}, null, true]),
        ),
        ("States.Base64Encode($.s)", json!("RGF0YSB0byBlbmNvZGU=")),
        (
            "States.Base64Decode('RGF0YSB0byBlbmNvZGU=')",
            json!("Data to encode"),
        ),
        ("States.Base64Encode('')", json!("")),
        ("States.Base64Decode('')", json!("")),
        (
            "States.JsonMerge($.a, $.b, false)",
            json!({"k": 2, "in": {"y": 2}}),
        ),
        ("States.MathAdd(1.49, 1.5)", json!(3)),
        ("States.MathAdd(-1.5, 0)", json!(-1)),
        ("States.MathAdd(-1.51, 0)", json!(-2)),
        ("States.MathAdd(0.5, 0)", json!(1)),
        ("States.MathAdd(2.5, 0)", json!(3)),
        ("States.MathAdd(-1.49, -1.5)", json!(-2)),
        ("States.MathAdd(-9, 3)", json!(-6)),
        ("States.StringSplit('1,2,3', ',')", json!(["1", "2", "3"])),
        ("States.StringSplit(',,,,', ',')", json!([])),
        ("States.StringSplit(', , ,', ',')", json!([" ", " "])),
        (
            "States.StringSplit('This.is+a,test=string', '.+,=')",
            json!(["This", "is", "a", "test", "string"]),
        ),
        (
            "States.ArrayLength(States.StringSplit($$.Execution.Name, '-'))",
            json!(2),
        ),
        ("States.ArrayLength( $.nums )  ", json!(9)),
        ("States.ArrayLength($.nums[?(@ > 4)])", json!(5)),
        (
            "States.Array($['obj']['Arg1'], $.nums[0,1])",
            json!([1, [1, 2]]),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(run(text, &input), Ok(expected), "{text}");
    }
}

#[test]
fn hashes_of_all_algorithms() {
    let cases = [
        ("MD5", "900150983cd24fb0d6963f7d28e17f72"),
        ("SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "SHA-384",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            "SHA-512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    for (algorithm, digest) in cases {
        assert_eq!(
            run(&format!("States.Hash('abc', '{algorithm}')"), &json!({})),
            Ok(json!(digest)),
            "{algorithm}"
        );
    }
}

#[test]
fn failures_are_states_runtime_and_name_the_function() {
    let input = json!({"nums": [1, 2], "s": "text", "o": {"a": 1}, "big": "x".repeat(10_001)});
    let cases = [
        ("States.Format('{} {}', 1)", "Invalid arguments in States.Format: the template has 2 placeholder(s) but 1 value(s) were given"),
        ("States.Format('{}', 1, 2)", "Invalid arguments in States.Format: the template has 1 placeholder(s) but 2 value(s) were given"),
        ("States.Format($.nums, 1)", "Invalid arguments in States.Format: argument 1 must be a string, but got an array ([1,2])"),
        ("States.StringToJson('{bad')", "Invalid arguments in States.StringToJson: the string is not valid JSON (key must be a string at line 1 column 2)"),
        ("States.ArrayLength($.s)", "Invalid arguments in States.ArrayLength: argument 1 must be an array, but got a string (\"text\")"),
        ("States.ArrayGetItem($.nums, 2)", "Invalid arguments in States.ArrayGetItem: index 2 is out of bounds for an array of length 2"),
        ("States.ArrayGetItem($.nums, -1)", "Invalid arguments in States.ArrayGetItem: index -1 is out of bounds for an array of length 2"),
        ("States.ArrayGetItem($.nums, 1.5)", "Invalid arguments in States.ArrayGetItem: argument 2 must be an integer, but got a number (1.5)"),
        ("States.ArrayPartition($.nums, 0)", "Invalid arguments in States.ArrayPartition: the chunk size must be greater than 0, got 0"),
        ("States.ArrayRange(0, 1000, 1)", "Invalid arguments in States.ArrayRange: the range would have 1001 items; the limit is 1000"),
        ("States.ArrayRange(0, 10, 0)", "Invalid arguments in States.ArrayRange: the step must not be 0"),
        ("States.Base64Encode($.big)", "Invalid arguments in States.Base64Encode: the input is 10001 characters long; the limit is 10000"),
        ("States.Base64Decode('!!')", "Invalid arguments in States.Base64Decode: the string is not valid Base64 (Invalid symbol 33, offset 0.)"),
        ("States.Hash($.big, 'MD5')", "Invalid arguments in States.Hash: the input is 10001 characters long; the limit is 10000"),
        ("States.Hash('a', 'SHA-3')", "Invalid arguments in States.Hash: unsupported hash algorithm 'SHA-3'; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"),
        ("States.JsonMerge($.o, $.o, true)", "Invalid arguments in States.JsonMerge: deep merging is not supported; the third argument must be false"),
        ("States.JsonMerge($.o, $.nums, false)", "Invalid arguments in States.JsonMerge: argument 2 must be an object, but got an array ([1,2])"),
        ("States.MathAdd('1', 2)", "Invalid arguments in States.MathAdd: argument 1 must be a number, but got a string (\"1\")"),
        ("States.MathRandom(10, 1)", "Invalid arguments in States.MathRandom: the start (10) must not be greater than the end (1)"),
        ("States.StringSplit($.nums, ',')", "Invalid arguments in States.StringSplit: argument 1 must be a string, but got an array ([1,2])"),
        ("States.ArrayLength($.missing)", "The JSONPath '$.missing' given to States.ArrayLength could not be found in the input '{\"nums\":[1,2],\"s\":\"text\",\"o\":{\"a\":1},\"big\":\"" ),
    ];
    for (text, cause) in cases {
        let failure = run(text, &input).expect_err(text);
        assert_eq!(failure.error, "States.Runtime", "{text}");
        assert!(
            failure.cause.starts_with(cause),
            "{text}: {}",
            failure.cause
        );
    }
    let failure = run("States.Array($$.Nope)", &input).unwrap_err();
    assert_eq!(
        failure.cause,
        "The JSONPath '$$.Nope' given to States.Array could not be found in the input '{\"Execution\":{\"Name\":\"run-1\"}}': No results for path: $['Nope']"
    );
}

#[test]
fn math_random_stays_in_range_and_seed_is_deterministic() {
    let call = IntrinsicCall::parse("States.MathRandom(1, 3)").unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let value = call.evaluate(&json!({}), &json!({}), &mut rng).unwrap();
        let n = value.as_i64().unwrap();
        assert!((1..=3).contains(&n), "{n}");
        seen.insert(n);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1, 2, 3]);

    let seeded = IntrinsicCall::parse("States.MathRandom(0, 999, 3)").unwrap();
    let first = seeded
        .evaluate(&json!({}), &json!({}), &mut StdRng::seed_from_u64(1))
        .unwrap();
    let second = seeded
        .evaluate(&json!({}), &json!({}), &mut StdRng::seed_from_u64(99))
        .unwrap();
    assert_eq!(first, second);
    assert!((0..=999).contains(&first.as_i64().unwrap()));
    let other_seed = IntrinsicCall::parse("States.MathRandom(0, 999999, 4)").unwrap();
    assert_ne!(
        other_seed.evaluate(&json!({}), &json!({}), &mut StdRng::seed_from_u64(1)),
        seeded.evaluate(&json!({}), &json!({}), &mut StdRng::seed_from_u64(1))
    );
    assert_eq!(
        run("States.MathRandom(12.5, 12.5)", &json!({})),
        Ok(json!(13))
    );
}

#[test]
fn java_random_matches_the_jdk_sequence() {
    // new java.util.Random(42).nextInt() == -1170105035, then 234785527.
    let mut random = JavaRandom::new(42);
    assert_eq!(random.next_bits(32) as u32 as i32, -1_170_105_035);
    assert_eq!(random.next_bits(32) as u32 as i32, 234_785_527);
}

#[test]
fn uuid_is_v4_from_the_given_rng() {
    let call = IntrinsicCall::parse("States.UUID()").unwrap();
    let a = call
        .evaluate(&json!({}), &json!({}), &mut StdRng::seed_from_u64(5))
        .unwrap();
    let b = call
        .evaluate(&json!({}), &json!({}), &mut StdRng::seed_from_u64(5))
        .unwrap();
    assert_eq!(a, b);
    let parsed = uuid::Uuid::parse_str(a.as_str().unwrap()).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
}

#[test]
fn parse_rejects_malformed_calls() {
    let too_deep = format!(
        "{}1{}",
        "States.Array(".repeat(MAX_CALL_DEPTH + 1),
        ")".repeat(MAX_CALL_DEPTH + 1)
    );
    let cases = [
        "States.Nope()",
        "States.Format",
        "States.Format()",
        "States.UUID(1)",
        "States.ArrayLength()",
        "States.ArrayLength($.a, $.b)",
        "States.MathRandom(1)",
        "States.MathRandom(1, 2, 3, 4)",
        "States.JsonMerge($.a, $.b)",
        "States.Array('unterminated)",
        "States.Array('bad \\n escape')",
        "States.Array('dangling \\')",
        "States.Array(1,)",
        "States.Array(,1)",
        "States.Array(1 2)",
        "States.Array(1) trailing",
        "States.Array(foo)",
        "States.Array($.a.)",
        "States.Array(1",
        "States.Array([1])",
        "States.Array(1.2.3)",
        "states.Array(1)",
        too_deep.as_str(),
    ];
    for text in cases {
        assert!(
            IntrinsicCall::parse(text).is_err(),
            "{text:?} should not parse"
        );
    }
    let ok_depth = format!(
        "{}1{}",
        "States.Array(".repeat(MAX_CALL_DEPTH),
        ")".repeat(MAX_CALL_DEPTH)
    );
    assert!(IntrinsicCall::parse(&ok_depth).is_ok());
}

#[test]
fn looks_like_call_checks_the_prefix() {
    for (text, expected) in [
        ("States.Format('x')", true),
        ("States.", true),
        ("$.States", false),
        ("states.Format()", false),
        ("", false),
    ] {
        assert_eq!(IntrinsicCall::looks_like_call(text), expected, "{text}");
    }
}

proptest! {
    #[test]
    fn parser_never_panics(text in "\\PC{0,60}") {
        let _ = IntrinsicCall::parse(&text);
    }

    #[test]
    fn parser_and_evaluator_never_panic_on_call_like_text(
        name in prop::sample::select(FUNCTIONS.iter().map(|(n, _)| *n).collect::<Vec<_>>()),
        args in "[$.a-c0-9'\\\\{}(),\\[\\]* \\-]{0,30}",
    ) {
        let text = format!("{name}({args})");
        if let Ok(call) = IntrinsicCall::parse(&text) {
            let input = json!({"a": [1, "x", {"b": 2}], "b": "s,t", "c": {"d": 1}});
            let _ = call.evaluate(&input, &input, &mut StdRng::seed_from_u64(0));
        }
    }
}

#[test]
fn arguments_read_workflow_variables() {
    let input = json!({"who": "input", "list": [{"body": "{\"k\":1}"}]});
    let context = json!({"Execution": {"Name": "run-1"}});
    let variables = json!({"who": "Ada", "nums": [3, 1, 2], "doc": {"body": "[1,2]"}})
        .as_object()
        .unwrap()
        .clone();
    let roots = Roots {
        input: &input,
        context: &context,
        variables: &variables,
    };
    let cases: Vec<(&str, Value)> = vec![
        ("States.Format('Hi {}', $who)", json!("Hi Ada")),
        ("States.Format('Hi {}', $.who)", json!("Hi input")),
        ("States.ArrayLength($nums)", json!(3)),
        ("States.ArrayGetItem($nums, 2)", json!(2)),
        ("States.StringToJson($doc.body)", json!([1, 2])),
        (
            "States.Array($who, $.who, $$.Execution.Name)",
            json!(["Ada", "input", "run-1"]),
        ),
        ("States.Format('{}', States.ArrayLength($nums))", json!("3")),
        // Jayway accepts a `.` before a bracket: `$.[0]` is `$[0]`.
        ("States.StringToJson($.list.[0].body)", json!({"k": 1})),
    ];
    for (text, expected) in cases {
        let call = IntrinsicCall::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            call.evaluate_in(&roots, &mut StdRng::seed_from_u64(1)),
            Ok(expected),
            "{text}"
        );
    }
    let names: Vec<String> = IntrinsicCall::parse(
        "States.Format('{} {} {}', $who, States.ArrayLength($nums), $$.Execution.Name, $.x)",
    )
    .unwrap()
    .variables()
    .into_iter()
    .collect();
    assert_eq!(names, ["nums", "who"]);

    let failure = IntrinsicCall::parse("States.ArrayLength($nope)")
        .unwrap()
        .evaluate_in(&roots, &mut StdRng::seed_from_u64(1))
        .unwrap_err();
    assert_eq!(failure.error, "States.Runtime");
    assert_eq!(
        failure.cause,
        "The JSONPath '$nope' given to States.ArrayLength could not be read: The variable '$nope' is not assigned"
    );
}

#[test]
fn string_to_json_of_a_dot_bracket_path() {
    // A public sample's shape: `States.StringToJson($.[0].body)` over an array input.
    let input = json!([{"body": "{\"ok\":true}"}]);
    assert_eq!(
        run("States.StringToJson($.[0].body)", &input),
        Ok(json!({"ok": true}))
    );
}
