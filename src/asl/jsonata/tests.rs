//! Golden tests: AWS-recorded results and texts (LocalStack snapshots, floci measurements, AWS docs; see
//! /work/shared/reference/jsonata-variables.md), run through the public API.

use super::*;
use chrono::TimeZone;
use rand::{RngCore, SeedableRng};
use serde_json::json;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 11, 15, 17, 12, 32).unwrap() + chrono::Duration::milliseconds(250)
}

fn run(
    body: &str,
    states: &Value,
    variables: &Value,
    seed: u64,
) -> Result<Option<Value>, QueryEvaluationError> {
    let expression = Expression::compile(body).unwrap_or_else(|e| panic!("{body}: {e}"));
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let variables = variables.as_object().unwrap();
    let mut env = Environment::new(states, variables, &mut rng, now());
    expression.evaluate_optional(&mut env)
}

fn eval_with(body: &str, states: &Value, variables: &Value) -> Result<Value, QueryEvaluationError> {
    let expression = Expression::compile(body).unwrap_or_else(|e| panic!("{body}: {e}"));
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let variables = variables.as_object().unwrap();
    let mut env = Environment::new(states, variables, &mut rng, now());
    expression.evaluate(&mut env)
}

fn input() -> Value {
    json!({"input": {"n": 5, "objs": [{"o": {"z": 1}}, {"o": {"z": 2}}], "mixed": [1, "a"],
        "obj": {"a": 1}, "arr": [1, 2, 3], "s": "abc", "title": "Doctor"},
        "context": {"Execution": {"Name": "e1"}, "State": {"Name": "S"}}})
}

fn eval(body: &str) -> Value {
    eval_with(body, &input(), &json!({"x": 42, "name": "María"}))
        .unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// The cause an expression fails with, for the field `Output`.
fn cause(body: &str) -> String {
    eval_with(body, &input(), &json!({}))
        .map(|v| panic!("{body} evaluated to {v}"))
        .unwrap_err()
        .in_field("Output")
        .cause()
}

fn template(
    value: Value,
    states: &Value,
    variables: &Value,
) -> Result<Value, QueryEvaluationError> {
    let template = JsonataTemplate::compile(&value).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let variables = variables.as_object().unwrap();
    let mut env = Environment::new(states, variables, &mut rng, now());
    template.evaluate(&mut env)
}

fn compile_error(body: &str) -> String {
    Expression::compile(body)
        .map(|_| panic!("{body} compiled"))
        .unwrap_err()
        .to_string()
}

#[test]
fn expression_strings_are_exactly_delimited() {
    assert_eq!(
        expression_body("{% $states.input %}"),
        Some(" $states.input ")
    );
    assert_eq!(expression_body("{%1%}"), Some("1"));
    assert_eq!(expression_body("{%%}"), Some(""));
    // A blank outside the delimiters makes it a literal [S outputdecl BASE_LITERALS].
    for literal in [
        " {% $states.input %}",
        "{% $states.input %} ",
        "$states.input",
        "{%",
        "{%}",
        "%}",
        "",
    ] {
        assert_eq!(expression_body(literal), None, "{literal:?}");
        assert!(!is_expression(literal));
    }
}

#[test]
fn compiled_expressions_are_shareable_across_tasks() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Expression>();
    shareable::<JsonataTemplate>();
    shareable::<QueryEvaluationError>();
    let expression = Expression::compile(" $states.input.n + 1 ").unwrap();
    assert_eq!(expression.source(), "$states.input.n + 1");
    let clone = expression.clone();
    let handle = std::thread::spawn(move || clone.source().to_string());
    assert_eq!(handle.join().unwrap(), expression.source());
}

#[test]
fn arithmetic_strings_and_paths() {
    let cases = [
        ("1 + 2", json!(3)),
        ("7 / 2", json!(3.5)),
        ("3.0", json!(3)),
        ("0.1 + 0.2", json!(0.30000000000000004)),
        ("-0", json!(0)),
        ("10 % 3", json!(1)),
        ("'Hello ' & $states.input.title", json!("Hello Doctor")),
        ("$uppercase($states.input.s)", json!("ABC")),
        ("$substring('hello', 1, 2)", json!("el")),
        ("$join(['a', 'b'], '-')", json!("a-b")),
        ("$split('a,b', ',')", json!(["a", "b"])),
        ("$string({'a': 1})", json!("{\"a\":1}")),
        ("$number('12.5')", json!(12.5)),
        ("$contains('hello$world', /^hello\\$/)", json!(true)),
        ("$states.input.n * 2", json!(10)),
        ("$states.input.arr", json!([1, 2, 3])),
        ("$states.input.arr[0]", json!(1)),
        ("$states.input.arr[-1]", json!(3)),
        ("$states.input.arr[$ > 1]", json!([2, 3])),
        ("$states.input.arr.($ * 2)", json!([2, 4, 6])),
        ("$states.input.objs.o.z", json!([1, 2])),
        ("$sum($states.input.arr)", json!(6)),
        ("$count($states.input.arr)", json!(3)),
        ("$states.input.n > 3 ? 'big' : 'small'", json!("big")),
        ("$states.input.obj", json!({"a": 1})),
        (
            "{'total': $sum($states.input.arr), 'n': $states.input.n}",
            json!({"total": 6, "n": 5}),
        ),
        ("$states.context.Execution.Name", json!("e1")),
        ("$exists($states.input.nope)", json!(false)),
        ("null", json!(null)),
        ("[]", json!([])),
        ("($y := 2; $y * 3)", json!(6)),
        ("$x := 1", json!(1)),
        ("$map([1, 2], function($v) { $v * 10 })", json!([10, 20])),
        ("$reduce([1, 2, 3], function($a, $b) { $a + $b })", json!(6)),
        // Infinity is shown as a string [I floci#2737].
        ("[1/0]", json!(["Infinity"])),
    ];
    for (body, expected) in cases {
        assert_eq!(eval(body), expected, "{body}");
    }
}

