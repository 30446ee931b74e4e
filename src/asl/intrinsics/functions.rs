//! The functions themselves, and the argument checks they share.

use super::*;

/// Split a Format template at its `{}` placeholders: n placeholders give n + 1 literal pieces.
pub(super) fn split_template(template: &str, honour_escapes: bool) -> Result<Vec<String>, String> {
    let mut pieces = vec![String::new()];
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if honour_escapes => match chars.next() {
                Some(escaped) => push_last(&mut pieces, escaped),
                None => return Err("the template ends with a dangling backslash".to_string()),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                pieces.push(String::new());
            }
            other => push_last(&mut pieces, other),
        }
    }
    Ok(pieces)
}

pub(super) fn push_last(pieces: &mut [String], c: char) {
    if let Some(last) = pieces.last_mut() {
        last.push(c);
    }
}

/// How AWS's Java runtime prints a value into a Format template: strings raw, objects as `{k=v, ...}`,
/// arrays as `[a, b]`; nested strings are unquoted too.
pub(super) fn render_java_style(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_java_style(item, out);
            }
            out.push(']');
        }
        Value::Object(object) => {
            out.push('{');
            for (i, (key, item)) in object.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                render_java_style(item, out);
            }
            out.push('}');
        }
    }
}

pub(super) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Evaluated arguments of one call plus the function's name, for uniform failure texts.
pub(super) struct Args {
    pub(super) name: &'static str,
    pub(super) values: Vec<Value>,
}

impl Args {
    pub(super) fn failure(&self, problem: impl AsRef<str>) -> Failure {
        Failure::runtime(format!(
            "Invalid arguments in {}: {}",
            self.name,
            problem.as_ref()
        ))
    }

    pub(super) fn wrong_type(&self, index: usize, wanted: &str) -> Failure {
        self.failure(format!(
            "argument {} must be {wanted}, but got {}",
            index + 1,
            describe(&self.values[index])
        ))
    }

    pub(super) fn string(&self, index: usize) -> Result<&str, Failure> {
        self.values[index]
            .as_str()
            .ok_or_else(|| self.wrong_type(index, "a string"))
    }

    /// A string argument subject to the 10,000-character input limit.
    pub(super) fn limited_string(&self, index: usize) -> Result<&str, Failure> {
        let text = self.string(index)?;
        let length = text.chars().count();
        if length > MAX_ENCODING_INPUT_CHARS {
            return Err(self.failure(format!(
                "the input is {length} characters long; the limit is {MAX_ENCODING_INPUT_CHARS}"
            )));
        }
        Ok(text)
    }

    pub(super) fn array(&self, index: usize) -> Result<&Vec<Value>, Failure> {
        self.values[index]
            .as_array()
            .ok_or_else(|| self.wrong_type(index, "an array"))
    }

    pub(super) fn object(&self, index: usize) -> Result<&Map<String, Value>, Failure> {
        self.values[index]
            .as_object()
            .ok_or_else(|| self.wrong_type(index, "an object"))
    }

    pub(super) fn number(&self, index: usize) -> Result<f64, Failure> {
        self.values[index]
            .as_f64()
            .ok_or_else(|| self.wrong_type(index, "a number"))
    }

    /// A number with no fractional part.
    pub(super) fn integer(&self, index: usize) -> Result<i64, Failure> {
        integral(&self.values[index]).ok_or_else(|| self.wrong_type(index, "an integer"))
    }
}

pub(super) fn integral(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    if let Some(i) = number.as_i64() {
        return Some(i);
    }
    let f = number.as_f64()?;
    (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
}

pub(super) fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let mut shown = compact(value);
    if shown.chars().count() > 60 {
        shown = shown.chars().take(57).collect::<String>() + "...";
    }
    format!("{kind} ({shown})")
}

pub(super) fn string_to_json(args: &Args) -> Result<Value, Failure> {
    let text = args.string(0)?;
    // AWS returns null for blank input rather than failing.
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    let mut parsed: Value = serde_json::from_str(text)
        .map_err(|error| args.failure(format!("the string is not valid JSON ({error})")))?;
    normalize_negative_zero(&mut parsed);
    Ok(parsed)
}

/// serde_json reads `-0` as the float -0.0; AWS (Jackson) reads it as the integer 0.
pub(super) fn normalize_negative_zero(value: &mut Value) {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) => {
            *value = Value::from(0);
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_negative_zero),
        Value::Object(object) => object.values_mut().for_each(normalize_negative_zero),
        _ => {}
    }
}

pub(super) fn array_partition(args: &Args) -> Result<Value, Failure> {
    let items = args.array(0)?;
    let size = args.integer(1)?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            args.failure(format!("the chunk size must be greater than 0, got {size}"))
        })?;
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    ))
}

