//! Choice rules: the typed form of a `Choices` entry and its evaluation against a state's effective input.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::path::{JsonPath, Roots};
use super::Failure;
use std::collections::BTreeSet;

/// One Choice rule: a boolean combination or a data test.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Test {
        variable: JsonPath,
        comparison: Comparison,
    },
}

/// The right-hand side of a comparison: a literal from the definition or a path into the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    Path(JsonPath),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    String(Ordering, Operand),
    Numeric(Ordering, Operand),
    Timestamp(Ordering, Operand),
    Boolean(Operand),
    StringMatches(String),
    IsNull(bool),
    IsPresent(bool),
    IsNumeric(bool),
    IsString(bool),
    IsBoolean(bool),
    IsTimestamp(bool),
}

const ORDERINGS: [(&str, Ordering); 5] = [
    ("Equals", Ordering::Equals),
    ("LessThanEquals", Ordering::LessThanEquals),
    ("GreaterThanEquals", Ordering::GreaterThanEquals),
    ("LessThan", Ordering::LessThan),
    ("GreaterThan", Ordering::GreaterThan),
];

impl ChoiceRule {
    /// Builds a rule from its (already validated) JSON form.
    pub fn from_json(rule: &Value) -> Result<ChoiceRule, String> {
        let obj = rule.as_object().ok_or("a Choice rule must be an object")?;
        if let Some(rules) = obj.get("And") {
            return Ok(ChoiceRule::And(Self::list(rules)?));
        }
        if let Some(rules) = obj.get("Or") {
            return Ok(ChoiceRule::Or(Self::list(rules)?));
        }
        if let Some(rule) = obj.get("Not") {
            return Ok(ChoiceRule::Not(Box::new(Self::from_json(rule)?)));
        }
        let variable = obj
            .get("Variable")
            .and_then(Value::as_str)
            .ok_or("a Choice rule needs a Variable")?;
        let variable = JsonPath::parse(variable).map_err(|e| e.0)?;
        for (key, value) in obj {
            if let Some(comparison) = Self::comparison(key, value)? {
                return Ok(ChoiceRule::Test {
                    variable,
                    comparison,
                });
            }
        }
        Err("a Choice rule needs a comparison operator".into())
    }

    fn list(rules: &Value) -> Result<Vec<ChoiceRule>, String> {
        rules
            .as_array()
            .ok_or("And/Or take an array")?
            .iter()
            .map(Self::from_json)
            .collect()
    }

    fn comparison(key: &str, value: &Value) -> Result<Option<Comparison>, String> {
        let flag = || value.as_bool().ok_or(format!("{key} takes a boolean"));
        let simple = match key {
            "StringMatches" => Some(Comparison::StringMatches(
                value
                    .as_str()
                    .ok_or("StringMatches takes a string")?
                    .to_string(),
            )),
            "IsNull" => Some(Comparison::IsNull(flag()?)),
            "IsPresent" => Some(Comparison::IsPresent(flag()?)),
            "IsNumeric" => Some(Comparison::IsNumeric(flag()?)),
            "IsString" => Some(Comparison::IsString(flag()?)),
            "IsBoolean" => Some(Comparison::IsBoolean(flag()?)),
            "IsTimestamp" => Some(Comparison::IsTimestamp(flag()?)),
            "BooleanEquals" => Some(Comparison::Boolean(Operand::Literal(value.clone()))),
            "BooleanEqualsPath" => Some(Comparison::Boolean(Self::path_operand(value)?)),
            _ => None,
        };
        if simple.is_some() {
            return Ok(simple);
        }
        for (family, make) in [
            (
                "String",
                Comparison::String as fn(Ordering, Operand) -> Comparison,
            ),
            ("Numeric", Comparison::Numeric),
            ("Timestamp", Comparison::Timestamp),
        ] {
            let Some(rest) = key.strip_prefix(family) else {
                continue;
            };
            let (op_name, is_path) = match rest.strip_suffix("Path") {
                Some(op) => (op, true),
                None => (rest, false),
            };
            if let Some((_, ordering)) = ORDERINGS.iter().find(|(n, _)| *n == op_name) {
                let operand = if is_path {
                    Self::path_operand(value)?
                } else {
                    Operand::Literal(value.clone())
                };
                return Ok(Some(make(*ordering, operand)));
            }
        }
        Ok(None)
    }

