//! Payload templates: `Parameters`, `ResultSelector` and `ItemSelector`.
//!
//! A key ending in `.$` takes its value from a Path (`$...` over the template input, `$$...` over the Context Object,
//! `$name...` over a workflow variable) or an intrinsic call, and loses the suffix in the output. Everything else is copied as is, recursively through
//! nested objects and arrays, keeping the template's key order.

use super::intrinsics::IntrinsicCall;
use super::path::{JsonPath, Roots};
use super::Failure;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;

const DYNAMIC_SUFFIX: &str = ".$";

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadTemplate {
    root: Vec<Field>,
}

/// A `.$` field whose value is not a usable path or intrinsic call (or is otherwise malformed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSyntaxError {
    /// The offending key including its `.$` suffix, e.g. `parsed.$`; empty when the template itself is not an object.
    pub field: String,
    pub message: String,
}

impl fmt::Display for TemplateSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateSyntaxError {}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    /// Output key (suffix removed for dynamic fields).
    name: String,
    value: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A subtree without any `.$` key, copied verbatim.
    Literal(Value),
    Object(Vec<Field>),
    Array(Vec<Node>),
    Path {
        key: String,
        path: JsonPath,
    },
    Call(IntrinsicCall),
}

impl PayloadTemplate {
    /// Compile a template. Every malformed `.$` field is reported, not just the first.
    pub fn compile(value: &Value) -> Result<PayloadTemplate, Vec<TemplateSyntaxError>> {
        let Value::Object(object) = value else {
            return Err(vec![TemplateSyntaxError {
                field: String::new(),
                message: "The payload template must be a JSON object".to_string(),
            }]);
        };
        let mut errors = Vec::new();
        let root = compile_object(object, &mut errors);
        if errors.is_empty() {
            Ok(PayloadTemplate { root })
        } else {
            Err(errors)
        }
    }

