//! JSONata as Step Functions runs it: `"{% … %}"` strings, the `$states` variable, workflow variables,
//! the functions AWS adds (`$partition`, `$range`, `$hash`, `$random` with a seed, `$uuid`, `$parse`) and
//! the one it removes (`$eval`), and AWS's wording for what goes wrong (`INVALID_JSONATA_EXPRESSION` /
//! `UNSUPPORTED_JSONATA_EXPRESSION` at definition time, `States.QueryEvaluationError` causes at run time).
//!
//! The evaluator is the `jsonata-core` crate. Its values are reference-counted (not `Send`), so only the
//! parsed syntax tree is kept ([`Expression`] is `Clone + Send + Sync`); every evaluation converts its
//! inputs, runs and converts the result back inside one synchronous call. Like the rest of `src/asl` it is
//! pure: the clock (`$now`, `$millis`) and the entropy (`$random`, `$uuid`, `$shuffle`) come from the
//! [`Environment`].
//!
//! Choices made where no AWS recording says (each is tested, so a recording that disagrees shows where):
//! the `$` / `$$` refusal reuses the wording of the recorded field-name refusal; argument failures of
//! AWS's own functions are uncoded (`threw an error during evaluation: Invalid arguments in $hash: …`);
//! a location inside a template array is written `list[1]`; in T0410/T0412 texts the function is named
//! from the expression when jsonata-core does not say which one failed (the innermost call when several
//! could have). The 200-term stack overflow AWS reports for `1+1+…` is not imitated.
//!
//! ```
//! use sfn::asl::jsonata::{Environment, Expression, expression_body};
//! use serde_json::json;
//!
//! let body = expression_body("{% $states.input.price * $quantity %}").unwrap();
//! let expression = Expression::compile(body).unwrap();
//! let states = json!({"input": {"price": 2.5}});
//! let variables = json!({"quantity": 4});
//! let variables = variables.as_object().unwrap();
//! let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
//! let mut env = Environment::new(&states, variables, &mut rng, chrono::Utc::now());
//! assert_eq!(expression.evaluate(&mut env).unwrap(), json!(10));
//! ```

mod analysis;
mod convert;
mod errors;
mod fast;
mod functions;
mod messages;
mod template;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::Value;

pub use errors::{json_type_name, JsonataSyntaxError, QueryEvaluationError, SyntaxErrorKind};
pub use template::JsonataTemplate;

