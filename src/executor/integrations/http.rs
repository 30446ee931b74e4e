//! The HTTP Task: `arn:aws:states:::http:invoke` (and `.waitForTaskToken`).
//!
//! A definition must not make the server call whatever it names (cloud metadata, the database, internal
//! services): a request goes out only to a host the operator allowed (`--http-allow HOST[:PORT]`, nothing by
//! default); any other is refused before anything is sent, as a `States.Permissions` task failure.
//! Credentials never come from the definition: `Authentication.ConnectionArn` names a connection of the
//! `--connections` file (EventBridge's shape: API key, basic, or OAuth client credentials); a connection
//! that is not configured adds nothing. Redirects are not followed (a redirect could leave the allowed hosts).
//!
//! `https://` endpoints (here and for Lambda and AWS services) are verified against the system's root
//! certificates (`SSL_CERT_FILE`/`SSL_CERT_DIR` replace them, as OpenSSL reads them) plus the operator's
//! `--ca-file`; a certificate that does not chain to one of them fails the call before any request is sent.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Map, Value};

/// AWS's hard cap on one HTTP Task call, whatever TimeoutSeconds says.
pub(super) const CALL_LIMIT: Duration = Duration::from_secs(60);
/// The most response body read: a task's result must fit the 256 KiB state payload, so a longer body
/// fails the task (States.DataLimitExceeded) without being buffered.
const MAX_BODY: usize = 256 * 1024;
/// AWS's error for a task result over the payload limit.
pub(super) const DATA_LIMIT: &str = "States.DataLimitExceeded";

/// The failure of an HTTP Task: AWS's error name and a cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFailure {
    pub error: String,
    pub cause: String,
}

impl HttpFailure {
    /// AWS names the resource in a too-large result's cause (`lambda`, a function ARN, `http`...).
    pub(super) fn naming(mut self, resource: &str) -> HttpFailure {
        if self.error == DATA_LIMIT {
            self.cause = format!(
                "The state/task '{resource}' returned a result with a size exceeding the maximum number of bytes service limit."
            );
        }
        self
    }
}

fn fail(error: impl Into<String>, cause: impl Into<String>) -> HttpFailure {
    HttpFailure {
        error: error.into(),
        cause: cause.into(),
    }
}

/// Where HTTP tasks may go and the credentials they may use (from `--http-allow` and `--connections`).
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// The region in the `User-Agent` AWS sends.
    pub region: String,
    allow: Vec<(String, Option<u16>)>,
    connections: HashMap<String, Connection>,
}

#[derive(Debug, Clone, PartialEq)]
enum Credentials {
    ApiKey { name: String, value: String },
    Basic { username: String, password: String },
    OAuth(Box<OAuth>),
}

#[derive(Debug, Clone, PartialEq)]
struct OAuth {
    endpoint: String,
    method: String,
    client_id: String,
    client_secret: String,
    params: Invocation,
}

/// Extra parameters a connection adds to each request (`InvocationHttpParameters`).
#[derive(Debug, Clone, PartialEq, Default)]
struct Invocation {
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Connection {
    auth: Credentials,
    invocation: Invocation,
}

impl HttpSettings {
    /// `allow`: `HOST` or `HOST:PORT` entries; `connections`: the text of the connections file.
    pub fn new(allow: &[String], connections: Option<&str>) -> Result<HttpSettings, String> {
        let mut hosts = Vec::new();
        for entry in allow.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            hosts.push(parse_allowed(entry)?);
        }
        let connections = match connections {
            Some(text) => parse_connections(text)?,
            None => HashMap::new(),
        };
        Ok(HttpSettings {
            region: String::new(),
            allow: hosts,
            connections,
        })
    }

    fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allow
            .iter()
            .any(|(h, p)| h.eq_ignore_ascii_case(host) && p.is_none_or(|p| p == port))
    }
}

