//! AWS Signature Version 4, server side: the AWS JSON door checks each request's `Authorization` header
//! against the access keys of the auth file, as AWS does (the algorithm mirrors botocore's `SigV4Auth`),
//! and answers with AWS's error names and wording when it does not verify.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use hyper::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Caller, Principals};
use crate::error::{ApiError, ErrorKind};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The signing name of Step Functions, the service part of the credential scope.
pub const SERVICE: &str = "states";
/// How far a request's time may be from ours (AWS's window for JSON services).
const MAX_SKEW: Duration = Duration::minutes(5);
const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// The parts of a request a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query string ("" when none).
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The principal that signed `request`, or AWS's answer when the signature is missing, malformed, made
/// with an unknown key, out of its time window, or wrong.
pub fn verify(
    principals: &Principals,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Caller, ApiError> {
    let Some(authorization) = request.headers.get(hyper::header::AUTHORIZATION) else {
        return Err(ApiError::new(
            ErrorKind::MissingAuthenticationTokenException,
            "Request is missing Authentication Token",
        ));
    };
    let authorization = authorization
        .to_str()
        .map_err(|_| incomplete("Authorization header is not valid text".to_string()))?;
    let header = AuthorizationHeader::parse(authorization, request.headers)?;
    // An unsigned Host would let a signature made for another server be replayed here.
    if !header.signed_headers.iter().any(|name| name == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_string(),
        ));
    }
    let (principal, key) = principals
        .by_access_key(header.access_key_id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::UnrecognizedClientException,
                "The security token included in the request is invalid.",
            )
        })?;
    header.check_scope()?;
    check_time(header.amz_date, header.time, now)?;
    let expected = signature(&key.secret_access_key, &header, request);
    if !bool::from(expected.as_bytes().ct_eq(header.signature.as_bytes())) {
        return Err(invalid_signature(
            "The request signature we calculated does not match the signature you provided. Check your \
             AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(principal.caller.clone())
}

/// The signature of `request` with `secret` (hex), over the headers the client said it signed.
fn signature(
    secret: &str,
    header: &AuthorizationHeader<'_>,
    request: &SignedRequest<'_>,
) -> String {
    let canonical = canonical_request(request, &header.signed_headers);
    let scope = format!(
        "{}/{}/{}/{}",
        header.scope_date, header.region, header.service, header.terminator
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        header.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{secret}").as_bytes(),
        header.scope_date.as_bytes(),
    );
    for part in [header.region, header.service, header.terminator] {
        key = hmac(&key, part.as_bytes());
    }
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SigV4's canonical request: method, path, sorted query, the signed headers (trimmed, inner blanks
/// collapsed, repeated headers joined by commas), their names, and the payload's SHA-256.
pub fn canonical_request(request: &SignedRequest<'_>, signed_headers: &[String]) -> String {
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    let mut query: Vec<(&str, &str)> = request
        .query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    query.sort_unstable();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|value| {
                String::from_utf8_lossy(value.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    // Always the hash of the body received, never the client's `x-amz-content-sha256`: trusting that
    // header would let a replayed signature carry any other body.
    let payload_hash = hex::encode(Sha256::digest(request.body));
    format!(
        "{}\n{path}\n{query}\n{headers}\n{}\n{payload_hash}",
        request.method,
        signed_headers.join(";")
    )
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/states/aws4_request, SignedHeaders=a;b,
/// Signature=hex`, with the request's `X-Amz-Date`.
struct AuthorizationHeader<'a> {
    access_key_id: &'a str,
    scope_date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: Vec<String>,
    signature: &'a str,
    amz_date: &'a str,
    time: DateTime<Utc>,
}

impl<'a> AuthorizationHeader<'a> {
    fn parse(value: &'a str, headers: &'a HeaderMap) -> Result<Self, ApiError> {
        let Some(parameters) = value.strip_prefix(ALGORITHM) else {
            let algorithm = value.split_whitespace().next().unwrap_or("");
            return Err(incomplete(format!(
                "Unsupported AWS 'algorithm': '{algorithm}'. Authorization={value}"
            )));
        };
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for part in parameters.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((key, v)) = part.split_once('=') else {
                return Err(incomplete(format!(
                    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'"
                )));
            };
            match key.trim() {
                "Credential" => credential = Some(v.trim()),
                "SignedHeaders" => signed_headers = Some(v.trim()),
                "Signature" => signature = Some(v.trim()),
                _ => {}
            }
        }
        let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok());
        let mut missing = String::new();
        for (name, present) in [
            ("Credential", credential.is_some()),
            ("Signature", signature.is_some()),
            ("SignedHeaders", signed_headers.is_some()),
        ] {
            if !present {
                missing.push_str(&format!(
                    "Authorization header requires '{name}' parameter. "
                ));
            }
        }
        if amz_date.is_none() {
            missing.push_str(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
            );
        }
        let (Some(credential), Some(signed_headers), Some(signature), Some(amz_date)) =
            (credential, signed_headers, signature, amz_date)
        else {
            return Err(incomplete(format!("{missing}Authorization={value}")));
        };
        let time = NaiveDateTime::parse_from_str(amz_date, AMZ_DATE_FORMAT)
            .map_err(|_| {
                incomplete(format!(
                    "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See \
                     http://en.wikipedia.org/wiki/ISO_8601"
                ))
            })?
            .and_utc();
        let parts: Vec<&str> = credential.split('/').collect();
        let [access_key_id, scope_date, region, service, terminator] = parts[..] else {
            return Err(incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{credential}'"
            )));
        };
        Ok(AuthorizationHeader {
            access_key_id,
            scope_date,
            region,
            service,
            terminator,
            signed_headers: signed_headers
                .split(';')
                .map(|name| name.trim().to_ascii_lowercase())
                .filter(|name| !name.is_empty())
                .collect(),
            signature,
            amz_date,
            time,
        })
    }

    /// The credential scope must name this service, a region, the request's day and the terminator.
    fn check_scope(&self) -> Result<(), ApiError> {
        if self.service != SERVICE {
            return Err(invalid_signature(&format!(
                "Credential should be scoped to correct service: '{SERVICE}'. "
            )));
        }
        if self.region.is_empty() {
            return Err(invalid_signature(
                "Credential should be scoped to a valid region. ",
            ));
        }
        if self.terminator != "aws4_request" {
            return Err(invalid_signature(&format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                self.terminator
            )));
        }
        let day = &self.amz_date[..8.min(self.amz_date.len())];
        if self.scope_date != day {
            return Err(invalid_signature(&format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
                 HTTP: '{}' != '{day}', from '{}'.",
                self.scope_date, self.amz_date
            )));
        }
        Ok(())
    }
}

