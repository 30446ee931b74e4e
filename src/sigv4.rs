//! AWS Signature Version 4, written once: the canonical request, the string to sign, the signing key and
//! the signature, as botocore's `SigV4Auth` computes them, and the `Authorization` header that carries
//! them. Both sides build on these functions: `auth` verifies the signatures of the AWS JSON door's
//! callers, `executor` signs its own calls to AWS services. Pure: no IO and no clock (a request's time is
//! its `X-Amz-Date`, given by the caller).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last part of every credential scope.
pub const TERMINATOR: &str = "aws4_request";
/// `X-Amz-Date`: ISO-8601 basic format, UTC.
pub const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// What a signature covers: the request as sent on the wire.
pub struct Request<'a> {
    pub method: &'a str,
    /// The URI-encoded path ("" is signed as `/`).
    pub path: &'a str,
    /// The URI-encoded query string, without `?` ("" when none).
    pub query: &'a str,
    /// The signed headers, in the order they are signed (a signer sorts them): lower-case names, each
    /// with its values in the order they are sent.
    pub headers: &'a [(String, Vec<String>)],
    pub body: &'a [u8],
}

/// `date/region/service/aws4_request`: what a signing key is derived for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `YYYYMMDD`, the day of the request's `X-Amz-Date`.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub terminator: &'a str,
}

impl<'a> Scope<'a> {
    pub fn new(date: &'a str, region: &'a str, service: &'a str) -> Self {
        Scope {
            date,
            region,
            service,
            terminator: TERMINATOR,
        }
    }
}