/// The body of a JSONata expression string: AWS treats a string as an expression only when it starts with
/// `{%` and ends with `%}` exactly (no blank outside the delimiters); everything else is a literal.
pub fn expression_body(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

/// Whether `text` is a `{% … %}` expression string.
pub fn is_expression(text: &str) -> bool {
    expression_body(text).is_some()
}

/// The `$states` members an expression may read.
pub const STATES_FIELDS: [&str; 4] = ["input", "result", "errorOutput", "context"];

/// Workflow variables as an expression sees them. Implemented for the usual maps; a scope chain (Map
/// iterations and Parallel branches read their parents' variables) implements it by walking outwards.
pub trait VariableLookup {
    fn variable(&self, name: &str) -> Option<&Value>;
}

impl VariableLookup for serde_json::Map<String, Value> {
    fn variable(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl VariableLookup for BTreeMap<String, Value> {
    fn variable(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl<S: std::hash::BuildHasher> VariableLookup for HashMap<String, Value, S> {
    fn variable(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// No workflow variables at all.
pub struct NoVariables;

impl VariableLookup for NoVariables {
    fn variable(&self, _: &str) -> Option<&Value> {
        None
    }
}

/// What one evaluation reads from outside the expression.
pub struct Environment<'a> {
    /// The `$states` object: `{"input": …, "context": …}` plus `result` / `errorOutput` where they exist.
    pub states: &'a Value,
    /// Workflow variables (`$name`).
    pub variables: &'a dyn VariableLookup,
    /// Entropy for `$random()`, `$uuid()` and `$shuffle()`; one `u64` is drawn per evaluation that calls
    /// any of them, none otherwise.
    pub rng: &'a mut dyn rand::RngCore,
    /// The AWS partition (`"aws"`), for callers that build ARNs; not read by any JSONata function.
    pub partition: &'a str,
    /// What `$now()` and `$millis()` return (constant within an evaluation, as in JSONata).
    pub now: DateTime<Utc>,
}

impl<'a> Environment<'a> {
    pub fn new(
        states: &'a Value,
        variables: &'a dyn VariableLookup,
        rng: &'a mut dyn rand::RngCore,
        now: DateTime<Utc>,
    ) -> Environment<'a> {
        Environment {
            states,
            variables,
            rng,
            partition: "aws",
            now,
        }
    }
}

/// A compiled expression. Cloning is cheap (shared syntax tree); `Send + Sync`.
#[derive(Clone)]
pub struct Expression {
    inner: Arc<Compiled>,
}

struct Compiled {
    /// The expression text as written between the delimiters, trimmed (AWS quotes it so in causes).
    source: String,
    ast: AstNode,
    facts: analysis::Facts,
    /// Set when the expression is a plain path, read without the evaluator.
    fast: Option<fast::PlainPath>,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Expression({:?})", self.inner.source)
    }
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.inner.source == other.inner.source
    }
}

/// Evaluation bounds. AWS refuses sequences past 873,782 items (measured); the timeout stops a
/// non-terminating tail recursion, which no depth limit catches, from holding an executor forever.
pub(crate) const MAX_SEQUENCE_LENGTH: usize = 873_782;
const TIMEOUT_MS: u64 = 10_000;

impl Expression {
    /// Parses `body` (the text between `{%` and `%}`). `Err` carries AWS's definition-time code and
    /// message: a parse error, or a reference AWS does not support (a bare field name, `$` or `$$` where
    /// there is no context item).
    pub fn compile(body: &str) -> Result<Expression, JsonataSyntaxError> {
        let source = body.trim();
        // The crate is not ours: a panic in it must not take the caller down (bad input never panics).
        let ast = std::panic::catch_unwind(|| jsonata_core::parser::parse(source))
            .map_err(|_| JsonataSyntaxError {
                kind: SyntaxErrorKind::Invalid,
                message: "Syntax error".to_string(),
            })?
            .map_err(|e| errors::syntax_error(e, source))?;
        let facts = analysis::analyse(&ast);
        if let Some(name) = facts.top_level_references.first() {
            return Err(JsonataSyntaxError::unsupported_reference(name));
        }
        Ok(Expression {
            inner: Arc::new(Compiled {
                source: source.to_string(),
                fast: fast::PlainPath::of(&ast),
                ast,
                facts,
            }),
        })
    }

    /// The expression text (trimmed), as AWS quotes it in causes.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Workflow-variable names the expression reads: `$x`, not `$states`, not function names, not names
    /// the expression binds itself (`:=`, lambda parameters, `@$v` / `#$i`). Sorted.
    pub fn variables(&self) -> BTreeSet<String> {
        self.inner.facts.variables.clone()
    }

    /// The `$states.<field>` members it reads (`input`, `result`, `errorOutput`, `context`, or any other
    /// name written after `$states.`). A bare `$states` reads all of them but is listed as none.
    pub fn states_fields(&self) -> BTreeSet<String> {
        self.inner.facts.states_fields.clone()
    }

    /// Whether it reads `$states` as a whole (`$keys($states)`, `$states[0]`): then every member it is
    /// given may be read, though [`Expression::states_fields`] names none.
    pub fn reads_all_states(&self) -> bool {
        self.inner.facts.whole_states
    }

    /// Evaluates; a result of JSONata *undefined* is an error ("returned nothing (undefined)").
    /// The error's location is empty: the caller names the field with [`QueryEvaluationError::in_field`].
    pub fn evaluate(&self, env: &mut Environment<'_>) -> Result<Value, QueryEvaluationError> {
        let mut session = Session::new(env);
        self.evaluate_in(&mut session)
    }

    /// Like [`Expression::evaluate`], with *undefined* as `Ok(None)`.
    pub fn evaluate_optional(
        &self,
        env: &mut Environment<'_>,
    ) -> Result<Option<Value>, QueryEvaluationError> {
        let mut session = Session::new(env);
        self.evaluate_optional_in(&mut session)
    }

    fn evaluate_in(&self, session: &mut Session<'_, '_>) -> Result<Value, QueryEvaluationError> {
        self.evaluate_optional_in(session)?
            .ok_or_else(|| QueryEvaluationError::undefined(self.source()))
    }

    fn evaluate_optional_in(
        &self,
        session: &mut Session<'_, '_>,
    ) -> Result<Option<Value>, QueryEvaluationError> {
        if let Some(path) = &self.inner.fast {
            if let Some(result) = path.read(session.env) {
                return Ok(result);
            }
        }
        let facts = &self.inner.facts;
        let options = EvaluatorOptions {
            timeout_ms: Some(TIMEOUT_MS),
            max_sequence_length: Some(MAX_SEQUENCE_LENGTH),
            ..EvaluatorOptions::default()
        };
        let mut context = Context::new();
        if facts.reads_states() {
            context.bind("states".to_string(), session.states(facts));
        }
        for name in &facts.variables {
            if let Some(value) = session.variable(name) {
                context.bind(name.clone(), value);
            }
        }
        let mut evaluator = Evaluator::with_options(context, options);
        functions::register(&mut evaluator, &facts.functions, session)
            .map_err(|e| QueryEvaluationError::threw(self.source(), &e, &facts.calls))?;
        let ast = &self.inner.ast;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            evaluator.evaluate(ast, &JValue::Undefined)
        }));
        let result = match outcome {
            Ok(result) => {
                result.map_err(|e| QueryEvaluationError::threw(self.source(), &e, &facts.calls))?
            }
            // AWS answers an evaluator fault with an error id; ours comes from the entropy passed in.
            Err(_) => {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&session.seed().to_le_bytes());
                bytes[8..].copy_from_slice(&session.seed().to_le_bytes());
                let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
                return Err(QueryEvaluationError::internal(
                    self.source(),
                    &id.to_string(),
                ));
            }
        };
        convert::to_json(&result)
            .map_err(|()| QueryEvaluationError::unsupported_result(self.source()))
    }
}

