//! The functions Step Functions adds to JSONata (`$partition`, `$range`, `$hash`, `$random` with a seed,
//! `$uuid`, `$parse`), the one it takes away (`$eval`), and the impure built-ins made pure: `$now` and
//! `$millis` read the environment's clock, `$random()`, `$uuid()` and `$shuffle` its entropy.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use rand::{Rng, SeedableRng};
use sha2::Digest;

use super::{convert, Session, MAX_SEQUENCE_LENGTH};

type Shared<T> = Rc<RefCell<T>>;

pub(crate) fn register(
    evaluator: &mut Evaluator,
    used: &BTreeSet<String>,
    session: &mut Session<'_, '_>,
) -> Result<(), EvaluatorError> {
    let mut entropy: Option<Shared<rand::rngs::StdRng>> = None;
    let mut entropy = |session: &mut Session<'_, '_>| {
        entropy
            .get_or_insert_with(|| {
                Rc::new(RefCell::new(rand::rngs::StdRng::seed_from_u64(
                    session.seed(),
                )))
            })
            .clone()
    };
    for name in used {
        match name.as_str() {
            "partition" => evaluator.register_fn("partition", partition)?,
            "range" => evaluator.register_fn("range", range)?,
            "hash" => evaluator.register_fn("hash", hash)?,
            "parse" => evaluator.register_fn("parse", parse)?,
            "uuid" => {
                let rng = entropy(session);
                evaluator.register_fn("uuid", move |args: &[JValue]| uuid(args, &rng))?
            }
            "random" => {
                let rng = entropy(session);
                evaluator
                    .register_fn_override("random", move |args: &[JValue]| random(args, &rng))?
            }
            "shuffle" => {
                let rng = entropy(session);
                evaluator
                    .register_fn_override("shuffle", move |args: &[JValue]| shuffle(args, &rng))?
            }
            "now" => {
                let now = session.now();
                evaluator.register_fn_override("now", move |args: &[JValue]| now_fn(args, now))?
            }
            "millis" => {
                let millis = session.now().timestamp_millis();
                evaluator.register_fn_override("millis", move |args: &[JValue]| {
                    if !args.is_empty() {
                        return Err(signature_error(1, "millis"));
                    }
                    Ok(JValue::Number(millis as f64))
                })?
            }
            // AWS removes `$eval`; calling it is calling a name bound to nothing.
            "eval" => evaluator.register_fn_override("eval", |_: &[JValue]| {
                Err(EvaluatorError::EvaluationError(
                    "T1006: Attempted to invoke a non-function".to_string(),
                ))
            })?,
            _ => {}
        }
    }
    Ok(())
}

/// jsonata-js's T0410, which AWS reports for an argument its signature does not accept.
fn signature_error(index: usize, function: &str) -> EvaluatorError {
    EvaluatorError::TypeError(format!(
        "T0410: Argument {index} of function \"{function}\" does not match function signature"
    ))
}

fn failure(function: &str, message: &str) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("Invalid arguments in ${function}: {message}"))
}

fn number_arg(args: &[JValue], index: usize, function: &str) -> Result<f64, EvaluatorError> {
    match args.get(index) {
        Some(JValue::Number(n)) => Ok(*n),
        _ => Err(signature_error(index + 1, function)),
    }
}

fn check_arity(args: &[JValue], max: usize, function: &str) -> Result<(), EvaluatorError> {
    if args.len() > max {
        return Err(signature_error(max + 1, function));
    }
    Ok(())
}

/// `$partition(array, size)`: chunks of `size`, the last one possibly shorter.
fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity(args, 2, "partition")?;
    let items: Vec<JValue> = match args.first() {
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(JValue::Array(items)) => items.to_vec(),
        // A single value is a one-item array, as everywhere in JSONata.
        Some(value) => vec![value.clone()],
    };
    let size = number_arg(args, 1, "partition")?;
    if size.fract() != 0.0 || size < 1.0 {
        return Err(failure(
            "partition",
            "the chunk size must be a positive integer",
        ));
    }
    let size = if size > items.len() as f64 {
        items.len().max(1)
    } else {
        size as usize
    };
    Ok(JValue::array(
        items
            .chunks(size)
            .map(|chunk| JValue::array(chunk.to_vec()))
            .collect(),
    ))
}

/// `$range(start, end, step)`: from `start` by `step`, including `end` when a step lands on it. The result
/// is a JSONata sequence, so a single number comes out bare (`$range(1, 9, 9)` is `1`, as on AWS).
fn range(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity(args, 3, "range")?;
    if args.iter().any(JValue::is_undefined) || args.len() < 3 {
        return if args.len() < 3 {
            Err(signature_error(args.len() + 1, "range"))
        } else {
            Ok(JValue::Undefined)
        };
    }
    let start = number_arg(args, 0, "range")?;
    let end = number_arg(args, 1, "range")?;
    let step = number_arg(args, 2, "range")?;
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
        return Err(failure("range", "the step must be a non-zero number"));
    }
    let count = ((end - start) / step).floor();
    if count < 0.0 {
        return Ok(JValue::Undefined);
    }
    if count >= MAX_SEQUENCE_LENGTH as f64 {
        return Err(EvaluatorError::EvaluationError(format!(
            "D2015: Sequence length {} exceeds the maximum of {MAX_SEQUENCE_LENGTH}",
            count + 1.0
        )));
    }
    let items = (0..=count as usize)
        .map(|i| JValue::Number(start + step * i as f64))
        .collect();
    Ok(JValue::sequence(items))
}