fn parse_allowed(entry: &str) -> Result<(String, Option<u16>), String> {
    let bad = || format!("--http-allow {entry:?}: expected HOST or HOST:PORT");
    // [v6]:port, [v6], host:port, host
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else {
        match entry.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => (entry, None),
            None => (entry, None),
        }
    };
    if host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    let port = port
        .map(|p| p.parse::<u16>().map_err(|_| bad()))
        .transpose()?;
    Ok((host.to_ascii_lowercase(), port))
}

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|p| {
                    let key = p.get("Key")?.as_str()?.to_string();
                    let value = match p.get("Value")? {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Some((key, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn invocation(v: Option<&Value>) -> Invocation {
    Invocation {
        headers: pairs(v.and_then(|v| v.get("HeaderParameters"))),
        query: pairs(v.and_then(|v| v.get("QueryStringParameters"))),
        body: pairs(v.and_then(|v| v.get("BodyParameters"))),
    }
}

/// `{"Connections": [{"ConnectionArn", "AuthorizationType", "AuthParameters"}]}`, the members of
/// EventBridge's CreateConnection.
fn parse_connections(text: &str) -> Result<HashMap<String, Connection>, String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("the connections file is not JSON: {e}"))?;
    let list = doc
        .get("Connections")
        .and_then(Value::as_array)
        .ok_or("the connections file needs a \"Connections\" list")?;
    let mut out = HashMap::new();
    for c in list {
        let s = |v: Option<&Value>, what: &str| -> Result<String, String> {
            v.and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("a connection lacks {what}"))
        };
        let arn = s(c.get("ConnectionArn"), "ConnectionArn")?;
        let params = c.get("AuthParameters").cloned().unwrap_or(Value::Null);
        let kind = s(c.get("AuthorizationType"), "AuthorizationType")?;
        let auth = match kind.as_str() {
            "API_KEY" => {
                let p = params.get("ApiKeyAuthParameters");
                Credentials::ApiKey {
                    name: s(p.and_then(|p| p.get("ApiKeyName")), "ApiKeyName")?,
                    value: s(p.and_then(|p| p.get("ApiKeyValue")), "ApiKeyValue")?,
                }
            }
            "BASIC" => {
                let p = params.get("BasicAuthParameters");
                Credentials::Basic {
                    username: s(p.and_then(|p| p.get("Username")), "Username")?,
                    password: s(p.and_then(|p| p.get("Password")), "Password")?,
                }
            }
            "OAUTH_CLIENT_CREDENTIALS" => {
                let p = params.get("OAuthParameters");
                let client = p.and_then(|p| p.get("ClientParameters"));
                Credentials::OAuth(Box::new(OAuth {
                    endpoint: s(
                        p.and_then(|p| p.get("AuthorizationEndpoint")),
                        "AuthorizationEndpoint",
                    )?,
                    method: s(p.and_then(|p| p.get("HttpMethod")), "HttpMethod")
                        .unwrap_or_else(|_| "POST".into()),
                    client_id: s(client.and_then(|c| c.get("ClientID")), "ClientID")?,
                    client_secret: s(client.and_then(|c| c.get("ClientSecret")), "ClientSecret")?,
                    params: invocation(p.and_then(|p| p.get("OAuthHttpParameters"))),
                }))
            }
            other => {
                return Err(format!(
                    "connection {arn}: unknown AuthorizationType {other}"
                ))
            }
        };
        let invocation = invocation(params.get("InvocationHttpParameters"));
        out.insert(arn, Connection { auth, invocation });
    }
    Ok(out)
}

/// The HTTP client of the integrations: `http://` and `https://`, one connection pool for every call.
#[derive(Default)]
pub(super) struct HttpClient {
    /// CAs trusted besides the system's (`--ca-file`); set before the first call.
    extra_roots: OnceLock<Vec<CertificateDer<'static>>>,
    /// Built at the first call, so that the system's roots are read once and only when something is called.
    client: OnceLock<Client<HttpsConnector<HttpConnector>, Full<Bytes>>>,
}

/// The certificates of a PEM bundle (`--ca-file`), refused when it holds none or one rustls cannot use as
/// a root.
pub fn ca_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in &certs {
        roots
            .add(cert.clone())
            .map_err(|e| format!("a certificate cannot be a root: {e}"))?;
    }
    Ok(certs)
}