    /// Build the payload from the template input and the Context Object, with no variables.
    pub fn evaluate(
        &self,
        input: &Value,
        context: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, Failure> {
        self.evaluate_in(&Roots::without_variables(input, context), rng)
    }

    /// Build the payload from the template input (`$`), the Context Object (`$$`) and the variables (`$name`).
    pub fn evaluate_in(
        &self,
        roots: &Roots,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, Failure> {
        let mut evaluation = Evaluation { roots, rng };
        evaluation.object(&self.root)
    }

    /// The workflow variables the template's `.$` fields read.
    pub fn variables(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        collect_variables(&self.root, &mut names);
        names
    }
}

fn collect_variables(fields: &[Field], names: &mut BTreeSet<String>) {
    for field in fields {
        collect_node_variables(&field.value, names);
    }
}

fn collect_node_variables(node: &Node, names: &mut BTreeSet<String>) {
    match node {
        Node::Literal(_) => {}
        Node::Object(fields) => collect_variables(fields, names),
        Node::Array(items) => {
            for item in items {
                collect_node_variables(item, names);
            }
        }
        Node::Path { path, .. } => names.extend(path.variables()),
        Node::Call(call) => names.extend(call.variables()),
    }
}

fn compile_object(
    object: &Map<String, Value>,
    errors: &mut Vec<TemplateSyntaxError>,
) -> Vec<Field> {
    let mut fields = Vec::with_capacity(object.len());
    for (key, value) in object {
        match key.strip_suffix(DYNAMIC_SUFFIX) {
            Some(name) => {
                // The spec requires unique keys after renaming; AWS's wording for this is not known.
                if object.contains_key(name) {
                    errors.push(TemplateSyntaxError {
                        field: key.clone(),
                        message: format!(
                            "The field '{key}' and the field '{name}' produce the same key '{name}'"
                        ),
                    });
                    continue;
                }
                match compile_dynamic(key, value) {
                    Ok(node) => fields.push(Field {
                        name: name.to_string(),
                        value: node,
                    }),
                    Err(error) => errors.push(error),
                }
            }
            None => fields.push(Field {
                name: key.clone(),
                value: compile_value(value, errors),
            }),
        }
    }
    fields
}

fn compile_value(value: &Value, errors: &mut Vec<TemplateSyntaxError>) -> Node {
    if !has_dynamic_key(value) {
        return Node::Literal(value.clone());
    }
    match value {
        Value::Object(object) => Node::Object(compile_object(object, errors)),
        Value::Array(items) => Node::Array(
            items
                .iter()
                .map(|item| compile_value(item, errors))
                .collect(),
        ),
        other => Node::Literal(other.clone()),
    }
}

fn has_dynamic_key(value: &Value) -> bool {
    match value {
        Value::Object(object) => object
            .iter()
            .any(|(key, item)| key.ends_with(DYNAMIC_SUFFIX) || has_dynamic_key(item)),
        Value::Array(items) => items.iter().any(has_dynamic_key),
        _ => false,
    }
}

fn compile_dynamic(key: &str, value: &Value) -> Result<Node, TemplateSyntaxError> {
    let invalid = || {
        TemplateSyntaxError {
        field: key.to_string(),
        message: format!(
            "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
        ),
    }
    };
    let Value::String(text) = value else {
        return Err(invalid());
    };
    if IntrinsicCall::looks_like_call(text) {
        IntrinsicCall::parse(text)
            .map(Node::Call)
            .map_err(|_| invalid())
    } else {
        JsonPath::parse(text)
            .map(|path| Node::Path {
                key: key.to_string(),
                path,
            })
            .map_err(|_| invalid())
    }
}

struct Evaluation<'a, 'r> {
    roots: &'a Roots<'r>,
    rng: &'a mut dyn rand::RngCore,
}

impl Evaluation<'_, '_> {
    fn object(&mut self, fields: &[Field]) -> Result<Value, Failure> {
        let mut output = Map::with_capacity(fields.len());
        for field in fields {
            let value = self.node(&field.value)?;
            output.insert(field.name.clone(), value);
        }
        Ok(Value::Object(output))
    }

    fn node(&mut self, node: &Node) -> Result<Value, Failure> {
        match node {
            Node::Literal(value) => Ok(value.clone()),
            Node::Object(fields) => self.object(fields),
            Node::Array(items) => items
                .iter()
                .map(|item| self.node(item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Node::Path { key, path } => path.read_in(self.roots).map_err(|error| {
                match self.roots.document(path) {
                    Some(document) => Failure::runtime(format!(
                        "The JSONPath '{}' specified for the field '{key}' could not be found in the input '{}'",
                        path.as_str(),
                        serde_json::to_string(document).unwrap_or_default()
                    )),
                    None => Failure::runtime(format!(
                        "The JSONPath '{}' specified for the field '{key}' could not be read: {}",
                        path.as_str(),
                        error.message
                    )),
                }
            }),
            Node::Call(call) => call.evaluate_in(self.roots, &mut *self.rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::json;

    fn evaluate(template: Value, input: Value) -> Result<Value, Failure> {
        let context =
            json!({"Execution": {"Name": "run-1"}, "Map": {"Item": {"Index": 2, "Value": "v"}}});
        PayloadTemplate::compile(&template)
            .unwrap_or_else(|e| panic!("{template}: {e:?}"))
            .evaluate(&input, &context, &mut StdRng::seed_from_u64(3))
    }

    #[test]
    fn evaluates_templates() {
        let input = json!({"a": 1, "b": {"c": [1, 2, 3]}, "s": "x"});
        let cases = [
            (json!({}), json!({})),
            (
                json!({"static": "v", "n": 1}),
                json!({"static": "v", "n": 1}),
            ),
            (json!({"a.$": "$.a"}), json!({"a": 1})),
            (json!({"all.$": "$"}), json!({"all": input.clone()})),
            (
                json!({"first.$": "$.b.c[0]", "many.$": "$.b.c[0,2]"}),
                json!({"first": 1, "many": [1, 3]}),
            ),
            (json!({"none.$": "$.b.c[?(@ > 5)]"}), json!({"none": []})),
            (
                json!({"name.$": "$$.Execution.Name", "index.$": "$$.Map.Item.Index"}),
                json!({"name": "run-1", "index": 2}),
            ),
            (
                json!({"msg.$": "States.Format('{} and {}', $.s, $$.Map.Item.Value)"}),
                json!({"msg": "x and v"}),
            ),
            (
                json!({"outer": {"inner.$": "$.a", "keep": true}, "list": [{"x.$": "$.s"}, 5, [{"y.$": "$.a"}]]}),
                json!({"outer": {"inner": 1, "keep": true}, "list": [{"x": "x"}, 5, [{"y": 1}]]}),
            ),
            // Key order follows the template, not the input.
            (
                json!({"z": 0, "b.$": "$.s", "a": 2}),
                json!({"z": 0, "b": "x", "a": 2}),
            ),
        ];
        for (template, expected) in cases {
            assert_eq!(
                evaluate(template.clone(), input.clone()),
                Ok(expected.clone()),
                "{template}"
            );
            let output = evaluate(template, input.clone()).unwrap();
            let keys: Vec<&String> = output.as_object().unwrap().keys().collect();
            let expected_keys: Vec<&String> = expected.as_object().unwrap().keys().collect();
            assert_eq!(keys, expected_keys);
        }
    }

    #[test]
    fn missing_paths_fail_with_the_aws_cause() {
        let input = json!({"a": {"b": 1}});
        let cases = [
            (
                json!({"x.$": "$.x"}),
                "The JSONPath '$.x' specified for the field 'x.$' could not be found in the input '{\"a\":{\"b\":1}}'",
            ),
            (
                json!({"deep": [{"v.$": "$.a.c.d"}]}),
                "The JSONPath '$.a.c.d' specified for the field 'v.$' could not be found in the input '{\"a\":{\"b\":1}}'",
            ),
            (
                json!({"t.$": "$$.Task.Token"}),
                "The JSONPath '$$.Task.Token' specified for the field 't.$' could not be found in the input '{\"Execution\":{\"Name\":\"run-1\"},\"Map\":{\"Item\":{\"Index\":2,\"Value\":\"v\"}}}'",
            ),
        ];
        for (template, cause) in cases {
            assert_eq!(
                evaluate(template.clone(), input.clone()),
                Err(Failure::runtime(cause)),
                "{template}"
            );
        }
    }

    #[test]
    fn intrinsic_failures_pass_through() {
        let failure = evaluate(
            json!({"i.$": "States.ArrayGetItem($.list, 4)"}),
            json!({"list": [1]}),
        )
        .unwrap_err();
        assert_eq!(failure.error, "States.Runtime");
        assert_eq!(
            failure.cause,
            "Invalid arguments in States.ArrayGetItem: index 4 is out of bounds for an array of length 1"
        );
    }

    #[test]
    fn compile_collects_every_bad_field() {
        let template = json!({
            "ok.$": "$.a",
            "parsed.$": "States.StringToJson('bad \\x escape')",
            "nested": {"n.$": 5, "fine": "$.not-dynamic"},
            "list": [{"l.$": "not a path"}],
            "unknown.$": "States.Nope()",
            "dup": 1,
            "dup.$": "$.a",
            "empty.$": ""
        });
        let errors = PayloadTemplate::compile(&template).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["parsed.$", "n.$", "l.$", "unknown.$", "dup.$", "empty.$"]
        );
        assert_eq!(
            errors[0].message,
            "The value for the field 'parsed.$' must be a valid JSONPath or a valid intrinsic function call"
        );
        assert_eq!(
            errors[4].message,
            "The field 'dup.$' and the field 'dup' produce the same key 'dup'"
        );
    }

    #[test]
    fn compile_rejects_non_objects() {
        for value in [json!([]), json!("x"), json!(null), json!(1)] {
            let errors = PayloadTemplate::compile(&value).unwrap_err();
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].field, "");
            assert_eq!(
                errors[0].message,
                "The payload template must be a JSON object"
            );
        }
    }

    #[test]
    fn dynamic_fields_read_workflow_variables() {
        let template = json!({
            "who.$": "$who",
            "first.$": "$order.items[0].sku",
            "input.$": "$.a",
            "exec.$": "$$.Execution.Name",
            "msg.$": "States.Format('{} x{}', $who, $order.items[0].qty)",
            "nested": [{"id.$": "$order.id"}]
        });
        let variables =
            json!({"who": "Ada", "order": {"id": 7, "items": [{"sku": "s1", "qty": 2}]}})
                .as_object()
                .unwrap()
                .clone();
        let input = json!({"a": 1});
        let context = json!({"Execution": {"Name": "run-1"}});
        let roots = Roots {
            input: &input,
            context: &context,
            variables: &variables,
        };
        let compiled = PayloadTemplate::compile(&template).unwrap();
        assert_eq!(
            compiled.evaluate_in(&roots, &mut StdRng::seed_from_u64(3)),
            Ok(json!({
                "who": "Ada",
                "first": "s1",
                "input": 1,
                "exec": "run-1",
                "msg": "Ada x2",
                "nested": [{"id": 7}]
            }))
        );
        let names: Vec<String> = compiled.variables().into_iter().collect();
        assert_eq!(names, ["order", "who"]);
        // A plain value that looks like a variable is a literal (no `.$` key).
        let literal = PayloadTemplate::compile(&json!({"bucket": "$bucket"})).unwrap();
        assert!(literal.variables().is_empty());
        assert_eq!(
            literal.evaluate_in(&roots, &mut StdRng::seed_from_u64(3)),
            Ok(json!({"bucket": "$bucket"}))
        );
        let failure = PayloadTemplate::compile(&json!({"x.$": "$nope.a"}))
            .unwrap()
            .evaluate_in(&roots, &mut StdRng::seed_from_u64(3))
            .unwrap_err();
        assert_eq!(failure.error, "States.Runtime");
        assert_eq!(
            failure.cause,
            "The JSONPath '$nope.a' specified for the field 'x.$' could not be read: The variable '$nope' is not assigned"
        );
    }

    #[test]
    fn a_path_function_fails_with_the_recorded_cause() {
        // Recorded on AWS (re:Post): the definition is accepted, the read fails with the missing-path cause.
        assert_eq!(
            evaluate(json!({"Jobs.$": "$.Jobs.sum()"}), json!({"Jobs": [0, 0, 1, 0]})),
            Err(Failure::runtime(
                "The JSONPath '$.Jobs.sum()' specified for the field 'Jobs.$' could not be found in the input '{\"Jobs\":[0,0,1,0]}'"
            ))
        );
    }

    #[test]
    fn jayway_shapes_from_public_samples() {
        let input = json!([
            {"bucket": "b1", "key": "k1", "size": 1},
            {"bucket": "b2", "key": "k2", "size": 2}
        ]);
        assert_eq!(
            evaluate(
                json!({"first.$": "$.[0]", "pairs.$": "$.[*].['bucket', 'key']"}),
                input
            ),
            Ok(json!({
                "first": {"bucket": "b1", "key": "k1", "size": 1},
                "pairs": [{"bucket": "b1", "key": "k1"}, {"bucket": "b2", "key": "k2"}]
            }))
        );
    }
}
