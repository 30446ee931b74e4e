//! Page sizes and opaque pagination tokens.
//!
//! A token is base64url(JSON `{"c": cursor, "t": issued_at_secs, "h": hash}`), where the cursor is the
//! keyset position (the last item returned) and `hash` covers the query's arguments, the cursor and the
//! issue time. A token therefore only works for the query that made it, and edits are detected (this is
//! a checksum, not a secret-keyed MAC: tokens carry no authority). Keyset cursors keep pages stable under
//! concurrent inserts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::validation::{check_max_len, constraint_violation};
use crate::error::{ApiError, ErrorKind};

pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: i32 = 1000;
/// nextToken length limit of most list operations; ListExecutions allows more.
pub const MAX_TOKEN_LEN: usize = 1024;
pub const MAX_EXECUTIONS_TOKEN_LEN: usize = 3096;
/// AWS's tokens expire after 24 hours.
const TOKEN_LIFETIME_SECS: i64 = 24 * 60 * 60;

/// `maxResults`: 0 (absent) → 100; 1..=1000 as given; anything else → ValidationException.
pub fn page_size(max_results: i32) -> Result<usize, ApiError> {
    if max_results > MAX_PAGE_SIZE {
        return Err(constraint_violation(
            max_results,
            "maxResults",
            "have value less than or equal to 1000",
        ));
    }
    if max_results < 0 {
        return Err(constraint_violation(
            max_results,
            "maxResults",
            "have value greater than or equal to 0",
        ));
    }
    // The range check above makes the conversion lossless.
    Ok(if max_results == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        max_results.unsigned_abs() as usize
    })
}

pub fn invalid_token() -> ApiError {
    ApiError::new(ErrorKind::InvalidToken, "Invalid Token: 'Invalid token'")
}

#[derive(Serialize, Deserialize)]
struct Envelope<C> {
    c: C,
    t: i64,
    h: String,
}

fn checksum(query: &str, cursor_json: &str, issued: i64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(query.as_bytes());
    hasher.update([0]);
    hasher.update(cursor_json.as_bytes());
    hasher.update([0]);
    hasher.update(issued.to_be_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// Makes the nextToken for `cursor` of `query` (a string naming the operation and its arguments).
pub fn encode_token<C: Serialize>(
    query: &str,
    cursor: &C,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let cursor_json = serde_json::to_string(cursor).map_err(ApiError::internal)?;
    let issued = now.timestamp();
    let envelope = Envelope {
        c: cursor,
        t: issued,
        h: checksum(query, &cursor_json, issued),
    };
    let json = serde_json::to_vec(&envelope).map_err(ApiError::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Cuts a page fetched with one row more than `limit` (the extra row only says "there is more"), and makes
/// the nextToken from the page's last row when there is more.
pub fn finish_page<T, C: Serialize>(
    rows: &mut Vec<T>,
    limit: usize,
    query: &str,
    now: DateTime<Utc>,
    cursor: impl Fn(&T) -> C,
) -> Result<Option<String>, ApiError> {
    if rows.len() <= limit {
        return Ok(None);
    }
    rows.truncate(limit);
    rows.last()
        .map(|last| encode_token(query, &cursor(last), now))
        .transpose()
}

/// Reads a nextToken back. Too long → ValidationException; anything not made by `encode_token` for
/// this same `query`, or older than 24 h → `InvalidToken`.
pub fn decode_token<C: DeserializeOwned + Serialize>(
    token: &str,
    query: &str,
    max_len: usize,
    now: DateTime<Utc>,
) -> Result<C, ApiError> {
    check_max_len(token, "nextToken", max_len)?;
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid_token())?;
    let envelope: Envelope<C> = serde_json::from_slice(&bytes).map_err(|_| invalid_token())?;
    let cursor_json = serde_json::to_string(&envelope.c).map_err(|_| invalid_token())?;
    if checksum(query, &cursor_json, envelope.t) != envelope.h {
        return Err(invalid_token());
    }
    let age = now.timestamp() - envelope.t;
    if !(0..=TOKEN_LIFETIME_SECS).contains(&age) {
        return Err(invalid_token());
    }
    Ok(envelope.c)
}

/// Decodes `token` when present (empty string = absent, as proto3 cannot tell them apart).
pub fn decode_optional<C: DeserializeOwned + Serialize>(
    token: &str,
    query: &str,
    max_len: usize,
    now: DateTime<Utc>,
) -> Result<Option<C>, ApiError> {
    if token.is_empty() {
        Ok(None)
    } else {
        decode_token(token, query, max_len, now).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0).unwrap(), 100);
        assert_eq!(page_size(1).unwrap(), 1);
        assert_eq!(page_size(1000).unwrap(), 1000);
        let err = page_size(1001).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationException);
        assert_eq!(
            err.message,
            "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
        );
        assert_eq!(
            page_size(-1).unwrap_err().kind,
            ErrorKind::ValidationException
        );
    }

    #[test]
    fn round_trip() {
        let now = Utc::now();
        let token = encode_token("q", &("sm_1".to_string(), 7i64), now).unwrap();
        let back: (String, i64) = decode_token(&token, "q", MAX_TOKEN_LEN, now).unwrap();
        assert_eq!(back, ("sm_1".to_string(), 7));
    }

    #[test]
    fn rejects_other_query_tampering_garbage_and_age() {
        let now = Utc::now();
        let token = encode_token("q", &5i64, now).unwrap();
        let decode = |t: &str, q: &str, at| decode_token::<i64>(t, q, MAX_TOKEN_LEN, at);
        assert_eq!(decode(&token, "other", now).unwrap_err(), invalid_token());
        assert_eq!(decode("garbage!", "q", now).unwrap_err(), invalid_token());
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode("{}"), "q", now).unwrap_err(),
            invalid_token()
        );
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&token).unwrap()).unwrap();
        let tampered = URL_SAFE_NO_PAD.encode(json.replace("\"c\":5", "\"c\":6"));
        assert_eq!(decode(&tampered, "q", now).unwrap_err(), invalid_token());
        let later = now + Duration::hours(25);
        assert_eq!(decode(&token, "q", later).unwrap_err(), invalid_token());
        let err = decode(&"x".repeat(1025), "q", now).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationException);
        assert!(err
            .message
            .ends_with("Member must have length less than or equal to 1024"));
    }

    #[test]
    fn empty_token_is_absent() {
        let got: Option<i64> = decode_optional("", "q", MAX_TOKEN_LEN, Utc::now()).unwrap();
        assert_eq!(got, None);
    }
}