/// The TLS settings of outbound calls: the system's roots (as `SSL_CERT_FILE`/`SSL_CERT_DIR` name them,
/// else the platform's store) and `extra`. ring is named explicitly: a build with both rustls providers
/// (a dependency may enable aws-lc) has no default.
fn tls_config(extra: &[CertificateDer<'static>]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for e in &system.errors {
        tracing::warn!(error = %e, "reading the system's root certificates");
    }
    let (added, ignored) = roots.add_parsable_certificates(system.certs);
    if ignored > 0 {
        tracing::debug!(ignored, "system root certificates rustls cannot use");
    }
    for cert in extra {
        // Checked when the file was read (`ca_certificates`).
        let _ = roots.add(cert.clone());
    }
    if added == 0 && extra.is_empty() {
        tracing::warn!("no root certificates found: https:// calls of task integrations will fail (install ca-certificates, or set --ca-file or SSL_CERT_FILE)");
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

impl HttpClient {
    /// Trusts these CAs besides the system's; `false` when the client was already built (too late).
    pub(super) fn trust(&self, certs: Vec<CertificateDer<'static>>) -> bool {
        self.client.get().is_none() && self.extra_roots.set(certs).is_ok()
    }

    fn client(&self) -> &Client<HttpsConnector<HttpConnector>, Full<Bytes>> {
        self.client.get_or_init(|| {
            let mut http = HttpConnector::new();
            http.set_connect_timeout(Some(Duration::from_secs(10)));
            // The TLS layer takes https:// URIs; plain http:// passes through it.
            http.enforce_http(false);
            let extra = self.extra_roots.get().map(Vec::as_slice).unwrap_or(&[]);
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls_config(extra))
                .https_or_http()
                .enable_http1()
                .wrap_connector(http);
            Client::builder(TokioExecutor::new()).build(connector)
        })
    }
}

/// One request, as the caller built it.
struct Outgoing {
    method: Method,
    uri: Uri,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// A response: status, reason, headers (in order, names lower-case), body.
#[derive(Debug, Clone)]
pub(super) struct Incoming {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpClient {
    /// Sends a request to an allowed host (refused otherwise, before anything is sent) within `limit`.
    async fn send(
        &self,
        settings: &HttpSettings,
        out: Outgoing,
        limit: Duration,
    ) -> Result<Incoming, HttpFailure> {
        let scheme = out.uri.scheme_str().unwrap_or("");
        let host = out.uri.host().unwrap_or("").to_string();
        let port = out
            .uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        if !settings.allows(&host, port) {
            return Err(fail(
                "States.Permissions",
                format!(
                    "The HTTP endpoint host '{host}:{port}' is not allowed: no request was sent. Allow it with \
                     --http-allow {host}:{port} (SFN_HTTP_ALLOW)."
                ),
            ));
        }
        if scheme != "http" && scheme != "https" {
            return Err(fail(
                "States.Http.Socket",
                format!(
                    "The scheme of '{}' is not supported: only http:// and https:// endpoints can be called.",
                    out.uri
                ),
            ));
        }
        let mut request = Request::builder().method(out.method).uri(out.uri);
        for (name, value) in &out.headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(fail(
                    "States.Runtime",
                    format!("The header '{name}' cannot be sent."),
                ));
            };
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(out.body.unwrap_or_default())))
            .map_err(|e| {
                fail(
                    "States.Runtime",
                    format!("The request cannot be built: {e}"),
                )
            })?;
        let call = async {
            let response = self.client().request(request).await.map_err(|e| {
                let chain = error_chain(&e);
                // A private CA is the usual reason; say how to trust it.
                let hint = if chain.contains("certificate") {
                    " (a certificate of a private CA is trusted with --ca-file or SSL_CERT_FILE)"
                } else {
                    ""
                };
                fail(
                    "States.Http.Socket",
                    format!("The HTTP request failed: {chain}{hint}"),
                )
            })?;
            let status = response.status();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        return fail(DATA_LIMIT, "");
                    }
                    fail(
                        "States.Http.Socket",
                        format!("Reading the HTTP response failed: {e}"),
                    )
                })?
                .to_bytes()
                .to_vec();
            Ok(Incoming {
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_string(),
                headers,
                body,
            })
        };
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result,
            Err(_) => Err(fail(
                "States.Http.Socket",
                format!(
                    "The HTTP request did not complete within {} seconds.",
                    limit.as_secs()
                ),
            )),
        }
    }

    /// Sends a request built by another integration (Lambda) to an endpoint the operator configured
    /// (no allow-list: the operator named it), within `limit`.
    pub(super) async fn send_configured(
        &self,
        method: Method,
        uri: Uri,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        limit: Duration,
    ) -> Result<Incoming, HttpFailure> {
        let host = uri.host().unwrap_or("").to_string();
        let default_port = if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        };
        let port = uri.port_u16().unwrap_or(default_port);
        let settings = HttpSettings {
            region: String::new(),
            allow: vec![(host.to_ascii_lowercase(), Some(port))],
            connections: HashMap::new(),
        };
        let out = Outgoing {
            method,
            uri,
            headers,
            body: Some(body),
        };
        self.send(&settings, out, limit).await
    }

    /// Sends a request built by another integration (AWS services) to a host of the allow-list.
    pub(super) async fn send_allowed(
        &self,
        settings: &HttpSettings,
        method: Method,
        uri: Uri,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Incoming, HttpFailure> {
        let out = Outgoing {
            method,
            uri,
            headers,
            body: Some(body),
        };
        self.send(settings, out, CALL_LIMIT).await
    }

    /// Runs an HTTP Task with its parameters: the AWS-shaped result, or the failure.
    pub(super) async fn invoke(
        &self,
        settings: &HttpSettings,
        parameters: &Value,
    ) -> Result<Value, HttpFailure> {
        let region = &settings.region;
        let text = |key: &str| parameters.get(key).and_then(Value::as_str);
        let endpoint = text("ApiEndpoint")
            .ok_or_else(|| fail("States.Runtime", "The HTTP Task needs ApiEndpoint."))?;
        let method =
            text("Method").ok_or_else(|| fail("States.Runtime", "The HTTP Task needs Method."))?;
        let method = match method {
            "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "HEAD" => {
                Method::from_bytes(method.as_bytes()).expect("a valid method")
            }
            other => {
                return Err(fail(
                    "States.Runtime",
                    format!("The HTTP method '{other}' is not supported (GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD)."),
                ))
            }
        };
        let connection = parameters
            .pointer("/Authentication/ConnectionArn")
            .and_then(Value::as_str)
            .and_then(|arn| settings.connections.get(arn));
        let mut headers: Vec<(String, String)> = vec![
            (
                "User-Agent".into(),
                format!("Amazon|StepFunctions|HttpInvoke|{region}"),
            ),
            ("Range".into(), "bytes=0-262144".into()),
        ];
        if let Some(Value::Object(h)) = parameters.get("Headers") {
            for (k, v) in h {
                headers.push((k.clone(), scalar_text(v)));
            }
        }
        let mut query: Vec<(String, String)> = Vec::new();
        if let Some(Value::Object(q)) = parameters.get("QueryParameters") {
            for (k, v) in q {
                match v {
                    Value::Array(items) => {
                        query.extend(items.iter().map(|i| (k.clone(), scalar_text(i))))
                    }
                    v => query.push((k.clone(), scalar_text(v))),
                }
            }
        }
        let encoding = parameters
            .pointer("/Transform/RequestBodyEncoding")
            .and_then(Value::as_str)
            .unwrap_or("NONE");
        let array_format = parameters
            .pointer("/Transform/RequestEncodingOptions/ArrayFormat")
            .and_then(Value::as_str)
            .unwrap_or("INDICES");
        let mut body = parameters.get("RequestBody").cloned();
        if let Some(connection) = connection {
            headers.extend(connection.invocation.headers.iter().cloned());
            query.extend(connection.invocation.query.iter().cloned());
            if !connection.invocation.body.is_empty() {
                let mut object = match body.take() {
                    Some(Value::Object(o)) => o,
                    None => Map::new(),
                    Some(other) => {
                        body = Some(other);
                        Map::new()
                    }
                };
                for (k, v) in &connection.invocation.body {
                    object.insert(k.clone(), Value::String(v.clone()));
                }
                if body.is_none() {
                    body = Some(Value::Object(object));
                }
            }
            match &connection.auth {
                Credentials::ApiKey { name, value } => headers.push((name.clone(), value.clone())),
                Credentials::Basic { username, password } => headers.push((
                    "Authorization".into(),
                    format!("Basic {}", base64_of(&format!("{username}:{password}"))),
                )),
                Credentials::OAuth(oauth) => {
                    let token = self.oauth_token(settings, oauth).await?;
                    headers.push(("Authorization".into(), format!("Bearer {token}")));
                }
            }
        }
        let has = |headers: &[(String, String)], name: &str| {
            headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let body = match (body, encoding) {
            (None, _) => None,
            (Some(v), "URL_ENCODED") => {
                if !has(&headers, "content-type") {
                    headers.push((
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }
                Some(form_encode(&v, array_format).into_bytes())
            }
            (Some(Value::String(s)), _) => Some(s.into_bytes()),
            (Some(v), _) => {
                if !has(&headers, "content-type") {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                Some(v.to_string().into_bytes())
            }
        };
        let mut url = endpoint.to_string();
        if !query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&encode_pairs(&query));
        }
        let uri: Uri = url.parse().map_err(|e| {
            fail(
                "States.Runtime",
                format!("The ApiEndpoint '{endpoint}' is not a URL: {e}"),
            )
        })?;
        let response = self
            .send(
                settings,
                Outgoing {
                    method,
                    uri,
                    headers,
                    body,
                },
                CALL_LIMIT,
            )
            .await?;
        let result = http_result(&response);
        if !(200..300).contains(&response.status) {
            return Err(fail(
                format!("States.Http.StatusCode.{}", response.status),
                result.to_string(),
            ));
        }
        Ok(result)
    }

    /// An OAuth client-credentials access token from the connection's authorization endpoint (which must be
    /// allowed like any other host).
    async fn oauth_token(
        &self,
        settings: &HttpSettings,
        oauth: &OAuth,
    ) -> Result<String, HttpFailure> {
        let mut query = vec![("grant_type".to_string(), "client_credentials".to_string())];
        query.extend(oauth.params.query.iter().cloned());
        let mut headers = vec![
            (
                "Authorization".to_string(),
                format!(
                    "Basic {}",
                    base64_of(&format!("{}:{}", oauth.client_id, oauth.client_secret))
                ),
            ),
            (
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
        ];
        headers.extend(oauth.params.headers.iter().cloned());
        let mut form = query.clone();
        form.extend(oauth.params.body.iter().cloned());
        let method = Method::from_bytes(oauth.method.as_bytes()).unwrap_or(Method::POST);
        let (uri, body) = if method == Method::GET {
            let sep = if oauth.endpoint.contains('?') {
                '&'
            } else {
                '?'
            };
            (
                format!("{}{sep}{}", oauth.endpoint, encode_pairs(&query)),
                None,
            )
        } else {
            (
                oauth.endpoint.clone(),
                Some(encode_pairs(&form).into_bytes()),
            )
        };
        let uri: Uri = uri.parse().map_err(|e| {
            fail(
                "Events.ConnectionResource.InvalidConnectionState",
                format!("The connection's AuthorizationEndpoint is not a URL: {e}"),
            )
        })?;
        let response = self
            .send(
                settings,
                Outgoing {
                    method,
                    uri,
                    headers,
                    body,
                },
                CALL_LIMIT,
            )
            .await?;
        let token = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .filter(|_| (200..300).contains(&response.status))
            .and_then(|v| {
                v.get("access_token")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        token.ok_or_else(|| {
            fail(
                "Events.ConnectionResource.AuthInProgress",
                format!(
                    "The connection's authorization endpoint answered {} without an access_token.",
                    response.status
                ),
            )
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn base64_of(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The result AWS gives: `Headers` (each a list of values), `ResponseBody` (parsed when it is JSON),
/// `StatusCode`, `StatusText`.
fn http_result(response: &Incoming) -> Value {
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        let entry = headers.entry(name.clone()).or_insert_with(|| json!([]));
        if let Value::Array(values) = entry {
            values.push(Value::String(value.clone()));
        }
    }
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let body = match serde_json::from_str::<Value>(&text) {
        Ok(v) if !text.trim().is_empty() => v,
        _ => Value::String(text),
    };
    json!({
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": response.status,
        "StatusText": response.reason,
    })
}

/// `application/x-www-form-urlencoded` percent-encoding.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A JSON body as a form, arrays per `ArrayFormat` (INDICES `a[0]=x`, REPEAT `a=x&a=y`, COMMAS `a=x,y`,
/// BRACKETS `a[]=x`); nested objects as `a[b]=x`.
fn form_encode(body: &Value, array_format: &str) -> String {
    fn walk(prefix: &str, v: &Value, format: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    walk(&key, v, format, out);
                }
            }
            Value::Array(items) => match format {
                "COMMAS" => out.push((
                    prefix.to_string(),
                    items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
                )),
                "REPEAT" => items.iter().for_each(|i| walk(prefix, i, format, out)),
                "BRACKETS" => items
                    .iter()
                    .for_each(|i| walk(&format!("{prefix}[]"), i, format, out)),
                _ => items
                    .iter()
                    .enumerate()
                    .for_each(|(n, i)| walk(&format!("{prefix}[{n}]"), i, format, out)),
            },
            other => out.push((prefix.to_string(), scalar_text(other))),
        }
    }
    let mut pairs = Vec::new();
    match body {
        Value::String(s) => return s.clone(),
        v => walk("", v, array_format, &mut pairs),
    }
    encode_pairs(&pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matches_host_and_port() {
        let s = HttpSettings::new(
            &[
                "api.example.com".into(),
                "127.0.0.1:8080".into(),
                "[::1]:9".into(),
            ],
            None,
        )
        .unwrap();
        assert!(s.allows("API.example.com", 443));
        assert!(s.allows("api.example.com", 80));
        assert!(s.allows("127.0.0.1", 8080));
        assert!(!s.allows("127.0.0.1", 8081));
        assert!(s.allows("[::1]", 9));
        assert!(!s.allows("169.254.169.254", 80));
        assert!(!HttpSettings::default().allows("localhost", 80));
        assert!(HttpSettings::new(&["a:b".into()], None).is_err());
        assert!(HttpSettings::new(&["http://x".into()], None).is_err());
    }

    #[test]
    fn forms_encode_arrays_as_asked() {
        let body = json!({"a": ["x", "y"], "b": "c d", "n": {"k": 1}});
        assert_eq!(
            form_encode(&body, "INDICES"),
            "a%5B0%5D=x&a%5B1%5D=y&b=c+d&n%5Bk%5D=1"
        );
        assert_eq!(form_encode(&body, "REPEAT"), "a=x&a=y&b=c+d&n%5Bk%5D=1");
        assert_eq!(form_encode(&body, "COMMAS"), "a=x%2Cy&b=c+d&n%5Bk%5D=1");
        assert_eq!(
            form_encode(&body, "BRACKETS"),
            "a%5B%5D=x&a%5B%5D=y&b=c+d&n%5Bk%5D=1"
        );
    }

    #[test]
    fn connections_file_reads_eventbridge_shapes() {
        let s = HttpSettings::new(
            &[],
            Some(
                r#"{"Connections": [
                {"ConnectionArn": "arn:k", "AuthorizationType": "API_KEY",
                 "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s"},
                   "InvocationHttpParameters": {"HeaderParameters": [{"Key": "h", "Value": "v"}]}}},
                {"ConnectionArn": "arn:b", "AuthorizationType": "BASIC",
                 "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}}]}"#,
            ),
        )
        .unwrap();
        assert_eq!(
            s.connections["arn:k"].auth,
            Credentials::ApiKey {
                name: "x-api-key".into(),
                value: "s".into()
            }
        );
        assert_eq!(
            s.connections["arn:k"].invocation.headers,
            [("h".into(), "v".into())]
        );
        assert!(matches!(
            s.connections["arn:b"].auth,
            Credentials::Basic { .. }
        ));
        assert!(HttpSettings::new(&[], Some("{}")).is_err());
        assert!(HttpSettings::new(
            &[],
            Some(r#"{"Connections": [{"ConnectionArn": "a", "AuthorizationType": "NOPE"}]}"#)
        )
        .is_err());
    }
}
