//! SigV4 on the AWS JSON door: who signed a request. Each request's `Authorization` header is checked
//! against the access keys of the auth file with the one SigV4 implementation (`crate::sigv4`); what is
//! the door's own is here: which key, which scope and time window it accepts, and AWS's error names and
//! wording when a request does not verify.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use hyper::HeaderMap;

use super::{Caller, Principals};
use crate::error::{ApiError, ErrorKind};
use crate::sigv4::{self, MalformedAuthorization, Scope, AMZ_DATE_FORMAT};

/// The signing name of Step Functions, the service part of the credential scope.
pub const SERVICE: &str = "states";
/// How far a request's time may be from ours (AWS's window for JSON services).
const MAX_SKEW: Duration = Duration::minutes(5);

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
    // The headers the client says it signed, as received (a missing one is signed with no value).
    let signed: Vec<(String, Vec<String>)> = header
        .signed_headers
        .iter()
        .map(|name| {
            let values = request
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect();
            (name.clone(), values)
        })
        .collect();
    let signed_request = sigv4::Request {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: &signed,
        body: request.body,
    };
    if !sigv4::verify(
        &key.secret_access_key,
        header.amz_date,
        &header.scope,
        &signed_request,
        header.signature,
    ) {
        return Err(invalid_signature(
            "The request signature we calculated does not match the signature you provided. Check your \
             AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(principal.caller.clone())
}

/// A request's `Authorization` header, read with its `X-Amz-Date`.
struct AuthorizationHeader<'a> {
    access_key_id: &'a str,
    scope: Scope<'a>,
    signed_headers: Vec<String>,
    signature: &'a str,
    amz_date: &'a str,
    time: DateTime<Utc>,
}

impl<'a> AuthorizationHeader<'a> {
    fn parse(value: &'a str, headers: &'a HeaderMap) -> Result<Self, ApiError> {
        let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok());
        // AWS names every missing parameter, and a missing date, in one message.
        let mut missing = String::new();
        let parameters = match sigv4::parse_authorization(value) {
            Ok(parameters) => Some(parameters),
            Err(MalformedAuthorization::Algorithm(algorithm)) => {
                return Err(incomplete(format!(
                    "Unsupported AWS 'algorithm': '{algorithm}'. Authorization={value}"
                )));
            }
            Err(MalformedAuthorization::NotKeyValue(part)) => {
                return Err(incomplete(format!(
                    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'"
                )));
            }
            Err(MalformedAuthorization::Missing(names)) => {
                for name in names {
                    missing.push_str(&format!(
                        "Authorization header requires '{name}' parameter. "
                    ));
                }
                None
            }
        };
        if amz_date.is_none() {
            missing.push_str(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
            );
        }
        let (Some(parameters), Some(amz_date)) = (parameters, amz_date) else {
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
        let Some((access_key_id, scope)) = sigv4::parse_credential(parameters.credential) else {
            return Err(incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{}'",
                parameters.credential
            )));
        };
        Ok(AuthorizationHeader {
            access_key_id,
            scope,
            signed_headers: sigv4::parse_signed_headers(parameters.signed_headers),
            signature: parameters.signature,
            amz_date,
            time,
        })
    }

    /// The credential scope must name this service, a region, the request's day and the terminator.
    fn check_scope(&self) -> Result<(), ApiError> {
        let scope = &self.scope;
        if scope.service != SERVICE {
            return Err(invalid_signature(&format!(
                "Credential should be scoped to correct service: '{SERVICE}'. "
            )));
        }
        if scope.region.is_empty() {
            return Err(invalid_signature(
                "Credential should be scoped to a valid region. ",
            ));
        }
        if scope.terminator != sigv4::TERMINATOR {
            return Err(invalid_signature(&format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                scope.terminator
            )));
        }
        let day = &self.amz_date[..8.min(self.amz_date.len())];
        if scope.date != day {
            return Err(invalid_signature(&format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
                 HTTP: '{}' != '{day}', from '{}'.",
                scope.date, self.amz_date
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

    use sha2::{Digest, Sha256};

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

    /// Signs like a client would: the shared signer over the headers as sent.
    fn signed(body: &str, amz_date: &str, secret: &str) -> HeaderMap {
        let sent = [
            ("content-type", "application/x-amz-json-1.0"),
            ("host", "localhost:8083"),
            ("x-amz-date", amz_date),
            ("x-amz-target", "AWSStepFunctions.ListActivities"),
        ];
        let mut headers = HeaderMap::new();
        for (name, value) in sent {
            headers.insert(name, value.parse().unwrap());
        }
        let signed: Vec<(String, Vec<String>)> = sent
            .iter()
            .map(|(n, v)| (n.to_string(), vec![v.to_string()]))
            .collect();
        let value = sigv4::sign(
            "AKIDEXAMPLE",
            secret,
            amz_date,
            &Scope::new(&amz_date[..8], "us-east-1", SERVICE),
            &sigv4::Request {
                method: "POST",
                path: "/",
                query: "",
                headers: &signed,
                body: body.as_bytes(),
            },
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
