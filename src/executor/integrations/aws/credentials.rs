//! Where AWS services are and who calls them, resolved once at start-up the way the AWS SDKs resolve it:
//! endpoints from `AWS_ENDPOINT_URL_<SERVICE>` then `AWS_ENDPOINT_URL` (or the flags); credentials from
//! the environment, then a web identity token (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, as
//! Kubernetes service accounts provide), then the shared credentials and config files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::super::sigv4::AwsCredentials;

/// What the operator gave as flags (or the AWS_* variables clap reads): `--aws-endpoint-url`,
/// `--aws-service-endpoint SERVICE=URL`, `--aws-region`, the credentials and the web identity.
#[derive(Debug, Clone, Default)]
pub struct AwsFlags {
    pub aws_endpoint_url: Option<String>,
    pub aws_service_endpoints: Vec<String>,
    pub aws_region: Option<String>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_session_token: Option<String>,
    pub aws_web_identity_token_file: Option<String>,
    pub aws_role_arn: Option<String>,
    pub aws_role_session_name: Option<String>,
}

/// Where the credentials of the calls come from.
#[derive(Debug, Clone, Default)]
pub enum CredentialSource {
    #[default]
    None,
    Static(AwsCredentials),
    /// Exchanged with STS for temporary credentials, cached until shortly before they expire.
    WebIdentity(Arc<WebIdentity>),
}

/// A role assumed with a web identity token (AssumeRoleWithWebIdentity).
pub struct WebIdentity {
    /// Re-read at every exchange: the token is rotated on disk.
    pub token_file: PathBuf,
    pub role_arn: String,
    pub session_name: String,
    pub cached: tokio::sync::Mutex<Option<(AwsCredentials, DateTime<Utc>)>>,
}

impl std::fmt::Debug for WebIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebIdentity")
            .field("token_file", &self.token_file)
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .finish_non_exhaustive()
    }
}

/// How long before their expiry cached temporary credentials are renewed (a call signed with them must
/// still be valid when it arrives).
pub const RENEW_BEFORE_EXPIRY: chrono::Duration = chrono::Duration::minutes(5);