/// AWS refuses requests signed more than five minutes before or after its own time.
fn check_time(amz_date: &str, time: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ApiError> {
    let format = |t: DateTime<Utc>| t.format(AMZ_DATE_FORMAT).to_string();
    if time < now - MAX_SKEW {
        return Err(invalid_signature(&format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            format(now - MAX_SKEW),
            format(now)
        )));
    }
    if time > now + MAX_SKEW {
        return Err(invalid_signature(&format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            format(now + MAX_SKEW),
            format(now)
        )));
    }
    Ok(())
}

fn incomplete(message: String) -> ApiError {
    ApiError::new(ErrorKind::IncompleteSignatureException, message)
}

fn invalid_signature(message: &str) -> ApiError {
    ApiError::new(ErrorKind::InvalidSignatureException, message)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn principals() -> Principals {
        Principals::parse(
            r#"{"principals": [
                {"name": "ops", "role": "admin", "token": "ops-token-0123456789abcdef",
                 "access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
            ]}"#,
            Path::new("auth.json"),
        )
        .expect("auth file")
    }

    /// Signs like a client would (same functions, independent of `verify`'s parsing).
    fn signed(body: &str, amz_date: &str, secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", "localhost:8083".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-amz-json-1.0".parse().unwrap(),
        );
        headers.insert("x-amz-date", amz_date.parse().unwrap());
        headers.insert(
            "x-amz-target",
            "AWSStepFunctions.ListActivities".parse().unwrap(),
        );
        let names: Vec<String> = ["content-type", "host", "x-amz-date", "x-amz-target"]
            .map(String::from)
            .to_vec();
        let header = AuthorizationHeader {
            access_key_id: "AKIDEXAMPLE",
            scope_date: &amz_date[..8],
            region: "us-east-1",
            service: "states",
            terminator: "aws4_request",
            signed_headers: names.clone(),
            signature: "",
            amz_date,
            time: Utc::now(),
        };
        let request = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let signature = signature(secret, &header, &request);
        let value = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/states/aws4_request, SignedHeaders={}, Signature={signature}",
            &amz_date[..8],
            names.join(";")
        );
        headers.insert("authorization", value.parse().unwrap());
        headers
    }

    fn check(headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> Result<Caller, ApiError> {
        verify(
            &principals(),
            &SignedRequest {
                method: "POST",
                path: "/",
                query: "",
                headers,
                body: body.as_bytes(),
            },
            now,
        )
    }

    fn at(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, AMZ_DATE_FORMAT)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn the_signing_key_chain_matches_awss_published_example() {
        // AWS's documented example (IAM ListUsers, us-east-1, 20150830): the derived signing key.
        let mut key = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20150830");
        for part in ["us-east-1", "iam", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn a_good_signature_verifies_and_anything_else_gets_awss_error() {
        let now = at("20250101T120000Z");
        let body = "{}";
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let headers = signed(body, "20250101T120100Z", secret);
        assert_eq!(check(&headers, body, now).unwrap().name.as_ref(), "ops");

        let kind = |result: Result<Caller, ApiError>| result.unwrap_err().kind;
        // Another body, another secret: the signature no longer matches.
        assert_eq!(
            kind(check(&headers, "{\"maxResults\":1}", now)),
            ErrorKind::InvalidSignatureException
        );
        assert_eq!(
            kind(check(&signed(body, "20250101T120100Z", "wrong"), body, now)),
            ErrorKind::InvalidSignatureException
        );
        // The same signature with another body, even when the client's content hash names the original.
        let mut replayed = headers.clone();
        replayed.insert(
            "x-amz-content-sha256",
            hex::encode(Sha256::digest(body.as_bytes()))
                .parse()
                .unwrap(),
        );
        assert_eq!(
            kind(check(&replayed, "{\"maxResults\":1}", now)),
            ErrorKind::InvalidSignatureException
        );
        // A signature that does not cover Host is refused before it is checked.
        let mut hostless = headers.clone();
        let value = hostless["authorization"]
            .to_str()
            .unwrap()
            .replace("content-type;host;", "content-type;");
        hostless.insert("authorization", value.parse().unwrap());
        let err = check(&hostless, body, now).unwrap_err();
        assert_eq!(err.kind, ErrorKind::IncompleteSignatureException);
        // Ten minutes off either way.
        let err = check(&headers, body, at("20250101T121100Z")).unwrap_err();
        assert_eq!(
            err.message,
            "Signature expired: 20250101T120100Z is now earlier than 20250101T120600Z (20250101T121100Z - 5 min.)"
        );
        assert_eq!(
            kind(check(&headers, body, at("20250101T115000Z"))),
            ErrorKind::InvalidSignatureException
        );
        // No header; an unknown key; a header without its parts.
        let mut bare = headers.clone();
        bare.remove("authorization");
        assert_eq!(
            kind(check(&bare, body, now)),
            ErrorKind::MissingAuthenticationTokenException
        );
        let mut stranger = headers.clone();
        let value = stranger["authorization"]
            .to_str()
            .unwrap()
            .replace("AKIDEXAMPLE", "AKIDOTHER");
        stranger.insert("authorization", value.parse().unwrap());
        assert_eq!(
            kind(check(&stranger, body, now)),
            ErrorKind::UnrecognizedClientException
        );
        let mut partial = headers.clone();
        partial.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/states/aws4_request"
                .parse()
                .unwrap(),
        );
        let err = check(&partial, body, now).unwrap_err();
        assert_eq!(err.kind, ErrorKind::IncompleteSignatureException);
        assert!(
            err.message.starts_with(
                "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."
            ),
            "{}",
            err.message
        );
        // The wrong service in the scope.
        let mut elsewhere = headers.clone();
        let value = elsewhere["authorization"]
            .to_str()
            .unwrap()
            .replace("/states/", "/dynamodb/");
        elsewhere.insert("authorization", value.parse().unwrap());
        assert_eq!(
            check(&elsewhere, body, now).unwrap_err().message,
            "Credential should be scoped to correct service: 'states'. "
        );
    }
}
