//! Tag rules: key/value lengths and characters, the 50-tag limit (keys with the reserved `aws:` prefix
//! do not count).

use crate::domain::validation::{check_max_len, check_min_len, constraint_violation};
use crate::error::{ApiError, ErrorKind};

pub const MAX_TAGS: usize = 50;
const MAX_KEY_LEN: usize = 128;
const MAX_VALUE_LEN: usize = 256;
const TAG_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";

/// A tag as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

fn allowed_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

fn check_chars(text: &str, member: &str) -> Result<(), ApiError> {
    // AWS documents the character set; whether its server enforces it is not known; we enforce it with the model's
    // pattern message so bad tags never get stored.
    if text.chars().all(allowed_char) {
        Ok(())
    } else {
        Err(constraint_violation(
            text,
            member,
            &format!("satisfy regular expression pattern: {TAG_PATTERN}"),
        ))
    }
}

pub fn validate_key(key: &str, member: &str) -> Result<(), ApiError> {
    check_min_len(key, member, 1)?;
    check_max_len(key, member, MAX_KEY_LEN)?;
    check_chars(key, member)
}

/// Validates the tags of a request and collapses duplicate keys (the last value wins, as AWS keeps one).
pub fn validate_tags(tags: Vec<Tag>) -> Result<Vec<Tag>, ApiError> {
    let mut collapsed: Vec<Tag> = Vec::with_capacity(tags.len());
    for tag in tags {
        validate_key(&tag.key, "tags.member.key")?;
        check_max_len(&tag.value, "tags.member.value", MAX_VALUE_LEN)?;
        check_chars(&tag.value, "tags.member.value")?;
        match collapsed.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => collapsed.push(tag),
        }
    }
    Ok(collapsed)
}

/// Keys that count toward the limit (`aws:`-prefixed keys are AWS's own).
pub fn counted(key: &str) -> bool {
    !key.starts_with("aws:")
}

/// Checks that `existing` keys plus `added` tags stay within 50 counted tags.
pub fn check_limit<'a>(
    existing: impl IntoIterator<Item = &'a str>,
    added: &[Tag],
    resource_arn: &str,
) -> Result<(), ApiError> {
    let existing: Vec<&str> = existing.into_iter().filter(|k| counted(k)).collect();
    let new_keys = added
        .iter()
        .filter(|t| counted(&t.key) && !existing.contains(&t.key.as_str()))
        .count();
    if existing.len() + new_keys > MAX_TAGS {
        // AWS's TooManyTags message is not known; the wording is ours.
        return Err(ApiError::new(
            ErrorKind::TooManyTags,
            format!("Too many tags: '{resource_arn}'"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn duplicates_collapse_last_wins() {
        let tags = validate_tags(vec![tag("a", "1"), tag("b", ""), tag("a", "2")]).unwrap();
        assert_eq!(tags, vec![tag("a", "2"), tag("b", "")]);
    }

    #[test]
    fn key_and_value_rules() {
        let cases = [
            (tag("", "v"), Some("have length greater than or equal to 1")),
            (
                tag(&"k".repeat(129), "v"),
                Some("have length less than or equal to 128"),
            ),
            (
                tag(&"k".repeat(128), &"v".repeat(257)),
                Some("have length less than or equal to 256"),
            ),
            (tag("k!", "v"), Some("satisfy regular expression pattern")),
            (tag("k", "v#"), Some("satisfy regular expression pattern")),
            (tag("k e_y.:/=+-@é1", "v a:l/u=e+-@"), None),
            (tag(&"k".repeat(128), &"v".repeat(256)), None),
        ];
        for (t, expected) in cases {
            let got = validate_tags(vec![t.clone()]);
            match expected {
                None => assert!(got.is_ok(), "{t:?}"),
                Some(text) => {
                    let err = got.unwrap_err();
                    assert_eq!(err.kind, ErrorKind::ValidationException);
                    assert!(err.message.contains(text), "{t:?}: {}", err.message);
                }
            }
        }
    }

    #[test]
    fn limit_counts_distinct_non_aws_keys() {
        let existing: Vec<String> = (0..49).map(|i| format!("k{i}")).collect();
        let keys = || existing.iter().map(String::as_str);
        assert!(check_limit(keys(), &[tag("k0", "x"), tag("new", "y")], "arn").is_ok());
        assert!(check_limit(keys(), &[tag("aws:x", "1"), tag("new", "y")], "arn").is_ok());
        let err = check_limit(keys(), &[tag("n1", "x"), tag("n2", "y")], "arn").unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooManyTags);
        assert_eq!(err.message, "Too many tags: 'arn'");
    }
}
