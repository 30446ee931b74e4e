//! Steps per second of the pure engine (no database): `cargo bench --bench engine`.

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::SeedableRng;
use serde_json::{json, Map, Value};
use sfn::asl::{ExecutionInfo, ExecutionState, Resources, StateMachine, StepEnv};

struct NoActivities;

impl Resources for NoActivities {
    fn activity_exists(&self, _: &str) -> bool {
        false
    }
}

fn pass_chain(n: usize) -> Value {
    let states: Map<String, Value> = (0..n)
        .map(|i| {
            let body = if i + 1 == n {
                json!({"Type": "Pass", "End": true})
            } else {
                json!({"Type": "Pass", "Next": format!("S{}", i + 1)})
            };
            (format!("S{i}"), body)
        })
        .collect();
    json!({"StartAt": "S0", "States": states})
}

/// The pass chain in JSONata: each state's Output is built by an expression over `$states.input`, and
/// the first assigns a variable the others read.
fn jsonata_chain(n: usize) -> Value {
    let states: Map<String, Value> = (0..n)
        .map(|i| {
            let mut body = json!({"Type": "Pass",
                "Output": {"order": "{% $states.input.order %}", "step": i, "by": "{% $who %}"}});
            if i == 0 {
                body["Assign"] = json!({"who": "{% $states.input.order.id & '' %}"});
                body["Output"]["by"] = json!("first");
            }
            if i + 1 == n {
                body["End"] = json!(true);
            } else {
                body["Next"] = json!(format!("S{}", i + 1));
            }
            (format!("S{i}"), body)
        })
        .collect();
    json!({"QueryLanguage": "JSONata", "StartAt": "S0", "States": states})
}

fn choice_heavy() -> Value {
    // Ten Choice states, each testing several rules before routing on.
    let mut states = Map::new();
    for i in 0..10 {
        let next = if i == 9 {
            "Done".to_string()
        } else {
            format!("C{}", i + 1)
        };
        states.insert(
            format!("C{i}"),
            json!({"Type": "Choice", "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 1000, "Next": "Done"},
                {"And": [{"Variable": "$.s", "StringMatches": "x*"}, {"Variable": "$.b", "BooleanEquals": false}], "Next": "Done"},
                {"Or": [{"Variable": "$.n", "NumericLessThan": 0}, {"Not": {"Variable": "$.s", "IsString": true}}], "Next": "Done"},
                {"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": next}],
              "Default": "Done"}),
        );
    }
    states.insert("Done".into(), json!({"Type": "Succeed"}));
    json!({"StartAt": "C0", "States": states})
}

fn map(items: usize) -> (Value, Value) {
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "C"}, "C": {"Type": "Pass", "End": true}}}}}});
    (
        definition,
        Value::Array((0..items).map(|i| json!({"i": i})).collect()),
    )
}

/// Runs one execution to its end; returns how many history events it produced.
fn run(machine: &StateMachine, input: &Value) -> usize {
    let info = ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:bench:e".into(),
        name: "e".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into(),
        state_machine_name: "bench".into(),
        role_arn: "arn:aws:iam::123456789012:role/bench".into(),
        start_time: Utc::now(),
        input: input.clone(),
        redrive_count: 0,
        redrive_time: None,
    };
    let mut state = ExecutionState::new(info, machine);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut env = StepEnv {
        now: Utc::now(),
        rng: &mut rng,
        resources: &NoActivities,
    };
    let advance = state.advance(machine, &[], &mut env);
    assert!(
        advance.outcome.is_some(),
        "the execution finishes in one advance"
    );
    advance.events.len()
}

fn bench(c: &mut Criterion) {
    let cases = [
        (
            "pass_chain_10",
            pass_chain(10),
            json!({"order": {"id": 1, "items": [1, 2, 3]}}),
            10u64,
        ),
        (
            "jsonata_chain_10",
            jsonata_chain(10),
            json!({"order": {"id": 1, "items": [1, 2, 3]}}),
            10,
        ),
        (
            "choice_heavy_10",
            choice_heavy(),
            json!({"n": 5, "s": "abc", "b": true}),
            11,
        ),
        ("map_1000_x3", map(1000).0, map(1000).1, 3000),
    ];
    for (name, definition, input, states) in cases {
        let machine = StateMachine::from_json(&definition).expect("valid");
        let mut group = c.benchmark_group(name);
        // Throughput in states run, so the report reads as steps per second.
        group.throughput(Throughput::Elements(states));
        group.bench_function("execution", |b| b.iter(|| run(&machine, &input)));
        group.finish();
    }
}

/// One JSONata state's worth of expression work, without the engine: its `Output` and `Assign` templates
/// evaluated against a `$states` object (compile once, evaluate per execution, as the engine does).
fn jsonata(c: &mut Criterion) {
    use sfn::asl::jsonata::{Environment, Expression, JsonataTemplate};
    let states = json!({
        "input": {"order": {"id": 1, "items": [{"sku": "a", "price": 2.5, "qty": 2}, {"sku": "b", "price": 10, "qty": 1}]}},
        "context": {"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:bench:e", "Name": "e"},
                    "State": {"Name": "S0", "EnteredTime": "2024-11-15T17:12:32.250Z"}}
    });
    let variables = json!({"count": 3, "customer": "María"});
    let variables = variables.as_object().expect("object");
    let output = JsonataTemplate::compile(&json!({
        "order": "{% $states.input.order %}",
        "total": "{% $sum($states.input.order.items.(price * qty)) %}",
        "skus": "{% $states.input.order.items.sku %}",
        "greeting": "{% 'Hello ' & $customer %}",
        "state": "{% $states.context.State.Name %}"
    }))
    .expect("valid");
    let assign = JsonataTemplate::compile(&json!({"count": "{% $count + 1 %}"})).expect("valid");
    let condition =
        Expression::compile("$states.input.order.id > 0 and $count < 10").expect("valid");
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let now = Utc::now();
    let mut group = c.benchmark_group("jsonata_state");
    group.throughput(Throughput::Elements(1));
    group.bench_function("output_assign_condition", |b| {
        b.iter(|| {
            let mut env = Environment::new(&states, variables, &mut rng, now);
            let out = output.evaluate(&mut env).expect("evaluates");
            let assigned = assign.evaluate(&mut env).expect("evaluates");
            let go = condition.evaluate(&mut env).expect("evaluates");
            (out, assigned, go)
        })
    });
    group.bench_function("compile_output", |b| {
        b.iter(|| {
            JsonataTemplate::compile(
                &json!({"total": "{% $sum($states.input.order.items.(price * qty)) %}"}),
            )
            .expect("valid")
        })
    });
    group.finish();
}

criterion_group!(benches, bench, jsonata);
criterion_main!(benches);