#[test]
fn variables_are_read_by_name() {
    assert_eq!(eval("$x + 1"), json!(43));
    assert_eq!(eval("$name"), json!("María"));
    // A variable shadows nothing it does not name: `$string` is still the function.
    assert_eq!(eval("$map([1], $string)"), json!("1"));
    // An unassigned variable is undefined at run time, not a definition error [S].
    assert!(run("$nope", &input(), &json!({}), 1).unwrap().is_none());
    let map: BTreeMap<String, Value> = [("v".to_string(), json!([1, 2]))].into();
    let states = input();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut env = Environment::new(&states, &map, &mut rng, now());
    let expression = Expression::compile("$count($v)").unwrap();
    assert_eq!(expression.evaluate(&mut env).unwrap(), json!(2));
    let mut env = Environment::new(&states, &NoVariables, &mut rng, now());
    assert!(expression.evaluate(&mut env).is_ok());
}

#[test]
fn aws_docs_arguments_example() {
    // "Transforming data with JSONata": input {"title": "Doctor"}, customerName "María".
    let arguments = json!({
        "static": "Hello",
        "title": "{% $states.input.title %}",
        "name": "{% $customerName %}",
        "not-evaluated": "$customerName"
    });
    let result = template(
        arguments,
        &json!({"input": {"title": "Doctor"}}),
        &json!({"customerName": "María"}),
    )
    .unwrap();
    assert_eq!(
        result,
        json!({"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"})
    );
}

#[test]
fn templates_walk_objects_and_arrays_and_leave_the_rest() {
    let states = input();
    let value = json!({
        "items": [1, "{% $number('2') %}", 3],
        "quotes": "{% \"double\" & 'single' %}",
        "constant_jp_input.$": "$",
        "literals": ["$states.input", "$no.such.var", "$$", "States.Format('x', 1)", " {% 1 %}"],
        "nested": {"deep": ["{% $states.input.n %}"]},
        "number": 7,
    });
    assert_eq!(
        template(value, &states, &json!({})).unwrap(),
        json!({
            "items": [1, 2, 3],
            "quotes": "doublesingle",
            "constant_jp_input.$": "$",
            "literals": ["$states.input", "$no.such.var", "$$", "States.Format('x', 1)", " {% 1 %}"],
            "nested": {"deep": [5]},
            "number": 7,
        })
    );
    // A whole field may be one expression, of any JSON type.
    for (value, expected) in [
        (json!("{% $states.input.obj %}"), json!({"a": 1})),
        (json!("{% null %}"), json!(null)),
        (json!("{% 0.1 %}"), json!(0.1)),
        (json!("{% 'string literal' %}"), json!("string literal")),
        (json!("{% $variable := 1 %}"), json!(1)),
    ] {
        assert_eq!(template(value, &states, &json!({})).unwrap(), expected);
    }
    let constant = JsonataTemplate::compile(&json!({"a": ["$x"]})).unwrap();
    assert_eq!(constant.constant(), Some(&json!({"a": ["$x"]})));
    assert!(JsonataTemplate::compile(&json!({"a": "{% 1 %}"}))
        .unwrap()
        .constant()
        .is_none());
}

#[test]
fn template_reports_what_its_expressions_read() {
    let template = JsonataTemplate::compile(&json!({
        "a": "{% $states.input.x + $count %}",
        "b": ["{% $states.result.Payload %}", "{% ($t := $total + 1; $t) %}"],
        "c": "$literal"
    }))
    .unwrap();
    assert_eq!(
        template.variables(),
        ["count", "total"].map(String::from).into()
    );
    assert_eq!(
        template.states_fields(),
        ["input", "result"].map(String::from).into()
    );
    let locations: Vec<&str> = template.expressions().iter().map(|(l, _)| *l).collect();
    assert_eq!(locations, ["a", "b[0]", "b[1]"]);
}

