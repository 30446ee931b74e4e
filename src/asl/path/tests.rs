use super::*;
use proptest::prelude::*;
use serde_json::json;

fn store() -> Value {
    json!({
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
                {"category": "fiction", "author": "J. R. R. Tolkien", "title": "Rings", "isbn": "0-395", "price": 22.99}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        },
        "a": {"b": 1, "b c": 2, "x.y": 3, "nums": [0, 1, 2, 3, 4], "nil": null},
        "store.book": "escaped",
        "név": "unicode",
        "with-dash": 5,
        "$dollar": 6,
        "9lives": 7
    })
}

#[test]
fn reads_match_jayway() {
    let input = store();
    let context = json!({"Execution": {"Name": "exec-1"}, "State": {"Name": "S"}});
    let cases: Vec<(&str, Value)> = vec![
        ("$", input.clone()),
        ("$.a.b", json!(1)),
        ("$['a']['b c']", json!(2)),
        ("$[\"a\"][\"b\"]", json!(1)),
        ("$['a']['x.y']", json!(3)),
        ("$.a.nums[0]", json!(0)),
        ("$.a.nums[-1]", json!(4)),
        ("$.a.nums[ 1 ]", json!(1)),
        ("$.a.nums[*]", json!([0, 1, 2, 3, 4])),
        ("$.a.nums[0,2]", json!([0, 2])),
        ("$.a.nums[1:3]", json!([1, 2])),
        ("$.a.nums[:2]", json!([0, 1])),
        ("$.a.nums[-2:]", json!([3, 4])),
        ("$.a.nums[3:1]", json!([])),
        ("$.a.nums[7]", json!(null)),
        ("$.a.nil", json!(null)),
        (
            "$['a','with-dash']",
            json!({"a": input["a"].clone(), "with-dash": 5}),
        ),
        (
            "$.*",
            Value::Array(input.as_object().unwrap().values().cloned().collect()),
        ),
        ("$.store.bicycle.*", json!(["red", 19.95])),
        (
            "$.store.book[*].author",
            json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ]),
        ),
        ("$..price", json!([8.95, 12.99, 8.99, 22.99, 19.95])),
        ("$.store..color", json!(["red"])),
        ("$..book[2].title", json!(["Moby Dick"])),
        (
            "$.store.book[?(@.price > 10)].title",
            json!(["Sword", "Rings"]),
        ),
        (
            "$.store.book[?(@.price >= 8.99)].title",
            json!(["Sword", "Moby Dick", "Rings"]),
        ),
        (
            "$.store.book[?(@.price <= 8.99)].title",
            json!(["Sayings", "Moby Dick"]),
        ),
        (
            "$.store.book[?(@.price < 9 && @.category == 'fiction')].title",
            json!(["Moby Dick"]),
        ),
        (
            "$.store.book[?(@.category == \"reference\" || @.price > 20)].title",
            json!(["Sayings", "Rings"]),
        ),
        (
            "$.store.book[?(@.category != 'fiction')].title",
            json!(["Sayings"]),
        ),
        (
            "$.store.book[?(@.isbn)].title",
            json!(["Moby Dick", "Rings"]),
        ),
        (
            "$.store.book[?(!@.isbn)].title",
            json!(["Sayings", "Sword"]),
        ),
        (
            "$.store.book[?(@.price < $.store.bicycle.price)].price",
            json!([8.95, 12.99, 8.99]),
        ),
        ("$..book[?(@.author == 'Nigel Rees')].price", json!([8.95])),
        ("$.store\\.book", json!("escaped")),
        ("$.név", json!("unicode")),
        ("$.with-dash", json!(5)),
        ("$.$dollar", json!(6)),
        ("$.9lives", json!(7)),
        ("$..nothing", json!([])),
        ("$$", context.clone()),
        ("$$.Execution.Name", json!("exec-1")),
        ("$$.State", json!({"Name": "S"})),
    ];
    for (text, expected) in cases {
        let path = JsonPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let got = path.read(&input, &context);
        if text == "$.a.nums[7]" {
            assert_eq!(
                got,
                Err(PathError::new("No results for path: $['a']['nums'][7]")),
                "{text}"
            );
            continue;
        }
        assert_eq!(got, Ok(expected), "{text}");
    }
}

