//! Outbound AWS Signature Version 4 (the `Authorization` header every AWS API, and every emulator that
//! checks it, expects). Only what the JSON-protocol calls need: a request whose path and query are already
//! URI-encoded, a body hashed whole.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
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
    let amz_date = time.format("%Y%m%dT%H%M%SZ").to_string();
    let date = time.format("%Y%m%d").to_string();
    let mut added = vec![("X-Amz-Date".to_string(), amz_date.clone())];
    if let Some(token) = &credentials.session_token {
        added.push(("X-Amz-Security-Token".to_string(), token.clone()));
    }
    // Canonical headers: lower-case names, trimmed values with inner runs of spaces collapsed, sorted.
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .chain(added.iter())
        .map(|(n, v)| {
            (
                n.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    headers.sort();
    let mut canonical_headers = String::new();
    let mut names: Vec<&str> = Vec::new();
    for (name, value) in &headers {
        if names.last() == Some(&name.as_str()) {
            // A repeated header is one line with its values comma-separated.
            canonical_headers.pop();
            canonical_headers.push_str(&format!(",{value}\n"));
            continue;
        }
        canonical_headers.push_str(&format!("{name}:{value}\n"));
        names.push(name);
    }
    let signed_headers = names.join(";");
    let mut query: Vec<&str> = request.query.split('&').filter(|p| !p.is_empty()).collect();
    query.sort_by(|a, b| {
        let key = |p: &&str| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        };
        key(a).cmp(&key(b))
    });
    let query: Vec<String> = query
        .iter()
        .map(|p| match p.split_once('=') {
            Some(_) => p.to_string(),
            None => format!("{p}="),
        })
        .collect();
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        if request.path.is_empty() {
            "/"
        } else {
            request.path
        },
        query.join("&"),
        canonical_headers,
        signed_headers,
        sha256_hex(request.body)
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac(
        format!("AWS4{}", credentials.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    added.push((
        "Authorization".to_string(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
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