#[test]
fn variable_analysis_leaves_out_what_the_expression_binds() {
    let vars = |body: &str| -> Vec<String> {
        Expression::compile(body)
            .unwrap_or_else(|e| panic!("{body}: {e}"))
            .variables()
            .into_iter()
            .collect()
    };
    assert_eq!(vars("$a + $b.c + $states.input.x"), ["a", "b"]);
    assert_eq!(vars("($x := 1; $x + $y)"), ["y"]);
    // The right side of `:=` reads the outer value.
    assert_eq!(vars("($total := $total + 1; $total)"), ["total"]);
    assert_eq!(
        vars("$map($xs, function($v, $i) { $v + $i + $k })"),
        ["k", "xs"]
    );
    assert_eq!(vars("($f := function($n) { $n + $g }; $f(1))"), ["g"]);
    assert_eq!(vars("$states.input.items#$i[$i > 0]"), Vec::<String>::new());
    assert_eq!(
        vars("$states.input.items@$o.($o.price)"),
        Vec::<String>::new()
    );
    assert_eq!(vars("$string($states)"), Vec::<String>::new());
    assert_eq!(
        vars("$uppercase('a') & $hash('x', 'MD5')"),
        Vec::<String>::new()
    );
    // The literal text of strings and regexes is not read.
    assert_eq!(
        vars("'$notavar' & $contains('a', /\\$b/)"),
        Vec::<String>::new()
    );
}

#[test]
fn states_fields_name_the_members_read() {
    let fields = |body: &str| -> Vec<String> {
        Expression::compile(body)
            .unwrap()
            .states_fields()
            .into_iter()
            .collect()
    };
    assert_eq!(
        fields("$states.input.a & $states.result.b"),
        ["input", "result"]
    );
    assert_eq!(fields("$states.errorOutput.Cause"), ["errorOutput"]);
    assert_eq!(fields("$states.context"), ["context"]);
    assert_eq!(fields("$states.result[0]"), ["result"]);
    assert!(fields("$x").is_empty());
    // A bare `$states` reads everything; evaluation gives the whole object.
    assert!(fields("$keys($states)").is_empty());
    assert!(Expression::compile("$keys($states)")
        .unwrap()
        .reads_all_states());
    assert!(!Expression::compile("$states.input")
        .unwrap()
        .reads_all_states());
    assert!(JsonataTemplate::compile(&json!({"a": ["{% $states %}"]}))
        .unwrap()
        .reads_all_states());
    assert_eq!(eval("$keys($states)"), json!(["input", "context"]));
}