#[test]
fn read_errors_use_jayway_wording() {
    let input = json!({"a": {"b": 1, "list": [1]}, "n": null, "s": "text"});
    let cases = [
        ("$.x", "No results for path: $['x']"),
        ("$.a.x", "No results for path: $['a']['x']"),
        ("$.no.b", "Missing property in path $['no']"),
        ("$.a.no.c", "Missing property in path $['a']['no']"),
        ("$.a.list[3]", "No results for path: $['a']['list'][3]"),
        (
            "$.a.b.c",
            "Expected to find an object with property ['c'] in path $['a']['b'] but found 'java.lang.Integer'. \
             This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
        ),
        ("$.n[0]", "The path $['n'] is null"),
        // Jayway raises this before reaching the indefinite part of the path.
        ("$.missing[*]", "Missing property in path $['missing']"),
        ("$$.Execution", "No results for path: $['Execution']"),
    ];
    for (text, message) in cases {
        let path = JsonPath::parse(text).unwrap();
        assert_eq!(
            path.read(&input, &json!({})),
            Err(PathError::new(message)),
            "{text}"
        );
    }
}

#[test]
fn indefinite_paths_never_fail_on_missing_data() {
    let input = json!({"a": [{"b": 1}, {"c": 2}, 3]});
    for (text, expected) in [
        ("$.a[*].b", json!([1])),
        ("$.a[*].b.c", json!([])),
        ("$.a[0,1].c", json!([2])),
        ("$..b", json!([1])),
    ] {
        assert_eq!(
            JsonPath::parse(text).unwrap().read(&input, &json!({})),
            Ok(expected),
            "{text}"
        );
    }
}

#[test]
fn classification() {
    // (text, reference, definite, context)
    let cases = [
        ("$", true, true, false),
        ("$$", true, true, true),
        ("$.a.b", true, true, false),
        ("$['a'][0]", true, true, false),
        ("$$.Map.Item.Value", true, true, true),
        ("$.a[-1]", false, true, false),
        ("$['a','b']", false, true, false),
        ("$['a','b'].c", false, false, false),
        ("$.a[*]", false, false, false),
        ("$.*", false, false, false),
        ("$..a", false, false, false),
        ("$.a[0,1]", false, false, false),
        ("$.a[1:2]", false, false, false),
        ("$.a[?(@.x)]", false, false, false),
    ];
    for (text, reference, definite, context) in cases {
        let path = JsonPath::parse(text).unwrap();
        assert_eq!(path.is_reference(), reference, "reference {text}");
        assert_eq!(path.is_definite(), definite, "definite {text}");
        assert_eq!(path.is_context(), context, "context {text}");
        assert_eq!(path.as_str(), text);
        assert_eq!(
            JsonPath::parse_reference(text).is_ok(),
            reference,
            "parse_reference {text}"
        );
    }
}

#[test]
fn rejects_garbage() {
    for text in [
        "",
        "a",
        "a.b",
        " $",
        "$.",
        "$.a.",
        "$..",
        "$[",
        "$['a'",
        "$['a]",
        "$[a]",
        "$.a[",
        "$.a[0",
        "$.a b",
        "$1a",
        "$a-b",
        "$a b",
        "$.a[0x]",
        "$.a[?(@.x >)]",
        "$.a[?(@.x]",
        "$.a[?()]",
        "$.a]",
        "$.a..",
        "$..a.",
        "$.a\\",
        "$.a[1:2:3]",
        "$$$",
        "$.a[?(@.x == 'y)]",
    ] {
        assert!(JsonPath::parse(text).is_err(), "{text:?} should not parse");
    }
}

#[test]
fn writes_result_paths() {
    let target = json!({"a": {"b": 1}, "list": [1, 2], "s": "x"});
    let cases: Vec<(&str, Result<Value, &str>)> = vec![
        ("$", Ok(json!("v"))),
        ("$.a.b", Ok(json!({"a": {"b": "v"}, "list": [1, 2], "s": "x"}))),
        ("$.a.c", Ok(json!({"a": {"b": 1, "c": "v"}, "list": [1, 2], "s": "x"}))),
        ("$.new.deep.er", Ok(json!({"a": {"b": 1}, "list": [1, 2], "s": "x", "new": {"deep": {"er": "v"}}}))),
        ("$.list[1]", Ok(json!({"a": {"b": 1}, "list": [1, "v"], "s": "x"}))),
        ("$['a']['b c']", Ok(json!({"a": {"b": 1, "b c": "v"}, "list": [1, 2], "s": "x"}))),
        ("$.s.t", Err("Unable to apply ResultPath '$.s.t': cannot set property ['t'] because $['s'] is a string, not an object")),
        ("$.a.b.c", Err("Unable to apply ResultPath '$.a.b.c': cannot set property ['c'] because $['a']['b'] is a number, not an object")),
        ("$.list[5]", Err("Unable to apply ResultPath '$.list[5]': index [5] is out of bounds for $['list'] (length 2)")),
        ("$.a[0]", Err("Unable to apply ResultPath '$.a[0]': cannot set element [0] because $['a'] is an object, not an array")),
        ("$.list[*]", Err("'$.list[*]' is not a reference path")),
        ("$$.Execution", Err("Cannot write to the Context Object path '$$.Execution'")),
    ];
    for (text, expected) in cases {
        let got = JsonPath::parse(text)
            .unwrap()
            .write(target.clone(), json!("v"));
        assert_eq!(got, expected.map_err(PathError::new), "{text}");
    }
    // A scalar target only accepts `$`.
    assert!(JsonPath::parse("$.a")
        .unwrap()
        .write(json!(3), json!(1))
        .is_err());
}

