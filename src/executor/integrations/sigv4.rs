//! Outbound SigV4: the `Authorization` header every AWS API, and every emulator that checks it, expects
//! on the executor's calls to AWS services. The algorithm is `crate::sigv4`'s; what is the caller's own
//! is here: the credentials, the headers added (`X-Amz-Date`, `X-Amz-Security-Token`) and that every
//! header sent is signed. Only what the JSON-protocol calls need: a request whose path and query are
//! already URI-encoded, a body hashed whole.

use chrono::{DateTime, Utc};

use crate::sigv4::{self, Scope, AMZ_DATE_FORMAT};

/// The credentials a request is signed with.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    // Never print the secret (settings are logged at debug level).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// What is signed: the request as it will be sent.
pub struct SigningRequest<'a> {
    pub method: &'a str,
    /// The URI-encoded path (`/` for the JSON protocols).
    pub path: &'a str,
    /// The URI-encoded query string, without `?`.
    pub query: &'a str,
    /// Every header that is sent, `host` included.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The headers to add to `request` (`X-Amz-Date`, `X-Amz-Security-Token` with a session token, and
/// `Authorization`), signed for `region` and `service` at `time`.
pub fn sign(
    request: &SigningRequest<'_>,
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    time: DateTime<Utc>,
) -> Vec<(String, String)> {
    let amz_date = time.format(AMZ_DATE_FORMAT).to_string();
    let date = time.format("%Y%m%d").to_string();
    let mut added = vec![("X-Amz-Date".to_string(), amz_date.clone())];
    if let Some(token) = &credentials.session_token {
        added.push(("X-Amz-Security-Token".to_string(), token.clone()));
    }
    // Every header sent is signed: lower-case names, sorted (a stable sort keeps a repeated header's
    // values in the order they are sent), one entry per name.
    let mut sent: Vec<(String, &str)> = request
        .headers
        .iter()
        .chain(added.iter())
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_str()))
        .collect();
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    let mut headers: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in sent {
        match headers.last_mut() {
            Some((last, values)) if *last == name => values.push(value.to_string()),
            _ => headers.push((name, vec![value.to_string()])),
        }
    }
    let authorization = sigv4::sign(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        &amz_date,
        &Scope::new(&date, region, service),
        &sigv4::Request {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: &headers,
            body: request.body,
        },
    );
    added.push(("Authorization".to_string(), authorization));
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn example() -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    fn authorization(added: &[(String, String)]) -> &str {
        &added.iter().find(|(n, _)| n == "Authorization").unwrap().1
    }

    /// AWS's published SigV4 test suite, `get-vanilla` and `get-vanilla-query-order-key-case`.
    #[test]
    fn matches_the_aws_test_suite() {
        let time = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
        let headers = vec![("Host".to_string(), "example.amazonaws.com".to_string())];
        let vanilla = SigningRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let added = sign(&vanilla, &example(), "us-east-1", "service", time);
        assert_eq!(
            authorization(&added),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert!(added.contains(&("X-Amz-Date".to_string(), "20150830T123600Z".to_string())));
        let ordered = SigningRequest {
            query: "Param2=value2&Param1=value1",
            ..vanilla
        };
        assert_eq!(
            authorization(&sign(&ordered, &example(), "us-east-1", "service", time)),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn session_tokens_are_sent_and_signed() {
        let time = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
        let headers = vec![("Host".to_string(), "example.amazonaws.com".to_string())];
        let credentials = AwsCredentials {
            session_token: Some("TOKEN".into()),
            ..example()
        };
        let request = SigningRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: b"{}",
        };
        let added = sign(&request, &credentials, "eu-west-1", "dynamodb", time);
        assert!(added.contains(&("X-Amz-Security-Token".to_string(), "TOKEN".to_string())));
        assert!(
            authorization(&added).contains("SignedHeaders=host;x-amz-date;x-amz-security-token,")
        );
        assert!(authorization(&added).contains("/20150830/eu-west-1/dynamodb/aws4_request"));
    }
}
