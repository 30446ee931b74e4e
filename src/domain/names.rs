//! Resource names (state machines, executions, activities): AWS's length and character rules.

use crate::domain::validation::{check_max_len, check_min_len, echo};
use crate::error::{ApiError, ErrorKind};

pub const MAX_NAME_LEN: usize = 80;

/// Characters AWS rejects in names, besides white space and control characters.
const FORBIDDEN: &[char] = &[
    '<', '>', '{', '}', '[', ']', '?', '*', '"', '#', '%', '\\', '^', '|', '~', '`', '$', '&', ',',
    ';', ':', '/',
];

fn is_forbidden(c: char) -> bool {
    // All Unicode white space is rejected, not only U+0020 (AWS is known to reject U+0020; the rest is our reading).
    c.is_whitespace()
        || matches!(c, '\u{0000}'..='\u{001F}' | '\u{007F}'..='\u{009F}')
        || FORBIDDEN.contains(&c)
}

/// Checks a resource name. Length first (the model constraint fires before the service's check), then
/// characters → `InvalidName: Invalid Name: '<name>'`.
pub fn validate_name(name: &str, member: &str) -> Result<(), ApiError> {
    check_min_len(name, member, 1)?;
    check_max_len(name, member, MAX_NAME_LEN)?;
    if name.chars().any(is_forbidden) {
        return Err(ApiError::new(
            ErrorKind::InvalidName,
            format!("Invalid Name: '{}'", echo(name)),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_names() {
        for name in [
            "a",
            "activity.name",
            "activity-name.1",
            "activity_123.name",
            "été",
            "名前",
            &"x".repeat(80),
        ] {
            assert!(validate_name(name, "name").is_ok(), "{name:?}");
        }
    }

    #[test]
    fn forbidden_characters_give_invalid_name() {
        let bad = [
            " ", "<", ">", "{", "}", "[", "]", "?", "*", "\"", "#", "%", "\\", "^", "|", "~", "`",
            "$", "&", ",", ";", ":", "/", "\u{0000}", "\u{001F}", "\u{007F}", "\u{009F}", "\t",
            "\u{00A0}", "\u{3000}",
        ];
        for c in bad {
            let name = format!("a{c}b");
            let err = validate_name(&name, "name").unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidName, "{c:?}");
            assert_eq!(err.message, format!("Invalid Name: '{}'", echo(&name)));
        }
    }

    #[test]
    fn length_limits_give_validation_exception() {
        let err = validate_name(&"x".repeat(81), "name").unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationException);
        assert!(err
            .message
            .ends_with("at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"));
        let err = validate_name("", "name").unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationException);
    }
}
