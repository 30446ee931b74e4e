//! The two ends of SigV4 agree: a request the executor signs for an AWS service (its outbound signer) is
//! one the AWS door accepts (its verifier), and the door refuses it once anything signed is changed.
//! Both run on `sfn::sigv4`; this checks the callers' own parts (added headers, header order, scope
//! and time checks) fit together.

use std::path::Path;

use chrono::{TimeZone, Utc};
use hyper::HeaderMap;
use sfn::auth::sigv4::{verify, SignedRequest, SERVICE};
use sfn::auth::Principals;
use sfn::error::ErrorKind;
use sfn::executor::integrations::sigv4::{sign, AwsCredentials, SigningRequest};

const ACCESS_KEY: &str = "AKIDROUNDTRIP0000001";
const SECRET: &str = "roundtrip-secret/0123456789abcdefghij";

fn principals() -> Principals {
    Principals::parse(
        &serde_json::json!({"principals": [
            {"name": "ops", "role": "admin", "token": "ops-token-0123456789abcdef",
             "access_key_id": ACCESS_KEY, "secret_access_key": SECRET}
        ]})
        .to_string(),
        Path::new("auth.json"),
    )
    .expect("auth file")
}

fn credentials(session_token: Option<&str>) -> AwsCredentials {
    AwsCredentials {
        access_key_id: ACCESS_KEY.to_string(),
        secret_access_key: SECRET.to_string(),
        session_token: session_token.map(String::from),
    }
}

/// The headers on the wire: what the executor sends plus what its signer adds.
fn wire(sent: &[(String, String)], added: &[(String, String)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in sent.iter().chain(added) {
        headers.append(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    headers
}

#[test]
fn what_the_executor_signs_the_door_verifies_and_a_tampered_copy_it_does_not() {
    let signed_at = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    let now = signed_at + chrono::Duration::seconds(30);
    let body = br#"{"maxResults":10}"#;
    let sent = vec![
        ("host".to_string(), "localhost:8083".to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.0".to_string(),
        ),
        (
            "x-amz-target".to_string(),
            "AWSStepFunctions.ListActivities".to_string(),
        ),
    ];
    let principals = principals();
    let check = |headers: &HeaderMap, method: &str, query: &str, body: &[u8]| {
        verify(
            &principals,
            &SignedRequest {
                method,
                path: "/",
                query,
                headers,
                body,
            },
            now,
        )
    };

    for token in [None, Some("session-token")] {
        let request = SigningRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &sent,
            body,
        };
        let added = sign(
            &request,
            &credentials(token),
            "eu-west-1",
            SERVICE,
            signed_at,
        );
        let headers = wire(&sent, &added);
        let caller = check(&headers, "POST", "", body).expect("the door accepts the signature");
        assert_eq!(caller.name.as_ref(), "ops");

        let refused = |headers: &HeaderMap, method: &str, query: &str, body: &[u8]| {
            check(headers, method, query, body).unwrap_err().kind
        };
        let invalid = ErrorKind::InvalidSignatureException;
        assert_eq!(
            refused(&headers, "POST", "", br#"{"maxResults":11}"#),
            invalid
        );
        assert_eq!(refused(&headers, "PUT", "", body), invalid);
        assert_eq!(refused(&headers, "POST", "a=1", body), invalid);
        let mut retargeted = headers.clone();
        retargeted.insert(
            "x-amz-target",
            "AWSStepFunctions.DeleteActivity".parse().unwrap(),
        );
        assert_eq!(refused(&retargeted, "POST", "", body), invalid);
        if token.is_some() {
            // The session token is signed too.
            let mut other = headers.clone();
            other.insert("x-amz-security-token", "another-token".parse().unwrap());
            assert_eq!(refused(&other, "POST", "", body), invalid);
        }
        // Signed with another secret under the same key.
        let forged = sign(
            &request,
            &AwsCredentials {
                secret_access_key: "not-the-secret".to_string(),
                ..credentials(token)
            },
            "eu-west-1",
            SERVICE,
            signed_at,
        );
        assert_eq!(refused(&wire(&sent, &forged), "POST", "", body), invalid);
    }
}