    fn path_operand(value: &Value) -> Result<Operand, String> {
        let text = value
            .as_str()
            .ok_or("a Path operator takes a path string")?;
        Ok(Operand::Path(JsonPath::parse(text).map_err(|e| e.0)?))
    }

    /// Evaluates the rule against the effective input and the Context object, with no variables.
    pub fn evaluate(&self, input: &Value, context: &Value) -> Result<bool, Failure> {
        self.evaluate_in(&Roots::without_variables(input, context))
    }

    /// The workflow variables the rule reads: `Variable` and `…Path` operands starting `$name`, nested rules included.
    pub fn variables(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        self.collect_variables(&mut names);
        names
    }

    fn collect_variables(&self, names: &mut BTreeSet<String>) {
        match self {
            ChoiceRule::And(rules) | ChoiceRule::Or(rules) => {
                for rule in rules {
                    rule.collect_variables(names);
                }
            }
            ChoiceRule::Not(rule) => rule.collect_variables(names),
            ChoiceRule::Test {
                variable,
                comparison,
            } => {
                names.extend(variable.variables());
                if let Some(Operand::Path(path)) = comparison.operand() {
                    names.extend(path.variables());
                }
            }
        }
    }

    /// Evaluates the rule. `Variable` and `…Path` operands read the input (`$`), the Context object (`$$`) or a
    /// workflow variable (`$name`). A Variable (or operand path) that selects nothing fails with States.Runtime,
    /// except under `IsPresent`. AWS is reported to fail this way while LocalStack treats it as false; we follow the
    /// AWS report. An unassigned variable counts as selecting nothing.
    pub fn evaluate_in(&self, roots: &Roots) -> Result<bool, Failure> {
        match self {
            ChoiceRule::And(rules) => {
                for rule in rules {
                    if !rule.evaluate_in(roots)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ChoiceRule::Or(rules) => {
                for rule in rules {
                    if rule.evaluate_in(roots)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ChoiceRule::Not(rule) => Ok(!rule.evaluate_in(roots)?),
            ChoiceRule::Test {
                variable,
                comparison,
            } => {
                let value = match variable.read_in(roots) {
                    Ok(v) => Some(v),
                    Err(_) if matches!(comparison, Comparison::IsPresent(_)) => None,
                    Err(e) => {
                        return Err(Failure::runtime(format!(
                            "Invalid path '{}' : {}",
                            variable.as_str(),
                            e.message
                        )))
                    }
                };
                // An indefinite path that matched nothing also counts as "not present".
                let value = match value {
                    Some(Value::Array(a)) if a.is_empty() && !variable.is_definite() => None,
                    other => other,
                };
                comparison.evaluate(value.as_ref(), roots)
            }
        }
    }
}

impl Comparison {
    /// The right-hand operand of a two-sided comparison.
    fn operand(&self) -> Option<&Operand> {
        match self {
            Comparison::String(_, op)
            | Comparison::Numeric(_, op)
            | Comparison::Timestamp(_, op)
            | Comparison::Boolean(op) => Some(op),
            _ => None,
        }
    }

    fn evaluate(&self, value: Option<&Value>, roots: &Roots) -> Result<bool, Failure> {
        let Some(value) = value else {
            if let Comparison::IsPresent(expected) = self {
                return Ok(!*expected);
            }
            return Err(Failure::runtime(
                "The Variable of a Choice rule does not reference an input value",
            ));
        };
        let operand = |op: &Operand| -> Result<Value, Failure> {
            match op {
                Operand::Literal(v) => Ok(v.clone()),
                Operand::Path(p) => p.read_in(roots).map_err(|e| {
                    Failure::runtime(format!("Invalid path '{}' : {}", p.as_str(), e.message))
                }),
            }
        };
        Ok(match self {
            Comparison::String(ord, op) => match (value.as_str(), operand(op)?.as_str()) {
                (Some(a), Some(b)) => ord.holds(a.cmp(b)),
                _ => false,
            },
            Comparison::Numeric(ord, op) => match (value.as_f64(), operand(op)?.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| ord.holds(o)),
                _ => false,
            },
            Comparison::Timestamp(ord, op) => {
                let rhs = operand(op)?;
                match (
                    value.as_str().and_then(parse_timestamp),
                    rhs.as_str().and_then(parse_timestamp),
                ) {
                    (Some(a), Some(b)) => ord.holds(a.cmp(&b)),
                    _ => false,
                }
            }
            Comparison::Boolean(op) => match (value.as_bool(), operand(op)?.as_bool()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
            Comparison::StringMatches(pattern) => match value.as_str() {
                Some(s) => string_matches(s, pattern)?,
                None => false,
            },
            Comparison::IsNull(expected) => value.is_null() == *expected,
            Comparison::IsNumeric(expected) => value.is_number() == *expected,
            Comparison::IsString(expected) => value.is_string() == *expected,
            Comparison::IsBoolean(expected) => value.is_boolean() == *expected,
            Comparison::IsTimestamp(expected) => {
                value.as_str().and_then(parse_timestamp).is_some() == *expected
            }
            Comparison::IsPresent(expected) => *expected,
        })
    }
}

impl Ordering {
    fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Ordering::Equals => o == Equal,
            Ordering::LessThan => o == Less,
            Ordering::GreaterThan => o == Greater,
            Ordering::LessThanEquals => o != Greater,
            Ordering::GreaterThanEquals => o != Less,
        }
    }
}

/// RFC 3339 with an uppercase `T` and a `Z` or numeric offset; fractional seconds allowed.
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    if !s.contains('T') || s.contains('t') || s.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash. A dangling backslash
/// (or one before any other character) is a runtime error, as the spec says.
pub fn string_matches(text: &str, pattern: &str) -> Result<bool, Failure> {
    enum Token {
        Char(char),
        Star,
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('*' | '\\')) => tokens.push(Token::Char(e)),
                _ => {
                    return Err(Failure::runtime(format!(
                        "The StringMatches pattern '{pattern}' has an invalid escape sequence"
                    )))
                }
            },
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Iterative wildcard match with backtracking to the last star: linear in practice, no recursion.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return Ok(false),
            },
        }
    }
    while matches!(tokens.get(p), Some(Token::Star)) {
        p += 1;
    }
    Ok(p == tokens.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(rule: Value, input: Value) -> Result<bool, Failure> {
        ChoiceRule::from_json(&rule)
            .unwrap()
            .evaluate(&input, &json!({}))
    }

    #[test]
    fn comparison_operators() {
        let input = json!({"s": "b", "n": 5, "f": 5.0, "b": true, "t": "2024-01-02T03:04:05Z", "other": "c",
                           "m": 7, "no": null, "arr": [], "tz": "2024-01-02T05:04:05+02:00"});
        let cases = [
            (json!({"Variable": "$.s", "StringEquals": "b"}), true),
            (json!({"Variable": "$.s", "StringEquals": "B"}), false),
            (json!({"Variable": "$.s", "StringLessThan": "c"}), true),
            (json!({"Variable": "$.s", "StringGreaterThan": "a"}), true),
            (
                json!({"Variable": "$.s", "StringLessThanEquals": "b"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringGreaterThanEquals": "c"}),
                false,
            ),
            (
                json!({"Variable": "$.s", "StringLessThanPath": "$.other"}),
                true,
            ),
            (json!({"Variable": "$.s", "StringEqualsPath": "$.s"}), true),
            (json!({"Variable": "$.n", "NumericEquals": 5}), true),
            (json!({"Variable": "$.f", "NumericEquals": 5}), true),
            (json!({"Variable": "$.n", "NumericLessThan": 5.5}), true),
            (json!({"Variable": "$.n", "NumericGreaterThan": 5}), false),
            (
                json!({"Variable": "$.n", "NumericGreaterThanEquals": 5}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericLessThanEquals": 4}),
                false,
            ),
            (
                json!({"Variable": "$.n", "NumericLessThanPath": "$.m"}),
                true,
            ),
            (json!({"Variable": "$.s", "NumericEquals": 5}), false),
            (json!({"Variable": "$.no", "NumericEquals": 0}), false),
            (json!({"Variable": "$.arr", "NumericEquals": 0}), false),
            (json!({"Variable": "$.b", "BooleanEquals": true}), true),
            (json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}), true),
            (json!({"Variable": "$.s", "BooleanEquals": true}), false),
            (
                json!({"Variable": "$.t", "TimestampEquals": "2024-01-02T03:04:05Z"}),
                true,
            ),
            (
                json!({"Variable": "$.tz", "TimestampEquals": "2024-01-02T03:04:05Z"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampLessThan": "2024-01-02T03:04:06Z"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThan": "2024-01-02T03:04:06Z"}),
                false,
            ),
            (
                json!({"Variable": "$.t", "TimestampLessThanEquals": "2024-01-02T03:04:05.000Z"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2025-01-01T00:00:00Z"}),
                false,
            ),
            (
                json!({"Variable": "$.t", "TimestampEqualsPath": "$.tz"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "TimestampEquals": "2024-01-02T03:04:05Z"}),
                false,
            ),
            (json!({"Variable": "$.no", "IsNull": true}), true),
            (json!({"Variable": "$.s", "IsNull": true}), false),
            (json!({"Variable": "$.missing", "IsPresent": true}), false),
            (json!({"Variable": "$.missing", "IsPresent": false}), true),
            (json!({"Variable": "$.no", "IsPresent": true}), true),
            (json!({"Variable": "$.n", "IsNumeric": true}), true),
            (json!({"Variable": "$.s", "IsNumeric": false}), true),
            (json!({"Variable": "$.s", "IsString": true}), true),
            (json!({"Variable": "$.b", "IsBoolean": true}), true),
            (json!({"Variable": "$.n", "IsBoolean": true}), false),
            (json!({"Variable": "$.t", "IsTimestamp": true}), true),
            (json!({"Variable": "$.s", "IsTimestamp": true}), false),
            (
                json!({"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Variable": "$.s", "StringEquals": "b"}]}),
                true,
            ),
            (
                json!({"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Variable": "$.s", "StringEquals": "x"}]}),
                false,
            ),
            (
                json!({"Or": [{"Variable": "$.n", "NumericEquals": 4}, {"Variable": "$.s", "StringEquals": "b"}]}),
                true,
            ),
            (
                json!({"Not": {"Variable": "$.n", "NumericEquals": 4}}),
                true,
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(eval(rule.clone(), input.clone()), Ok(expected), "{rule}");
        }
    }

    #[test]
    fn missing_variable_fails_except_is_present() {
        let err = eval(json!({"Variable": "$.x", "StringEquals": "a"}), json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.x"), "{}", err.cause);
        // Or short-circuits before the missing path is read.
        let rule = json!({"Or": [{"Variable": "$.a", "IsPresent": false}, {"Variable": "$.x", "StringEquals": "a"}]});
        assert_eq!(eval(rule, json!({})), Ok(true));
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        let cases = [
            ("log.txt", "*.txt", true),
            ("log.txt", "*.log", false),
            ("", "*", true),
            ("abc", "a*c", true),
            ("ac", "a*c", true),
            ("abcbc", "a*bc", true),
            ("a*c", "a\\*c", true),
            ("abc", "a\\*c", false),
            ("a\\c", "a\\\\c", true),
            ("xyz", "x*y*z*", true),
            ("xyz", "x*q*", false),
        ];
        for (text, pattern, expected) in cases {
            assert_eq!(
                string_matches(text, pattern),
                Ok(expected),
                "{text} ~ {pattern}"
            );
        }
        assert!(string_matches("a", "a\\").is_err());
        assert!(string_matches("a", "\\a").is_err());
    }

    #[test]
    fn timestamps_need_upper_t_and_zone() {
        assert!(parse_timestamp("2024-01-02T03:04:05Z").is_some());
        assert!(parse_timestamp("2024-01-02T03:04:05.123+02:00").is_some());
        assert!(parse_timestamp("2024-01-02 03:04:05Z").is_none());
        assert!(parse_timestamp("2024-01-02T03:04:05").is_none());
        assert!(parse_timestamp("2024-13-02T03:04:05Z").is_none());
        assert!(parse_timestamp("2024-01-02t03:04:05Z").is_none());
    }

    #[test]
    fn rules_read_variables_and_the_context_object() {
        let variables = json!({"guess": 4, "answer": 4, "limits": {"max": 10}, "name": "x"})
            .as_object()
            .unwrap()
            .clone();
        let input = json!({"n": 5, "quorum": 3});
        let context = json!({"Execution": {"Input": {"quorum": 3, "name": "x"}}});
        let roots = Roots {
            input: &input,
            context: &context,
            variables: &variables,
        };
        let cases = [
            (
                json!({"Variable": "$guess", "NumericEqualsPath": "$answer"}),
                true,
            ),
            (
                json!({"Variable": "$guess", "NumericLessThanPath": "$limits.max"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericGreaterThanPath": "$guess"}),
                true,
            ),
            (
                json!({"Variable": "$name", "StringEqualsPath": "$$.Execution.Input.name"}),
                true,
            ),
            (
                json!({"Variable": "$.quorum", "NumericGreaterThanEqualsPath": "$$.Execution.Input.quorum"}),
                true,
            ),
            (
                json!({"Variable": "$$.Execution.Input.quorum", "NumericLessThanPath": "$.n"}),
                true,
            ),
            (
                json!({"Variable": "$limits.max", "NumericEquals": 10}),
                true,
            ),
            (json!({"Variable": "$nope", "IsPresent": false}), true),
            (json!({"Variable": "$limits.min", "IsPresent": true}), false),
            (
                json!({"And": [{"Variable": "$guess", "IsNumeric": true}, {"Not": {"Variable": "$name", "StringEquals": "y"}}]}),
                true,
            ),
        ];
        for (rule, expected) in cases {
            let parsed = ChoiceRule::from_json(&rule).unwrap();
            assert_eq!(parsed.evaluate_in(&roots), Ok(expected), "{rule}");
        }
        let rule = ChoiceRule::from_json(&json!({"Or": [
            {"Variable": "$guess", "NumericEqualsPath": "$answer"},
            {"Not": {"Variable": "$.n", "StringEqualsPath": "$name"}},
            {"Variable": "$$.Execution.Input.quorum", "NumericEqualsPath": "$.n"}
        ]}))
        .unwrap();
        let names: Vec<String> = rule.variables().into_iter().collect();
        assert_eq!(names, ["answer", "guess", "name"]);

        let failure = ChoiceRule::from_json(&json!({"Variable": "$nope", "NumericEquals": 1}))
            .unwrap()
            .evaluate_in(&roots)
            .unwrap_err();
        assert_eq!(failure.error, "States.Runtime");
        assert_eq!(
            failure.cause,
            "Invalid path '$nope' : The variable '$nope' is not assigned"
        );
        let failure =
            ChoiceRule::from_json(&json!({"Variable": "$guess", "NumericEqualsPath": "$nope"}))
                .unwrap()
                .evaluate_in(&roots)
                .unwrap_err();
        assert_eq!(
            failure.cause,
            "Invalid path '$nope' : The variable '$nope' is not assigned"
        );
    }
}