/// One evaluation round (one expression, or every expression of a template): converts `$states` members
/// and variables to the evaluator's values once and shares them between expressions.
pub(crate) struct Session<'e, 'a> {
    env: &'e mut Environment<'a>,
    states_members: HashMap<String, JValue>,
    whole_states: Option<JValue>,
    variables: HashMap<String, Option<JValue>>,
}

impl<'e, 'a> Session<'e, 'a> {
    pub(crate) fn new(env: &'e mut Environment<'a>) -> Self {
        Session {
            env,
            states_members: HashMap::new(),
            whole_states: None,
            variables: HashMap::new(),
        }
    }

    /// `$states` as the expression needs it: only the members it names, unless it reads `$states` whole.
    fn states(&mut self, facts: &analysis::Facts) -> JValue {
        if facts.whole_states {
            return self
                .whole_states
                .get_or_insert_with(|| convert::to_jvalue(self.env.states))
                .clone();
        }
        let mut members = indexmap::IndexMap::new();
        for field in &facts.states_fields {
            let Some(value) = self.env.states.get(field) else {
                continue;
            };
            let converted = self
                .states_members
                .entry(field.clone())
                .or_insert_with(|| convert::to_jvalue(value))
                .clone();
            members.insert(field.clone(), converted);
        }
        JValue::object(members)
    }

    fn variable(&mut self, name: &str) -> Option<JValue> {
        if let Some(cached) = self.variables.get(name) {
            return cached.clone();
        }
        let converted = self.env.variables.variable(name).map(convert::to_jvalue);
        self.variables.insert(name.to_string(), converted.clone());
        converted
    }

    pub(crate) fn seed(&mut self) -> u64 {
        self.env.rng.next_u64()
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.env.now
    }
}
