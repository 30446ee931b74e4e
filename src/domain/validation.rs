//! AWS's model-constraint error (`ValidationException`) with its fixed message shape.

use crate::error::{ApiError, ErrorKind};

/// `1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: Member must <rule>`.
pub fn constraint_violation(value: impl std::fmt::Display, member: &str, rule: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ValidationException,
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must {rule}"
        ),
    )
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
}