/// Where AWS services are and who calls them (resolved once at start-up).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// `AWS_ENDPOINT_URL`: every service not configured on its own.
    endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_<SERVICE>` by service id, without underscores (`SECRETSMANAGER`).
    service_endpoints: HashMap<String, String>,
    pub region: String,
    pub credentials: CredentialSource,
}

/// A service id as a key: upper case, without `_`/`-` (`secrets-manager`, `SECRETS_MANAGER` are one).
fn service_key(id: &str) -> String {
    id.trim()
        .to_ascii_uppercase()
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect()
}

impl AwsSettings {
    /// From the flags (which clap also fills from `AWS_ENDPOINT_URL`, `AWS_REGION`, the credential and
    /// web identity variables), `env` for the per-service endpoints of `service_ids`, `AWS_DEFAULT_REGION`
    /// and the shared files' variables, and the shared credentials and config files (`read`), in the AWS
    /// SDKs' order; `region` is the server's own when none names one.
    pub fn resolve(
        flags: &AwsFlags,
        region: &str,
        env: impl Fn(&str) -> Option<String>,
        read: impl Fn(&Path) -> Option<String>,
    ) -> Result<AwsSettings, String> {
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let mut service_endpoints = HashMap::new();
        for id in super::endpoint_variables() {
            if let Some(url) = nonempty(env(&format!("AWS_ENDPOINT_URL_{id}"))) {
                service_endpoints.insert(service_key(&id), url);
            }
        }
        for entry in &flags.aws_service_endpoints {
            let (service, url) = entry
                .split_once('=')
                .ok_or_else(|| format!("--aws-service-endpoint {entry:?}: expected SERVICE=URL"))?;
            service_endpoints.insert(service_key(service), url.trim().to_string());
        }
        let from_flags = match (
            nonempty(flags.aws_access_key_id.clone()),
            nonempty(flags.aws_secret_access_key.clone()),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(AwsCredentials {
                access_key_id,
                secret_access_key,
                session_token: nonempty(flags.aws_session_token.clone()),
            }),
            _ => None,
        };
        let shared = SharedFiles::read(&env, read);
        let web_identity =
            |token_file: Option<String>, role: Option<String>, session: Option<String>| {
                Some(CredentialSource::WebIdentity(Arc::new(WebIdentity {
                    token_file: PathBuf::from(token_file?),
                    role_arn: role?,
                    session_name: session
                        .unwrap_or_else(|| format!("sfn-{}", Utc::now().timestamp_millis())),
                    cached: tokio::sync::Mutex::new(None),
                })))
            };
        let credentials = from_flags
            .map(CredentialSource::Static)
            .or_else(|| {
                web_identity(
                    nonempty(flags.aws_web_identity_token_file.clone()),
                    nonempty(flags.aws_role_arn.clone()),
                    nonempty(flags.aws_role_session_name.clone()),
                )
            })
            .or_else(|| shared.credentials().map(CredentialSource::Static))
            .or_else(|| {
                web_identity(
                    shared.value("web_identity_token_file"),
                    shared.value("role_arn"),
                    shared.value("role_session_name"),
                )
            })
            .unwrap_or_default();
        Ok(AwsSettings {
            endpoint: nonempty(flags.aws_endpoint_url.clone()),
            service_endpoints,
            region: nonempty(flags.aws_region.clone())
                .or_else(|| nonempty(env("AWS_DEFAULT_REGION")))
                .or_else(|| shared.value("region"))
                .unwrap_or_else(|| region.to_string()),
            credentials,
        })
    }

    /// The endpoint of the service with this id (`DYNAMODB`, `SECRETS_MANAGER`).
    pub fn endpoint(&self, id: &str) -> Option<&str> {
        self.service_endpoints
            .get(&service_key(id))
            .or(self.endpoint.as_ref())
            .map(String::as_str)
    }
}

/// The selected profile (`AWS_PROFILE`, else `default`) of the shared credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`) and of the config file (`AWS_CONFIG_FILE`,
/// else `~/.aws/config`, where it is `[profile NAME]` except for `[default]`).
struct SharedFiles {
    credentials: HashMap<String, String>,
    config: HashMap<String, String>,
}

impl SharedFiles {
    fn read(
        env: &impl Fn(&str) -> Option<String>,
        read: impl Fn(&Path) -> Option<String>,
    ) -> SharedFiles {
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
        let home = env("HOME").map(PathBuf::from);
        let path = |var: &str, name: &str| {
            env(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
        };
        let section = |file: Option<PathBuf>, header: &str| {
            file.and_then(|f| read(&f))
                .map(|text| ini_section(&text, header))
                .unwrap_or_default()
        };
        let config_header = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        SharedFiles {
            credentials: section(path("AWS_SHARED_CREDENTIALS_FILE", "credentials"), &profile),
            config: section(path("AWS_CONFIG_FILE", "config"), &config_header),
        }
    }

    fn value(&self, key: &str) -> Option<String> {
        self.credentials
            .get(key)
            .or_else(|| self.config.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    }

    fn credentials(&self) -> Option<AwsCredentials> {
        Some(AwsCredentials {
            access_key_id: self.value("aws_access_key_id")?,
            secret_access_key: self.value("aws_secret_access_key")?,
            session_token: self.value("aws_session_token"),
        })
    }
}

/// The `key = value` lines of `[header]` in an INI text (comments `#`/`;`; keys lower-cased).
fn ini_section(text: &str, header: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.split_whitespace().collect::<Vec<_>>().join(" ") == header;
            continue;
        }
        if let (true, Some((key, value))) = (inside, line.split_once('=')) {
            out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn static_key(settings: &AwsSettings) -> Option<&str> {
        match &settings.credentials {
            CredentialSource::Static(c) => Some(&c.access_key_id),
            _ => None,
        }
    }

    #[test]
    fn endpoints_resolve_service_first() {
        let flags = AwsFlags {
            aws_endpoint_url: Some("http://all:4566".into()),
            aws_access_key_id: Some("AKID".into()),
            aws_secret_access_key: Some("secret".into()),
            ..AwsFlags::default()
        };
        let env = |name: &str| match name {
            "AWS_ENDPOINT_URL_DYNAMODB" => Some("http://ddb:8000".to_string()),
            "AWS_ENDPOINT_URL_SECRETS_MANAGER" => Some("http://sm:1".to_string()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".to_string()),
            _ => None,
        };
        let settings = AwsSettings::resolve(&flags, "us-east-1", env, |_| None).unwrap();
        assert_eq!(settings.endpoint("DYNAMODB"), Some("http://ddb:8000"));
        assert_eq!(settings.endpoint("SECRETS_MANAGER"), Some("http://sm:1"));
        assert_eq!(settings.endpoint("SQS"), Some("http://all:4566"));
        assert_eq!(settings.region, "eu-west-1");
        assert_eq!(static_key(&settings), Some("AKID"));
        let flags = AwsFlags {
            aws_service_endpoints: vec![
                "sqs=http://mq:9324".into(),
                "secretsmanager=http://sm:2".into(),
            ],
            aws_region: Some("ap-south-1".into()),
            ..AwsFlags::default()
        };
        let settings = AwsSettings::resolve(&flags, "us-east-1", |_| None, |_| None).unwrap();
        assert_eq!(settings.endpoint("SQS"), Some("http://mq:9324"));
        assert_eq!(settings.endpoint("SECRETS_MANAGER"), Some("http://sm:2"));
        assert_eq!(settings.endpoint("DYNAMODB"), None);
        assert_eq!(settings.region, "ap-south-1");
        assert!(matches!(settings.credentials, CredentialSource::None));
        let bad = AwsFlags {
            aws_service_endpoints: vec!["sqs".into()],
            ..AwsFlags::default()
        };
        assert!(AwsSettings::resolve(&bad, "us-east-1", |_| None, |_| None).is_err());
    }

    #[test]
    fn shared_files_give_credentials_and_region_of_the_profile() {
        let files = |path: &Path| {
            match path.to_str()? {
            "/home/u/.aws/credentials" => Some(
                "[default]\naws_access_key_id = DEF\naws_secret_access_key = d\n\
                 [ci]\n# comment\naws_access_key_id = CI\naws_secret_access_key = c\naws_session_token = t\n"
                    .to_string(),
            ),
            "/home/u/.aws/config" => Some(
                "[default]\nregion = us-west-2\n[profile ci]\nregion = eu-north-1\n\
                 [profile k8s]\nrole_arn = arn:aws:iam::123456789012:role/r\nweb_identity_token_file = /t\n"
                    .to_string(),
            ),
            _ => None,
        }
        };
        let flags = AwsFlags::default();
        let env = |name: &str| match name {
            "HOME" => Some("/home/u".to_string()),
            "AWS_PROFILE" => Some("ci".to_string()),
            _ => None,
        };
        let settings = AwsSettings::resolve(&flags, "us-east-1", env, files).unwrap();
        let CredentialSource::Static(credentials) = &settings.credentials else {
            panic!("static credentials")
        };
        assert_eq!(credentials.access_key_id, "CI");
        assert_eq!(credentials.session_token.as_deref(), Some("t"));
        assert_eq!(settings.region, "eu-north-1");
        let home = |name: &str| (name == "HOME").then(|| "/home/u".to_string());
        let settings = AwsSettings::resolve(&flags, "us-east-1", home, files).unwrap();
        assert_eq!(static_key(&settings), Some("DEF"));
        assert_eq!(settings.region, "us-west-2");
        // The environment's keys come first.
        let keyed = AwsFlags {
            aws_access_key_id: Some("ENV".into()),
            aws_secret_access_key: Some("e".into()),
            ..AwsFlags::default()
        };
        let settings = AwsSettings::resolve(&keyed, "us-east-1", home, files).unwrap();
        assert_eq!(static_key(&settings), Some("ENV"));
        // A profile may name a role to assume with a web identity token.
        let k8s = |name: &str| match name {
            "HOME" => Some("/home/u".to_string()),
            "AWS_PROFILE" => Some("k8s".to_string()),
            _ => None,
        };
        let settings = AwsSettings::resolve(&flags, "us-east-1", k8s, files).unwrap();
        let CredentialSource::WebIdentity(w) = &settings.credentials else {
            panic!("web identity")
        };
        assert_eq!(w.role_arn, "arn:aws:iam::123456789012:role/r");
    }

    #[test]
    fn a_web_identity_comes_after_the_environments_keys() {
        let flags = AwsFlags {
            aws_web_identity_token_file: Some("/var/run/token".into()),
            aws_role_arn: Some("arn:aws:iam::123456789012:role/sfn".into()),
            aws_role_session_name: Some("s".into()),
            ..AwsFlags::default()
        };
        let settings = AwsSettings::resolve(&flags, "us-east-1", |_| None, |_| None).unwrap();
        let CredentialSource::WebIdentity(w) = &settings.credentials else {
            panic!("web identity")
        };
        assert_eq!(
            (
                w.token_file.to_str(),
                w.role_arn.as_str(),
                w.session_name.as_str()
            ),
            (
                Some("/var/run/token"),
                "arn:aws:iam::123456789012:role/sfn",
                "s"
            )
        );
        let both = AwsFlags {
            aws_access_key_id: Some("ENV".into()),
            aws_secret_access_key: Some("e".into()),
            ..flags
        };
        let settings = AwsSettings::resolve(&both, "us-east-1", |_| None, |_| None).unwrap();
        assert_eq!(static_key(&settings), Some("ENV"));
    }
}