impl std::fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The `SignedHeaders` list: the signed headers' names joined by `;`.
pub fn signed_header_names(request: &Request<'_>) -> String {
    request
        .headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

/// The canonical request: method, path, the query sorted by name then value (a parameter without `=`
/// gets one), the signed headers (values trimmed, inner blanks collapsed, repeated values joined by
/// commas), their names, and the SHA-256 of the body.
pub fn canonical_request(request: &Request<'_>) -> String {
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
    for (name, values) in request.headers {
        let values: Vec<String> = values
            .iter()
            .map(|value| value.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    // Always the hash of the body itself: a verifier that trusted a client's `x-amz-content-sha256`
    // would let a replayed signature carry any other body.
    format!(
        "{}\n{path}\n{query}\n{headers}\n{}\n{}",
        request.method,
        signed_header_names(request),
        sha256_hex(request.body)
    )
}

/// `AWS4-HMAC-SHA256`, the request's time, its scope and the hash of its canonical request.
pub fn string_to_sign(amz_date: &str, scope: &Scope<'_>, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The signing key: the secret HMAC-chained through the scope's date, region, service and terminator.
pub fn signing_key(secret_access_key: &str, scope: &Scope<'_>) -> Vec<u8> {
    let mut key = hmac(
        format!("AWS4{secret_access_key}").as_bytes(),
        scope.date.as_bytes(),
    );
    for part in [scope.region, scope.service, scope.terminator] {
        key = hmac(&key, part.as_bytes());
    }
    key
}

/// The signature (hex) of `request` made at `amz_date` with `secret_access_key` for `scope`.
pub fn signature(
    secret_access_key: &str,
    amz_date: &str,
    scope: &Scope<'_>,
    request: &Request<'_>,
) -> String {
    let string_to_sign = string_to_sign(amz_date, scope, &canonical_request(request));
    hex::encode(hmac(
        &signing_key(secret_access_key, scope),
        string_to_sign.as_bytes(),
    ))
}

/// The `Authorization` header value of `request`, signed with the key `access_key_id`/`secret_access_key`.
pub fn sign(
    access_key_id: &str,
    secret_access_key: &str,
    amz_date: &str,
    scope: &Scope<'_>,
    request: &Request<'_>,
) -> String {
    format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={}",
        signed_header_names(request),
        signature(secret_access_key, amz_date, scope, request)
    )
}

/// Whether `signature` (hex, as the client sent it) is the one `secret_access_key` gives `request`,
/// compared in constant time.
pub fn verify(
    secret_access_key: &str,
    amz_date: &str,
    scope: &Scope<'_>,
    request: &Request<'_>,
    signature: &str,
) -> bool {
    let expected = self::signature(secret_access_key, amz_date, scope, request);
    bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
}

/// The parameters of an `Authorization` header, as written: `AWS4-HMAC-SHA256 Credential=AKID/20250101/
/// us-east-1/states/aws4_request, SignedHeaders=a;b, Signature=hex`.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthorizationParameters<'a> {
    pub credential: &'a str,
    pub signed_headers: &'a str,
    pub signature: &'a str,
}

/// Why an `Authorization` header is not a SigV4 one.
#[derive(Debug, PartialEq, Eq)]
pub enum MalformedAuthorization<'a> {
    /// Another algorithm than `AWS4-HMAC-SHA256` (its first word).
    Algorithm(&'a str),
    /// A parameter without `=`.
    NotKeyValue(&'a str),
    /// The names of the missing parameters, in AWS's order (`Credential`, `Signature`, `SignedHeaders`).
    Missing(Vec<&'static str>),
}

/// The parameters of an `Authorization` header value (other parameters are ignored, as AWS does).
pub fn parse_authorization(
    value: &str,
) -> Result<AuthorizationParameters<'_>, MalformedAuthorization<'_>> {
    let Some(parameters) = value.strip_prefix(ALGORITHM) else {
        return Err(MalformedAuthorization::Algorithm(
            value.split_whitespace().next().unwrap_or(""),
        ));
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in parameters.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, v)) = part.split_once('=') else {
            return Err(MalformedAuthorization::NotKeyValue(part));
        };
        match key.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed_headers = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => Ok(AuthorizationParameters {
            credential,
            signed_headers,
            signature,
        }),
        _ => Err(MalformedAuthorization::Missing(
            [
                ("Credential", credential.is_none()),
                ("Signature", signature.is_none()),
                ("SignedHeaders", signed_headers.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, missing)| missing.then_some(name))
            .collect(),
        )),
    }
}

/// `AKID/date/region/service/terminator`: the access key and the scope, or `None` when it does not have
/// exactly five parts.
pub fn parse_credential(credential: &str) -> Option<(&str, Scope<'_>)> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts[..] else {
        return None;
    };
    Some((
        access_key_id,
        Scope {
            date,
            region,
            service,
            terminator,
        },
    ))
}

/// The names of a `SignedHeaders` parameter, lower-cased, in the client's order.
pub fn parse_signed_headers(signed_headers: &str) -> Vec<String> {
    signed_headers
        .split(';')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), vec![v.to_string()]))
            .collect()
    }

    #[test]
    fn the_signing_key_chain_matches_awss_published_example() {
        // AWS's documented example (IAM ListUsers, us-east-1, 20150830): the derived signing key.
        let key = signing_key(SECRET, &Scope::new("20150830", "us-east-1", "iam"));
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    /// AWS's published SigV4 test suite, `get-vanilla`: every intermediate value.
    #[test]
    fn get_vanilla_matches_the_aws_test_suite() {
        let headers = headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
        ]);
        let request = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let canonical = canonical_request(&request);
        assert_eq!(
            canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let scope = Scope::new("20150830", "us-east-1", "service");
        assert_eq!(
            string_to_sign("20150830T123600Z", &scope, &canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            sign("AKIDEXAMPLE", SECRET, "20150830T123600Z", &scope, &request),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn repeated_headers_and_blanks_are_canonicalized_as_aws_does() {
        // `get-header-value-multiline`-like values: trimmed, inner runs collapsed, values joined by commas.
        let headers = vec![(
            "my-header1".to_string(),
            vec!["  value1 ".to_string(), "value2   value3".to_string()],
        )];
        let request = Request {
            method: "GET",
            path: "",
            query: "b=2&a&a=1",
            headers: &headers,
            body: b"",
        };
        let canonical = canonical_request(&request);
        let mut lines = canonical.lines();
        assert_eq!(lines.next(), Some("GET"));
        assert_eq!(lines.next(), Some("/"));
        assert_eq!(lines.next(), Some("a=&a=1&b=2"));
        assert_eq!(lines.next(), Some("my-header1:value1,value2 value3"));
    }

    /// What the signer writes, the verifier accepts; change any signed part and it does not.
    #[test]
    fn a_signed_request_verifies_and_a_tampered_one_does_not() {
        let amz_date = "20250101T120000Z";
        let scope = Scope::new("20250101", "eu-west-1", "states");
        let sent = headers(&[
            ("content-type", "application/x-amz-json-1.0"),
            ("host", "localhost:8083"),
            ("x-amz-date", amz_date),
            ("x-amz-target", "AWSStepFunctions.ListActivities"),
        ]);
        let request = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &sent,
            body: b"{}",
        };
        let authorization = sign("AKIDEXAMPLE", SECRET, amz_date, &scope, &request);

        // The verifier's side: everything it knows comes from the header it received.
        let parameters = parse_authorization(&authorization).expect("a SigV4 header");
        let (access_key_id, received_scope) =
            parse_credential(parameters.credential).expect("five parts");
        assert_eq!(access_key_id, "AKIDEXAMPLE");
        assert_eq!(received_scope, scope);
        let names = parse_signed_headers(parameters.signed_headers);
        assert_eq!(
            names,
            ["content-type", "host", "x-amz-date", "x-amz-target"]
        );
        let check = |secret: &str, request: &Request<'_>| {
            verify(
                secret,
                amz_date,
                &received_scope,
                request,
                parameters.signature,
            )
        };
        assert!(check(SECRET, &request));

        assert!(!check("another-secret", &request));
        assert!(!check(
            SECRET,
            &Request {
                body: b"{\"maxResults\":1}",
                ..request
            }
        ));
        assert!(!check(
            SECRET,
            &Request {
                method: "PUT",
                ..request
            }
        ));
        assert!(!check(
            SECRET,
            &Request {
                query: "a=1",
                ..request
            }
        ));
        let mut retargeted = sent.clone();
        retargeted[3].1 = vec!["AWSStepFunctions.DeleteActivity".to_string()];
        assert!(!check(
            SECRET,
            &Request {
                headers: &retargeted,
                ..request
            }
        ));
        // Another day or region in the scope derives another key.
        assert!(!verify(
            SECRET,
            amz_date,
            &Scope::new("20250101", "us-east-1", "states"),
            &request,
            parameters.signature
        ));
    }

    #[test]
    fn malformed_authorization_headers_say_what_is_wrong() {
        assert_eq!(
            parse_authorization("AWS3 Credential=x"),
            Err(MalformedAuthorization::Algorithm("AWS3"))
        );
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=x, oops"),
            Err(MalformedAuthorization::NotKeyValue("oops"))
        );
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=x"),
            Err(MalformedAuthorization::Missing(vec![
                "Signature",
                "SignedHeaders"
            ]))
        );
        assert_eq!(parse_credential("AKID/20250101/us-east-1/states"), None);
    }
}
