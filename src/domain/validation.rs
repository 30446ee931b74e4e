//! AWS's model-constraint error (`ValidationException`) with its fixed message shape.

use crate::error::{ApiError, ErrorKind};

/// How many characters of a caller's value an error message repeats. Messages travel in gRPC
/// metadata, which C-core clients cap at 8 KiB: echoing a whole oversize value would turn the AWS error
/// into RESOURCE_EXHAUSTED on their side.
pub const ECHO_CHARS: usize = 256;

/// A caller's value as an error message repeats it: at most [`ECHO_CHARS`] characters (then `...`),
/// NUL shown as U+FFFD so the message carries no control character.
pub fn echo(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(ECHO_CHARS)
        .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
        .collect();
    if value.chars().nth(ECHO_CHARS).is_some() {
        out.push_str("...");
    }
    out
}

/// `1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: Member must <rule>`
/// (the value shortened by [`echo`]).
pub fn constraint_violation(value: impl std::fmt::Display, member: &str, rule: &str) -> ApiError {
    let value = echo(&value.to_string());
    ApiError::new(
        ErrorKind::ValidationException,
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must {rule}"
        ),
    )
}

/// Plain members (names, ARNs, tokens, error, cause, trace header, worker name) are refused when they
/// hold NUL: Postgres TEXT cannot store it, and both backends keep one rule. (Lone surrogates cannot
/// reach here: protobuf strings are UTF-8, and a body that is not is refused when it is decoded.)
/// Payloads are JSON text, where a raw NUL is already invalid and an escaped `\u0000` is kept as written.
pub fn has_nul(value: &str) -> bool {
    value.contains('\0')
}

/// [`has_nul`] as a model-constraint error for `member`.
pub fn check_no_nul(value: &str, member: &str) -> Result<(), ApiError> {
    if has_nul(value) {
        return Err(constraint_violation(
            value,
            member,
            "not contain the NUL character (U+0000)",
        ));
    }
    Ok(())
}

/// Maximum length in characters (AWS's model counts characters, not bytes).
pub fn check_max_len(value: &str, member: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(constraint_violation(
            value,
            member,
            &format!("have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// Minimum length in characters, for required members that arrived empty.
pub fn check_min_len(value: &str, member: &str, min: usize) -> Result<(), ApiError> {
    if value.chars().count() < min {
        return Err(constraint_violation(
            value,
            member,
            &format!("have length greater than or equal to {min}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_has_aws_shape() {
        let err = check_max_len(&"x".repeat(5), "name", 4).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationException);
        assert_eq!(
            err.message,
            "1 validation error detected: Value 'xxxxx' at 'name' failed to satisfy constraint: Member must have length less than or equal to 4"
        );
        assert!(check_max_len("xxxx", "name", 4).is_ok());
        assert!(
            check_max_len("ééé", "name", 3).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            check_min_len("", "name", 1).unwrap_err().message,
            "1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
    }

    #[test]
    fn echoed_values_are_bounded_and_printable() {
        let long = "x".repeat(5_000);
        let err = check_max_len(&long, "name", 80).unwrap_err();
        assert!(err.message.len() < 600, "{}", err.message.len());
        assert!(err
            .message
            .contains(&format!("{}...'", "x".repeat(ECHO_CHARS))));
        assert_eq!(echo("a\0b"), "a\u{FFFD}b");
        assert_eq!(echo("short"), "short");
    }

    #[test]
    fn nul_is_refused_in_plain_members() {
        assert!(check_no_nul("fine", "error").is_ok());
        let err = check_no_nul("a\0", "error").unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationException);
        assert!(err.message.contains("at 'error'"));
    }
}