#[test]
fn aws_added_functions() {
    let cases = [
        // $partition [S test_array_partition].
        ("$partition([0,1,2,3], 2)", json!([[0, 1], [2, 3]])),
        ("$partition([0], 5)", json!([[0]])),
        ("$partition([0,1,2], 1)", json!([[0], [1], [2]])),
        ("$partition([0,1,2], 2)", json!([[0, 1], [2]])),
        ("$partition([1,2,3,4,5,6,7,8,9], 3)", json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]])),
        // $range [S test_array_range]: end included when reached; a single item comes out bare.
        ("$range(0, 9, 3)", json!([0, 3, 6, 9])),
        ("$range(0, 10, 3)", json!([0, 3, 6, 9])),
        ("$range(1, 9, 2)", json!([1, 3, 5, 7, 9])),
        ("$range(1, 9, 9)", json!(1)),
        ("$range(0, 6, 2)", json!([0, 2, 4, 6])),
        ("$range(5, 1, -2)", json!([5, 3, 1])),
        // $hash [I floci#2662 for "input"; standard digests of "abc"].
        ("$hash('input', 'SHA-1')", json!("140f86aae51ab9e1cda9b4254fe98a74eb54c1a1")),
        ("$hash('abc', 'MD5')", json!("900150983cd24fb0d6963f7d28e17f72")),
        (
            "$hash('abc', 'SHA-256')",
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ),
        (
            "$hash('abc', 'SHA-384')",
            json!("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        ),
        (
            "$hash('abc', 'SHA-512')",
            json!("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        ),
        // $parse [S test_json_manipulation_jsonata].
        ("$parse('-0')", json!(0)),
        ("$parse('1.1')", json!(1.1)),
        ("$parse('true')", json!(true)),
        ("$parse('\"HelloWorld\"')", json!("HelloWorld")),
        ("$parse('[1, 2, \"HelloWorld\"]')", json!([1, 2, "HelloWorld"])),
        ("$parse('{\"a\": {\"b\": 1}}').a.b", json!(1)),
        // $random(seed) is java.util.Random(seed).nextDouble() [I floci#2662: 42 → 0.7275636800328681].
        ("$random(42)", json!(0.7275636800328681)),
        ("$random(42) = $random(42)", json!(true)),
        ("$random(0)", json!(0.730967787376657)),
    ];
    for (body, expected) in cases {
        assert_eq!(eval(body), expected, "{body}");
    }
}

#[test]
fn random_and_uuid_draw_from_the_environment() {
    let draw = |body: &str, seed| run(body, &input(), &json!({}), seed).unwrap().unwrap();
    let r = draw("$random()", 1).as_f64().unwrap();
    assert!((0.0..1.0).contains(&r));
    assert_eq!(
        draw("$random()", 1),
        draw("$random()", 1),
        "same entropy, same number"
    );
    assert_ne!(draw("$random()", 1), draw("$random()", 2));
    // Two calls in one evaluation differ.
    assert_eq!(draw("$random() = $random()", 1), json!(false));

    let uuid = draw("$uuid()", 3);
    let uuid = uuid.as_str().unwrap();
    let parsed = uuid::Uuid::parse_str(uuid).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(uuid.len(), 36);
    assert_eq!(uuid, uuid.to_lowercase());
    assert_eq!(draw("$uuid()", 3), draw("$uuid()", 3));
    assert_ne!(draw("$uuid()", 3), draw("$uuid()", 4));
    assert_eq!(draw("$uuid() = $uuid()", 3), json!(false));

    let shuffled = draw("$shuffle([1,2,3,4,5,6,7,8])", 5);
    assert_eq!(shuffled, draw("$shuffle([1,2,3,4,5,6,7,8])", 5));
    let mut sorted: Vec<i64> = shuffled
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    sorted.sort();
    assert_eq!(sorted, [1, 2, 3, 4, 5, 6, 7, 8]);

    // An expression without randomness draws nothing.
    let states = input();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut reference = rand::rngs::StdRng::seed_from_u64(9);
    let mut env = Environment::new(&states, &NoVariables, &mut rng, now());
    Expression::compile("1 + 1")
        .unwrap()
        .evaluate(&mut env)
        .unwrap();
    assert_eq!(rng.next_u64(), reference.next_u64());
}

#[test]
fn clock_functions_read_the_environment() {
    assert_eq!(eval("$now()"), json!("2024-11-15T17:12:32.250Z"));
    assert_eq!(eval("$millis()"), json!(now().timestamp_millis()));
    assert_eq!(eval("$now() = $now()"), json!(true));
    assert_eq!(eval("$now('[Y0001]-[M01]-[D01]')"), json!("2024-11-15"));
    assert_eq!(
        eval("$fromMillis($millis())"),
        json!("2024-11-15T17:12:32.250Z")
    );
}

#[test]
fn syntax_errors_are_invalid_jsonata_expressions() {
    // Recorded AWS texts [I floci#2745], code removed.
    for (body, message) in [
        ("a[1,2)", "Expected \"]\", got \",\""),
        (
            "\"unterminated",
            "String literal must be terminated by a matching quote",
        ),
        ("1 +", "Unexpected end of expression"),
        (
            "{\"a\":}",
            "The symbol \"}\" cannot be used as a unary operator",
        ),
        ("$x :=", "Unexpected end of expression"),
        (
            "$match(\"a\", /abc",
            "No terminating / in regular expression",
        ),
        (
            "'it''s",
            "String literal must be terminated by a matching quote",
        ),
        ("1 /* note", "Comment has no closing tag"),
        ("", "Unexpected end of expression"),
    ] {
        let error = Expression::compile(body).unwrap_err();
        assert_eq!(error.kind, SyntaxErrorKind::Invalid, "{body}");
        assert_eq!(error.code(), "INVALID_JSONATA_EXPRESSION");
        assert_eq!(error.message, message, "{body}");
        assert_eq!(
            error.to_string(),
            format!("INVALID_JSONATA_EXPRESSION: {message}")
        );
    }
}

#[test]
fn top_level_references_are_unsupported() {
    // [I floci#2670]: a path opening with a field name has no context item to read.
    assert_eq!(
        compile_error("phone"),
        "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported."
    );
    for (body, name) in [
        ("foo.bar", "foo"),
        ("$count(foo)", "foo"),
        ("{'a': foo}", "foo"),
        ("1 + price", "price"),
        ("$", "$"),
        ("$$", "$$"),
        ("$$.a", "$$"),
    ] {
        assert_eq!(
            compile_error(body),
            format!("UNSUPPORTED_JSONATA_EXPRESSION: Reference to '{name}' at the top level is not supported."),
            "{body}"
        );
    }
    // Names relative to a value are fine.
    for body in [
        "$states.input.a[b = 1]",
        "$states.input.(a + b)",
        "$states.input.items^(price)",
        "$states.input.items{category: $sum(price)}",
        "$map($states.input.items, function($v) { $v.name })",
        "$states.input.arr[$ > 1]",
        "$x.y.z",
    ] {
        assert!(Expression::compile(body).is_ok(), "{body}");
    }
}

#[test]
fn template_syntax_errors_carry_their_pointers() {
    let errors = JsonataTemplate::compile(&json!({
        "ok": "{% 1 %}",
        "v": "{% phone %}",
        "list": [1, "{% 1 + %}"],
    }))
    .unwrap_err();
    let found: Vec<(String, String)> = errors
        .into_iter()
        .map(|(pointer, e)| (pointer, e.to_string()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "/v".to_string(),
                "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported."
                    .to_string()
            ),
            (
                "/list/1".to_string(),
                "INVALID_JSONATA_EXPRESSION: Unexpected end of expression".to_string()
            ),
        ]
    );
    let whole = JsonataTemplate::compile(&json!("{% ) %}")).unwrap_err();
    assert_eq!(whole[0].0, "");
}

#[test]
fn undefined_result_cause_matches_the_recorded_history() {
    // [S] Pass State2 with "Output": {"result": "{% $doesNotExist %}"}, entered at event 6.
    let error = template(
        json!({"result": "{% $doesNotExist %}"}),
        &input(),
        &json!({}),
    )
    .unwrap_err()
    .in_field("Output");
    assert_eq!(error.location(), Some("Output/result"));
    assert!(error.is_undefined());
    assert_eq!(
        error.cause_in_state("State2", 6),
        "An error occurred while executing the state 'State2' (entered at the event id #6). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."
    );
    assert_eq!(QueryEvaluationError::ERROR, "States.QueryEvaluationError");
    // Locations inside arrays.
    let error = template(json!({"list": [1, "{% $nope %}"]}), &input(), &json!({}))
        .unwrap_err()
        .in_field("Arguments");
    assert_eq!(error.location(), Some("Arguments/list[1]"));
    // Undefined as a value, where a field allows leaving it out.
    assert_eq!(
        run("$states.input.nope", &input(), &json!({}), 1).unwrap(),
        None
    );
    assert_eq!(
        run("$states.result", &input(), &json!({}), 1).unwrap(),
        None,
        "no result in $states"
    );
}

#[test]
fn removed_and_unknown_functions_are_not_functions() {
    // [S test_math_random_seeded] and [I floci#2737: $eval is removed at run time].
    let error = eval_with(
        "$randomSeeded($states.input.FunctionInput.fst)",
        &json!({"input": {"FunctionInput": {"fst": 3}}}),
        &json!({}),
    )
    .unwrap_err()
    .in_field("Output/FunctionResult");
    assert_eq!(
        error.cause_in_state("State_0", 2),
        "An error occurred while executing the state 'State_0' (entered at the event id #2). The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' specified for the field 'Output/FunctionResult' threw an error during evaluation. T1006: Attempted to invoke a non-function"
    );
    assert_eq!(error.jsonata_code(), Some("T1006"));
    assert_eq!(
        cause("$eval(\"1+1\")"),
        "The JSONata expression '$eval(\"1+1\")' specified for the field 'Output' threw an error during evaluation. T1006: Attempted to invoke a non-function"
    );
    // `$eval` still parses: AWS accepts the definition [I floci#2737].
    assert!(Expression::compile("$eval('1')").is_ok());
}

#[test]
fn runtime_error_causes_use_jsonata_js_wording() {
    let threw = |body: &str, tail: &str| {
        assert_eq!(
            cause(body),
            format!("The JSONata expression '{body}' specified for the field 'Output' threw an error during evaluation. {tail}"),
        );
    };
    // [I floci#2668].
    threw(
        "$sum($states.input.mixed)",
        "T0412: Argument 1 of function \"sum\" must be an array of \"numbers\"",
    );
    threw(
        "$abs('a')",
        "T0410: Argument 1 of function \"abs\" does not match function signature",
    );
    threw(
        "'a' + 1",
        "T2001: The left side of the \"+\" operator must evaluate to a number",
    );
    threw(
        "1 - 'a'",
        "T2002: The right side of the \"-\" operator must evaluate to a number",
    );
    threw(
        "$number('abc')",
        "D3030: Unable to cast value to a number: \"abc\"",
    );
    // [I floci#2737]: $formatNumber(1, "x") fails D3086.
    threw(
        "$formatNumber(1, 'x')",
        "D3086: The sub-picture must not contain a passive character that is preceded by an active character and that is followed by another active character",
    );
    threw("$error('boom')", "D3137: boom");
    threw(
        "$single([])",
        "D3139: The $single() function expected exactly 1 matching result.  Instead it matched 0.",
    );
    // Our own functions' argument failures carry no JSONata code, so AWS's colon form applies.
    assert_eq!(
        cause("$hash('a', 'SHA-3')"),
        "The JSONata expression '$hash('a', 'SHA-3')' specified for the field 'Output' threw an error during evaluation: Invalid arguments in $hash: unsupported hash algorithm 'SHA-3'; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
    );
}

#[test]
fn bounds_are_reported_without_a_code() {
    // [I floci#2737/#2783]: [1..873782] is accepted, one more is refused.
    assert_eq!(eval("$count([1..873782])"), json!(873782));
    assert_eq!(
        cause("$count([1..873783])"),
        "The JSONata expression '$count([1..873783])' specified for the field 'Output' threw an error during evaluation: Expression evaluation memory limit exceeded: Check for excessive memory usage"
    );
    assert_eq!(
        cause("$range(0, 1000000, 1)"),
        "The JSONata expression '$range(0, 1000000, 1)' specified for the field 'Output' threw an error during evaluation: Expression evaluation memory limit exceeded: Check for excessive memory usage"
    );
}

#[test]
fn result_type_errors() {
    // [S]: a function value is not a JSON result.
    let error = eval_with("$fn := function($x){$x}", &input(), &json!({}))
        .unwrap_err()
        .in_field("Items");
    assert_eq!(
        error.cause(),
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' returned an unsupported result type."
    );
    // The engine checks a field's type and reports it in AWS's words [S].
    let error = QueryEvaluationError::unexpected_type("$states.input.n", "array", &json!(5))
        .in_field("Items");
    assert_eq!(
        error.cause(),
        "The JSONata expression '$states.input.n' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 5"
    );
    assert_eq!(error.location(), Some("Items"));
    let error = QueryEvaluationError::other("Map state input must be an array but was: {\"a\":1}");
    assert_eq!(error.location(), None);
    assert_eq!(
        error.cause_in_state("M", 4),
        "An error occurred while executing the state 'M' (entered at the event id #4). Map state input must be an array but was: {\"a\":1}"
    );
    // [I floci#2736]: an evaluator fault is "internal", with an id.
    let error = QueryEvaluationError::internal("$f()", "0d5e1f3c-2f4b-4c4e-9a43-7d6d1b9f3e21")
        .in_field("Output");
    assert_eq!(
        error.cause(),
        "The JSONata expression '$f()' specified for the field 'Output' threw an internal error during evaluation. 0d5e1f3c-2f4b-4c4e-9a43-7d6d1b9f3e21"
    );
    assert_eq!(json_type_name(&json!(null)), "null");
    assert_eq!(json_type_name(&json!({})), "object");
}

#[test]
fn bad_arguments_to_aws_functions_fail_the_evaluation() {
    for body in [
        "$partition([1], 0)",
        "$partition([1], 'a')",
        "$range(0, 5, 0)",
        "$range('a', 5, 1)",
        "$hash(1, 'MD5')",
        "$parse('{')",
        "$parse(1)",
        "$random('a')",
        "$uuid(1)",
    ] {
        let error = eval_with(body, &input(), &json!({})).unwrap_err();
        assert!(
            error.cause().contains("threw an error during evaluation"),
            "{body}: {error}"
        );
    }
    // Undefined in, undefined out.
    for body in [
        "$partition($nope, 2)",
        "$hash($nope, 'MD5')",
        "$parse($nope)",
    ] {
        assert_eq!(run(body, &input(), &json!({}), 1).unwrap(), None, "{body}");
    }
}

#[test]
fn workflow_variables_may_bear_function_names() {
    // `$count` reads the variable when one exists, the function is still callable by name.
    let variables = json!({"count": 3, "range": [1, 2], "hash": "h"});
    let value = |body: &str| eval_with(body, &input(), &variables).unwrap();
    assert_eq!(value("$count + 1"), json!(4));
    assert_eq!(value("$range"), json!([1, 2]));
    assert_eq!(value("$hash"), json!("h"));
    assert_eq!(value("$count($range)"), json!(2));
    assert_eq!(
        Expression::compile("$count + $count($range)")
            .unwrap()
            .variables(),
        ["count", "range"].map(String::from).into()
    );
}

#[test]
fn one_expression_evaluates_on_many_threads() {
    let expression = Expression::compile("$sum($states.input.arr) * $k + $random(7)").unwrap();
    let expected = {
        let states = input();
        let variables = json!({"k": 2});
        eval_with(expression.source(), &states, &variables).unwrap()
    };
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let expression = expression.clone();
            std::thread::spawn(move || {
                let states = input();
                let variables = json!({"k": 2});
                let mut rng = rand::rngs::StdRng::seed_from_u64(k);
                let mut env =
                    Environment::new(&states, variables.as_object().unwrap(), &mut rng, now());
                (0..50)
                    .map(|_| expression.evaluate(&mut env).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap().iter().all(|v| *v == expected));
    }
}

#[test]
fn choice_conditions_and_numeric_fields() {
    let states = json!({"input": {"age": 20, "status": "active", "wait": 3}});
    let check = |body: &str| eval_with(body, &states, &json!({"limit": 18})).unwrap();
    assert_eq!(check("$states.input.age >= 18"), json!(true));
    assert_eq!(
        check("$states.input.status = 'active' and $states.input.age > $limit"),
        json!(true)
    );
    assert_eq!(check("$states.input.status in ['a', 'b']"), json!(false));
    assert_eq!(check("$states.input.wait * 2"), json!(6));
    assert_eq!(check("$not($exists($states.input.missing))"), json!(true));
}

#[test]
fn jsonata_builtins_as_documented() {
    // Examples of docs.jsonata.org (JSONata 2.0): they pin the evaluator crate's behaviour.
    let cases = [
        ("$round(123.456, 2)", json!(123.46)),
        ("$round(11.5)", json!(12)),
        ("$round(12.5)", json!(12)),
        ("$floor(5.3)", json!(5)),
        ("$ceil(5.3)", json!(6)),
        ("$abs(-5)", json!(5)),
        ("$power(2, 8)", json!(256)),
        ("$sqrt(4)", json!(2)),
        ("$formatNumber(12345.6, '#,###.00')", json!("12,345.60")),
        ("$formatBase(100, 2)", json!("1100100")),
        (
            "$formatInteger(2789, 'w')",
            json!("two thousand, seven hundred and eighty-nine"),
        ),
        ("$parseInteger('12,345,678', '#,##0')", json!(12345678)),
        ("$number('0x12')", json!(18)),
        ("$string(5)", json!("5")),
        ("$string([1, 2])", json!("[1,2]")),
        // $string keeps 15 significant digits, as jsonata-js does.
        ("$string(0.1 + 0.2)", json!("0.3")),
        ("$length('Hello World')", json!(11)),
        ("$substringBefore('Hello World', ' ')", json!("Hello")),
        ("$substringAfter('Hello World', ' ')", json!("World")),
        ("$trim('   Hello  \n World  ')", json!("Hello World")),
        ("$pad('foo', 5)", json!("foo  ")),
        ("$pad('foo', -5, '#')", json!("##foo")),
        ("$replace('abracadabra', /a.*?a/, '*')", json!("*c*bra")),
        (
            "$replace('John Smith', /(\\w+)\\s(\\w+)/, '$2, $1')",
            json!("Smith, John"),
        ),
        ("$split('so many words', ' ', 2)", json!(["so", "many"])),
        (
            "$match('ababbabbcc', /a(b+)/).match",
            json!(["ab", "abb", "abb"]),
        ),
        (
            "$base64encode('myuser:mypassword')",
            json!("bXl1c2VyOm15cGFzc3dvcmQ="),
        ),
        (
            "$base64decode('bXl1c2VyOm15cGFzc3dvcmQ=')",
            json!("myuser:mypassword"),
        ),
        ("$encodeUrlComponent('?x=test')", json!("%3Fx%3Dtest")),
        (
            "$encodeUrl('https://mozilla.org/?x=шеллы')",
            json!("https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B"),
        ),
        ("$decodeUrlComponent('%3Fx%3Dtest')", json!("?x=test")),
        ("$boolean('')", json!(false)),
        ("$boolean('0')", json!(true)),
        ("$boolean([])", json!(false)),
        ("$type(null)", json!("null")),
        ("$type([])", json!("array")),
        ("$type($states)", json!("object")),
        ("$average([1, 2, 3])", json!(2)),
        ("$max([1, 5, 3])", json!(5)),
        ("$append([1, 2], [3])", json!([1, 2, 3])),
        ("$reverse([1, 2, 3])", json!([3, 2, 1])),
        ("$sort([3, 1, 2])", json!([1, 2, 3])),
        (
            "$sort(['b', 'a'], function($l, $r) { $l < $r })",
            json!(["b", "a"]),
        ),
        ("$distinct([1, 2, 2, 3])", json!([1, 2, 3])),
        ("$zip([1, 2], [3, 4])", json!([[1, 3], [2, 4]])),
        ("$keys({'a': 1, 'b': 2})", json!(["a", "b"])),
        ("$lookup({'a': 1}, 'a')", json!(1)),
        ("$spread({'a': 1, 'b': 2})", json!([{"a": 1}, {"b": 2}])),
        ("$merge([{'a': 1}, {'b': 2}])", json!({"a": 1, "b": 2})),
        (
            "$each({'a': 1, 'b': 2}, function($v, $k) { $k & $v })",
            json!(["a1", "b2"]),
        ),
        (
            "$sift({'a': 1, 'b': 2}, function($v) { $v > 1 })",
            json!({"b": 2}),
        ),
        ("$filter([1, 2, 3], function($v) { $v > 1 })", json!([2, 3])),
        ("$single([1, 2, 3], function($v) { $v = 2 })", json!(2)),
        ("$toMillis('1970-01-01T00:00:00.001Z')", json!(1)),
        (
            "$fromMillis(1510067557121)",
            json!("2017-11-07T15:12:37.121Z"),
        ),
        ("$fromMillis(1510067557121, '[H01]:[m01]')", json!("15:12")),
        ("$states.input.objs^(>o.z).o.z", json!([2, 1])),
        ("$states.input.arr ~> $sum()", json!(6)),
        (
            "$states.input.objs{'total': $sum(o.z)}",
            json!({"total": 3}),
        ),
        ("$states.input.arr[[0..1]]", json!([1, 2])),
        ("$states.input.objs#$i[$i = 1].o.z", json!(2)),
        ("$states.input.mixed[$type($) = 'string']", json!("a")),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(body, expected)| {
            let got = eval_with(body, &input(), &json!({})).map_err(|e| e.cause());
            (got.as_ref() != Ok(expected)).then(|| format!("{body}: {got:?}, want {expected}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn plain_paths_read_values_as_the_evaluator_does() {
    // Plain paths (`$states.input.a.b`, `$v.a`) skip the evaluator; these pin that they agree with it.
    let states = json!({"input": {"one": [5], "two": [1, 2], "o": {"one": [5], "n": null},
        "f": 1.0, "big": 12345678901234567890u64, "objs": [{"a": 1}, {"a": 2}], "s": "x",
        "n1": [[1, 2]], "n2": [[1], [2]], "e": [], "m": [1, [2, 3]]}});
    let variables = json!({"x": [7], "y": {"one": [5], "f": 2.0}, "z": "s"});
    let cases = [
        ("$states.input.one", Some(json!([5]))),
        ("$states.input.o.one", Some(json!([5]))),
        ("$states.input.two", Some(json!([1, 2]))),
        ("$states.input.f", Some(json!(1))),
        ("$states.input.big", Some(json!(12345678901234567890.0f64))),
        ("$states.input.objs.a", Some(json!([1, 2]))),
        ("$states.input.objs", Some(json!([{"a": 1}, {"a": 2}]))),
        ("$states.input.o.n", Some(json!(null))),
        ("$states.input.n1", Some(json!([[1, 2]]))),
        ("$states.input.n2", Some(json!([[1], [2]]))),
        ("$states.input.e", Some(json!([]))),
        ("$states.input.m", Some(json!([1, [2, 3]]))),
        ("$states.input.o.n.x", None),
        ("$states.input.s.length", None),
        ("$states.input.missing.x", None),
        ("$states.result", None),
        ("$states.input.`o`.one", Some(json!([5]))),
        ("$x", Some(json!([7]))),
        ("$y.one", Some(json!([5]))),
        ("$y.f", Some(json!(2))),
        ("$z", Some(json!("s"))),
        ("$nope", None),
        ("$nope.a", None),
    ];
    for (body, expected) in cases {
        let expression = Expression::compile(body).unwrap();
        assert!(
            expression.inner.fast.is_some(),
            "{body} takes the plain path"
        );
        assert_eq!(
            run(body, &states, &variables, 1).unwrap(),
            expected,
            "{body}"
        );
        // The same expression through the evaluator.
        let evaluator_only = Expression {
            inner: Arc::new(Compiled {
                source: expression.inner.source.clone(),
                ast: expression.inner.ast.clone(),
                facts: analysis::analyse(&expression.inner.ast),
                fast: None,
            }),
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut env = Environment::new(&states, variables.as_object().unwrap(), &mut rng, now());
        assert_eq!(
            evaluator_only.evaluate_optional(&mut env).unwrap(),
            expected,
            "{body} (evaluator)"
        );
    }
    assert!(Expression::compile("$states.input.a[0]")
        .unwrap()
        .inner
        .fast
        .is_none());
    assert!(Expression::compile("$string").unwrap().inner.fast.is_some());
    assert!(
        eval_with("$string", &states, &json!({})).is_err(),
        "a function, not a value"
    );
}

proptest::proptest! {
    #[test]
    fn compile_and_evaluate_never_panic(text in "[$a-c0-9'\\\"(){}\\[\\]:;,.*+\\-/%&=<>!?^~@#| ]{0,40}") {
        if let Ok(expression) = Expression::compile(&text) {
            let _ = run(expression.source(), &input(), &json!({"a": [1, {"b": 2}], "b": "s"}), 1);
        }
    }

    #[test]
    fn function_calls_never_panic(
        name in proptest::sample::select(vec![
            "partition", "range", "hash", "random", "uuid", "parse", "now", "millis", "shuffle", "eval",
            "string", "number", "sum", "substring", "split", "join", "match", "replace", "formatNumber",
            "formatInteger", "fromMillis", "toMillis", "base64decode", "sort", "lookup", "merge", "each",
        ]),
        args in "[$a-c0-9'(),.\\[\\] \\-]{0,24}",
    ) {
        let text = format!("${name}({args})");
        if let Ok(expression) = Expression::compile(&text) {
            let _ = run(expression.source(), &input(), &json!({"a": [1, {"b": 2}], "b": "s"}), 1);
        }
    }
}