/// `$hash(string, algorithm)`: lowercase hex digest.
fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity(args, 2, "hash")?;
    let data = match args.first() {
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(JValue::String(s)) => s.clone(),
        Some(_) => return Err(signature_error(1, "hash")),
    };
    let algorithm = match args.get(1) {
        Some(JValue::String(s)) => s.clone(),
        _ => return Err(signature_error(2, "hash")),
    };
    let data = data.as_bytes();
    let digest = match &*algorithm {
        "MD5" => hex::encode(md5::Md5::digest(data)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
        other => {
            return Err(failure(
                "hash",
                &format!("unsupported hash algorithm '{other}'; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"),
            ))
        }
    };
    Ok(JValue::string(digest))
}

/// `$parse(jsonString)`: the JSON value the string holds.
fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity(args, 1, "parse")?;
    match args.first() {
        None | Some(JValue::Undefined) => Ok(JValue::Undefined),
        Some(JValue::String(s)) => serde_json::from_str::<serde_json::Value>(s)
            .map(|value| convert::to_jvalue(&value))
            .map_err(|e| failure("parse", &format!("the string is not valid JSON ({e})"))),
        Some(_) => Err(signature_error(1, "parse")),
    }
}

/// `$random()` draws from the environment; `$random(seed)` is `java.util.Random(seed).nextDouble()`, the
/// number AWS returns for that seed (`$random(42)` is `0.7275636800328681` on AWS).
fn random(args: &[JValue], rng: &Shared<rand::rngs::StdRng>) -> Result<JValue, EvaluatorError> {
    check_arity(args, 1, "random")?;
    match args.first() {
        None | Some(JValue::Undefined) => Ok(JValue::Number(rng.borrow_mut().random::<f64>())),
        Some(JValue::Number(seed)) => {
            Ok(JValue::Number(JavaRandom::new(*seed as i64).next_double()))
        }
        Some(_) => Err(signature_error(1, "random")),
    }
}

/// `java.util.Random`: a 48-bit linear congruential generator.
pub(crate) struct JavaRandom(i64);

impl JavaRandom {
    const MULTIPLIER: i64 = 0x5_DEEC_E66D;
    const MASK: i64 = (1 << 48) - 1;

    pub(crate) fn new(seed: i64) -> JavaRandom {
        JavaRandom((seed ^ Self::MULTIPLIER) & Self::MASK)
    }

    fn next(&mut self, bits: u32) -> i64 {
        self.0 = (self.0.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        // Java: (int) (seed >>> (48 - bits)); the values here fit in 27 bits.
        i64::from((self.0 >> (48 - bits)) as i32)
    }

    pub(crate) fn next_double(&mut self) -> f64 {
        let high = self.next(26);
        let low = self.next(27);
        ((high << 27) + low) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// `$uuid()`: a version 4 UUID.
fn uuid(args: &[JValue], rng: &Shared<rand::rngs::StdRng>) -> Result<JValue, EvaluatorError> {
    check_arity(args, 0, "uuid")?;
    let mut bytes = [0u8; 16];
    rng.borrow_mut().fill(&mut bytes);
    Ok(JValue::string(
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string(),
    ))
}

/// `$shuffle(array)` with the environment's entropy.
fn shuffle(args: &[JValue], rng: &Shared<rand::rngs::StdRng>) -> Result<JValue, EvaluatorError> {
    check_arity(args, 1, "shuffle")?;
    match args.first() {
        None => Err(signature_error(1, "shuffle")),
        Some(JValue::Array(items)) if items.len() > 1 => {
            let mut items = items.to_vec();
            let mut rng = rng.borrow_mut();
            for i in (1..items.len()).rev() {
                let j = rng.random_range(0..=i);
                items.swap(i, j);
            }
            Ok(JValue::array(items))
        }
        Some(other) => Ok(other.clone()),
    }
}

/// `$now([picture [, timezone]])`: the environment's time, ISO 8601 with milliseconds by default;
/// a picture formats it as `$fromMillis` does.
fn now_fn(args: &[JValue], now: chrono::DateTime<chrono::Utc>) -> Result<JValue, EvaluatorError> {
    check_arity(args, 2, "now")?;
    if args.iter().all(JValue::is_undefined) {
        return Ok(JValue::string(
            now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        ));
    }
    let ast = jsonata_core::parser::parse("$fromMillis($m, $p, $t)")
        .map_err(|e| EvaluatorError::EvaluationError(e.to_string()))?;
    let mut context = jsonata_core::evaluator::Context::new();
    context.bind("m".into(), JValue::Number(now.timestamp_millis() as f64));
    context.bind(
        "p".into(),
        args.first().cloned().unwrap_or(JValue::Undefined),
    );
    context.bind(
        "t".into(),
        args.get(1).cloned().unwrap_or(JValue::Undefined),
    );
    Evaluator::with_context(context).evaluate(&ast, &JValue::Undefined)
}