pub(super) fn array_range(args: &Args) -> Result<Value, Failure> {
    let start = args.integer(0)?;
    let end = args.integer(1)?;
    let step = args.integer(2)?;
    if step == 0 {
        return Err(args.failure("the step must not be 0"));
    }
    let span = i128::from(end) - i128::from(start);
    let count = if span == 0 {
        1
    } else if (span > 0) == (step > 0) {
        span / i128::from(step) + 1
    } else {
        0
    };
    if count > MAX_RANGE_ITEMS as i128 {
        return Err(args.failure(format!(
            "the range would have {count} items; the limit is {MAX_RANGE_ITEMS}"
        )));
    }
    Ok(Value::Array(
        (0..count)
            .map(|i| Value::from((i128::from(start) + i * i128::from(step)) as i64))
            .collect(),
    ))
}

pub(super) fn array_get_item(args: &Args) -> Result<Value, Failure> {
    let items = args.array(0)?;
    let index = args.integer(1)?;
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| {
            args.failure(format!(
                "index {index} is out of bounds for an array of length {}",
                items.len()
            ))
        })
}

/// Keeps the first occurrence of each value, in order (AWS's ordering is not documented; we chose this one).
pub(super) fn array_unique(args: &Args) -> Result<Value, Failure> {
    let items = args.array(0)?;
    let mut unique: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !unique.contains(item) {
            unique.push(item.clone());
        }
    }
    Ok(Value::Array(unique))
}

pub(super) fn base64_decode(args: &Args) -> Result<Value, Failure> {
    let text = args.limited_string(0)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|error| args.failure(format!("the string is not valid Base64 ({error})")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| args.failure("the decoded bytes are not valid UTF-8 text"))
}

pub(super) fn hash(args: &Args) -> Result<Value, Failure> {
    let data = args.limited_string(0)?.as_bytes();
    let algorithm = args.string(1)?;
    let digest = match algorithm {
        "MD5" => hex::encode(md5::Md5::digest(data)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
        other => {
            return Err(args.failure(format!(
                "unsupported hash algorithm '{other}'; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            )))
        }
    };
    Ok(Value::String(digest))
}

pub(super) fn json_merge(args: &Args) -> Result<Value, Failure> {
    let first = args.object(0)?;
    let second = args.object(1)?;
    match args.values[2] {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(
                args.failure("deep merging is not supported; the third argument must be false")
            )
        }
        _ => return Err(args.wrong_type(2, "the boolean false")),
    }
    let mut merged = first.clone();
    for (key, value) in second {
        merged.insert(key.clone(), value.clone());
    }
    Ok(Value::Object(merged))
}

/// Java's `Math.round`: halves go toward positive infinity (recorded AWS results for MathAdd).
pub(super) fn round_half_up(value: f64) -> f64 {
    (value + 0.5).floor()
}

pub(super) fn rounded_integer(args: &Args, index: usize) -> Result<i64, Failure> {
    let rounded = round_half_up(args.number(index)?);
    if rounded.is_finite() && rounded >= i64::MIN as f64 && rounded < i64::MAX as f64 {
        Ok(rounded as i64)
    } else {
        Err(args.failure(format!("argument {} is out of range", index + 1)))
    }
}

pub(super) fn math_add(args: &Args) -> Result<Value, Failure> {
    let a = rounded_integer(args, 0)?;
    let b = rounded_integer(args, 1)?;
    a.checked_add(b)
        .map(Value::from)
        .ok_or_else(|| args.failure("the sum is out of range"))
}

/// Both bounds are inclusive and fractional bounds are rounded like MathAdd's arguments (AWS accepted 12.5 and 44.51
/// in a recorded run; its exact rounding and whether the end is inclusive are not known, so we decided them).
pub(super) fn math_random(args: &Args, rng: &mut dyn rand::RngCore) -> Result<Value, Failure> {
    let start = rounded_integer(args, 0)?;
    let end = rounded_integer(args, 1)?;
    if start > end {
        return Err(args.failure(format!(
            "the start ({start}) must not be greater than the end ({end})"
        )));
    }
    let span = (i128::from(end) - i128::from(start) + 1) as u128;
    let offset = match args.values.get(2) {
        Some(_) => {
            let seed = args.integer(2)?;
            JavaRandom::new(seed).next_below(span)
        }
        None => u128::from(rng.next_u64()) % span,
    };
    Ok(Value::from((i128::from(start) + offset as i128) as i64))
}

/// `java.util.Random`'s generator, so a seeded MathRandom is reproducible across runs and machines.
pub(super) struct JavaRandom {
    pub(super) state: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    pub(super) fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            state: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    pub(super) fn next_bits(&mut self, bits: u32) -> u64 {
        self.state = (self.state.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        self.state >> (48 - bits)
    }

    /// A value in `0..bound` (bound > 0), from 64 random bits.
    pub(super) fn next_below(&mut self, bound: u128) -> u128 {
        let high = self.next_bits(32);
        let low = self.next_bits(32);
        u128::from((high << 32) | low) % bound
    }
}

pub(super) fn string_split(args: &Args) -> Result<Value, Failure> {
    let text = args.string(0)?;
    let separators: Vec<char> = args.string(1)?.chars().collect();
    Ok(Value::Array(
        text.split(|c| separators.contains(&c))
            .filter(|piece| !piece.is_empty())
            .map(|piece| Value::String(piece.to_string()))
            .collect(),
    ))
}