proptest! {
    #[test]
    fn parser_never_panics(text in "\\PC{0,40}") {
        let _ = JsonPath::parse(&text);
    }

    #[test]
    fn parser_never_panics_on_path_like_text(text in "\\$[\\$.\\[\\]'\"a-c0-9*?@()<>=!&|:, \\-\\\\]{0,40}") {
        if let Ok(path) = JsonPath::parse(&text) {
            let input = json!({"a": [{"b": 1}, {"c": [2, 3]}], "b": {"c": null}});
            let _ = path.read(&input, &input);
            let _ = path.write(input.clone(), json!(1));
        }
    }
}

#[test]
fn deeply_nested_filters_are_rejected_not_overflowed() {
    let text = format!("$[?({}@.a{})]", "(".repeat(5000), ")".repeat(5000));
    assert!(JsonPath::parse(&text).is_err());
    let text = format!("$[?({}@.a)]", "!".repeat(5000));
    assert!(JsonPath::parse(&text).is_err());
}

fn variables() -> Map<String, Value> {
    json!({
        "name": "Ada",
        "order": {"items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 0}], "id": 7},
        "list": [10, 20, 30],
        "_under": true,
        "nil": null
    })
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn variable_roots_read_workflow_variables() {
    let input = json!({"name": "input-name", "list": [1]});
    let context = json!({"Execution": {"Name": "exec-1"}});
    let vars = variables();
    let roots = Roots {
        input: &input,
        context: &context,
        variables: &vars,
    };
    let cases: Vec<(&str, Value)> = vec![
        ("$name", json!("Ada")),
        ("$order.id", json!(7)),
        ("$order.items[1].sku", json!("b")),
        ("$order['items'][0]['qty']", json!(2)),
        ("$list[0]", json!(10)),
        ("$list[-1]", json!(30)),
        ("$list[*]", json!([10, 20, 30])),
        ("$order.items[?(@.qty > 0)].sku", json!(["a"])),
        ("$order..sku", json!(["a", "b"])),
        ("$_under", json!(true)),
        ("$nil", json!(null)),
        // `$` alone and `$.x` stay the input; `$$` the Context object.
        ("$", input.clone()),
        ("$.name", json!("input-name")),
        ("$$.Execution.Name", json!("exec-1")),
    ];
    for (text, expected) in cases {
        let path = JsonPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(path.read_in(&roots), Ok(expected), "{text}");
    }
}

#[test]
fn variable_paths_name_their_variable() {
    for (text, variable, context) in [
        ("$name", Some("name"), false),
        ("$name.a.b", Some("name"), false),
        ("$name[0]", Some("name"), false),
        ("$été.x", Some("été"), false),
        ("$_x1", Some("_x1"), false),
        ("$", None, false),
        ("$.name", None, false),
        ("$['name']", None, false),
        ("$$.Execution", None, true),
    ] {
        let path = JsonPath::parse(text).unwrap();
        assert_eq!(path.variable(), variable, "{text}");
        assert_eq!(
            path.variables(),
            variable.map(str::to_string).into_iter().collect(),
            "{text}"
        );
        assert_eq!(path.is_context(), context, "{text}");
    }
    // A variable path may select one node, so Choice `…Path` operands and `…SecondsPath` fields accept it.
    assert!(JsonPath::parse_reference("$x.a[0]").is_ok());
    assert!(JsonPath::parse_reference("$x[*]").is_err());
}

#[test]
fn unassigned_variables_fail_and_are_never_written() {
    let input = json!({});
    let context = json!({});
    let vars = variables();
    let roots = Roots {
        input: &input,
        context: &context,
        variables: &vars,
    };
    let path = JsonPath::parse("$missing.a").unwrap();
    assert_eq!(
        path.read_in(&roots).unwrap_err().message,
        "The variable '$missing' is not assigned"
    );
    // Without variables (the old entry point), every variable is unassigned.
    assert!(JsonPath::parse("$name")
        .unwrap()
        .read(&json!({"name": 1}), &context)
        .is_err());
    assert!(roots.document(&path).is_none());
    // Missing data under an assigned variable uses Jayway's wording, like the input.
    assert_eq!(
        JsonPath::parse("$order.nope.x")
            .unwrap()
            .read_in(&roots)
            .unwrap_err()
            .message,
        "Missing property in path $['nope']"
    );
    assert!(JsonPath::parse("$x")
        .unwrap()
        .write(json!({}), json!(1))
        .is_err());
}

#[test]
fn jayway_accepts_a_dot_before_a_bracket() {
    let input = json!({
        "Snapshots": [{"State": "completed"}, {"State": "pending"}],
        "list": [{"bucket": "b1", "key": "k1", "x": 0}, {"bucket": "b2", "key": "k2"}]
    });
    let array = json!([{"body": "one"}, {"body": "two"}]);
    let context = json!({});
    let cases: Vec<(&str, &Value, Value)> = vec![
        ("$.[0]", &array, json!({"body": "one"})),
        ("$.[0].body", &array, json!("one")),
        ("$.[-1].body", &array, json!("two")),
        ("$.[*].body", &array, json!(["one", "two"])),
        ("$.Snapshots.[0].State", &input, json!("completed")),
        ("$.['Snapshots'][1].State", &input, json!("pending")),
        (
            "$.list.[*].['bucket', 'key']",
            &input,
            json!([{"bucket": "b1", "key": "k1"}, {"bucket": "b2", "key": "k2"}]),
        ),
        ("$.list.[?(@.x == 0)].key", &input, json!(["k1"])),
        ("$..[0].State", &input, json!(["completed"])),
    ];
    for (text, document, expected) in cases {
        let path = JsonPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(path.read(document, &context), Ok(expected), "{text}");
    }
    // `$.[0]` selects one node, like `$[0]`.
    assert!(JsonPath::parse_reference("$.Snapshots.[0].State").is_ok());
    assert!(JsonPath::parse("$.[0]").unwrap().is_definite());
    // Jayway still refuses `..` followed by `.`, and a `.` at the end.
    for text in ["$...a", "$.a.", "$.["] {
        assert!(JsonPath::parse(text).is_err(), "{text}");
    }
}

#[test]
fn a_bare_word_in_a_filter_parses_but_every_read_fails_as_jayway_compiles_it() {
    // Jayway reads a bare word as a number literal, finds no digit and gives up compiling the filter
    // (`FilterCompiler.readNumberLiteral` → `new BigDecimal("")`); AWS accepts the definition all the same.
    let path = JsonPath::parse("$.Labels[?(@.Name==Receipt)]").unwrap();
    let message = "Failed to parse filter: [?(@.Name==Receipt)], error on position: 11, char: R";
    for document in [
        json!({"Labels": [{"Name": "Receipt"}]}),
        json!({"Labels": []}),
        json!({}),
    ] {
        assert_eq!(
            path.read(&document, &json!({})).unwrap_err().message,
            message
        );
    }
    let spaced = JsonPath::parse("$.L[?(@.a == 'x' && @.b != word)]").unwrap();
    assert_eq!(
        spaced
            .read(&json!({"L": []}), &json!({}))
            .unwrap_err()
            .message,
        "Failed to parse filter: [?(@.a == 'x' && @.b != word)], error on position: 24, char: w"
    );
    // Literal words keep their meaning.
    let literal = JsonPath::parse("$.L[?(@.a == true || @.b == null)]").unwrap();
    assert_eq!(
        literal.read(
            &json!({"L": [{"a": true}, {"b": null}, {"a": 1}]}),
            &json!({})
        ),
        Ok(json!([{"a": true}, {"b": null}]))
    );
}

#[test]
fn a_trailing_function_parses_but_every_read_fails() {
    // AWS accepts `"Jobs.$": "$.Jobs.sum()"` in a definition and fails the execution when the field is read
    // (re:Post "AWS StepFunctions: sum() function returns error about not finding path").
    for (text, name) in [
        ("$.Jobs.sum()", "sum"),
        ("$.items.length()", "length"),
        ("$.a[0].b.keys()", "keys"),
        ("$.a.concat('x', $.b)", "concat"),
        ("$.length()", "length"),
    ] {
        let path = JsonPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(!path.is_reference(), "{text}");
        assert_eq!(
            path.read(
                &json!({"Jobs": [1, 2], "items": [], "a": [{"b": {}}]}),
                &json!({})
            )
            .unwrap_err()
            .message,
            format!("Functions such as {name}() are not supported in paths"),
            "{text}"
        );
    }
    for text in ["$.a.()", "$.a..sum()", "$.a sum()", "$.a(", "$.a)"] {
        assert!(JsonPath::parse(text).is_err(), "{text}");
    }
}
