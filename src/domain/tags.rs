//! Tag rules: key/value lengths and characters, the 50-tag limit, and the reserved `aws:` prefix
//! (callers cannot add such keys, so every stored key counts toward the limit).

use std::collections::HashMap;

use crate::domain::validation::{check_max_len, check_min_len, constraint_violation, echo};
use crate::error::{ApiError, ErrorKind};

pub const MAX_TAGS: usize = 50;
const MAX_KEY_LEN: usize = 128;
const MAX_VALUE_LEN: usize = 256;
const TAG_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";

/// A tag as stored (its serde form is AWS's JSON: `{"key": ..., "value": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
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

/// Keys with this prefix are AWS's own; callers may not add them.
const RESERVED_PREFIX: &str = "aws:";

/// A key a caller may add: [`validate_key`] and not `aws:`-prefixed (an `aws:` key that did not count
/// toward the limit let one request store 25,000 tags).
fn validate_new_key(key: &str, member: &str) -> Result<(), ApiError> {
    validate_key(key, member)?;
    if key.starts_with(RESERVED_PREFIX) {
        return Err(constraint_violation(
            key,
            member,
            &format!("not start with the reserved prefix '{RESERVED_PREFIX}'"),
        ));
    }
    Ok(())
}

/// More entries than a resource can hold are refused before any of them is looked at, so a request's
/// cost is bounded by the limit, not by its size. (Duplicates count here: a request has no reason to
/// repeat a key 50 times.)
pub fn check_request_count(count: usize, resource_arn: &str) -> Result<(), ApiError> {
    if count > MAX_TAGS {
        return Err(too_many_tags(resource_arn));
    }
    Ok(())
}

/// AWS's TooManyTags message is not known; the wording is ours.
pub fn too_many_tags(resource_arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::TooManyTags,
        format!("Too many tags: '{}'", echo(resource_arn)),
    )
}

/// Validates the tags of a request and collapses duplicate keys (the last value wins, as AWS keeps one).
pub fn validate_tags(tags: Vec<Tag>, resource_arn: &str) -> Result<Vec<Tag>, ApiError> {
    check_request_count(tags.len(), resource_arn)?;
    let mut collapsed: Vec<Tag> = Vec::with_capacity(tags.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(tags.len());
    for tag in tags {
        validate_new_key(&tag.key, "tags.member.key")?;
        check_max_len(&tag.value, "tags.member.value", MAX_VALUE_LEN)?;
        check_chars(&tag.value, "tags.member.value")?;
        match index.get(&tag.key) {
            Some(&at) => collapsed[at].value = tag.value,
            None => {
                index.insert(tag.key.clone(), collapsed.len());
                collapsed.push(tag);
            }
        }
    }
    Ok(collapsed)
}

/// UntagResource's keys: at most 50 (a resource never has more), checked before any key is.
pub fn validate_untag_keys(keys: &[String]) -> Result<(), ApiError> {
    if keys.len() > MAX_TAGS {
        return Err(constraint_violation(
            format!("[{} keys]", keys.len()),
            "tagKeys",
            &format!("have length less than or equal to {MAX_TAGS}"),
        ));
    }
    for key in keys {
        validate_key(key, "tagKeys.member")?;
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
        let tags = validate_tags(vec![tag("a", "1"), tag("b", ""), tag("a", "2")], "arn").unwrap();
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
            let got = validate_tags(vec![t.clone()], "arn");
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
    fn reserved_prefix_and_request_size_are_refused_first() {
        let err = validate_tags(vec![tag("aws:x", "1")], "arn").unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationException);
        assert!(err.message.contains("reserved prefix"), "{}", err.message);
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(
            validate_tags(many, "arn").unwrap_err().kind,
            ErrorKind::TooManyTags
        );
        // Refused on count before the bad key in it is looked at.
        let mut flood: Vec<Tag> = (0..60_000).map(|i| tag(&format!("k{i}"), "v")).collect();
        flood[0].key = "bad!".into();
        assert_eq!(
            validate_tags(flood, "arn").unwrap_err().kind,
            ErrorKind::TooManyTags
        );
        let keys: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
        assert_eq!(
            validate_untag_keys(&keys).unwrap_err().kind,
            ErrorKind::ValidationException
        );
        assert!(validate_untag_keys(&keys[..50]).is_ok());
        // Existing aws: keys may still be removed.
        assert!(validate_untag_keys(&["aws:x".to_string()]).is_ok());
    }
}
