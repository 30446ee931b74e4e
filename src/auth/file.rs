//! The auth file: a JSON object whose `principals` each have a `name`, a `role` and a bearer token, given
//! as `token` (the secret itself) or `token_sha256` (its SHA-256 digest in hex, so the file need not hold
//! the secret), plus optional `access_key_id`/`secret_access_key` kept for an AWS SigV4 door.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Caller, Role, SecurityError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    principals: Vec<PrincipalShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalShape {
    name: String,
    role: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    token_sha256: Option<String>,
    #[serde(default)]
    access_key_id: Option<String>,
    #[serde(default)]
    secret_access_key: Option<String>,
}

/// An AWS access key of a principal, for SigV4-signed calls on the AWS JSON door.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AwsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKey")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// One caller the auth file names.
#[derive(Debug, Clone)]
pub struct Principal {
    pub caller: Caller,
    /// SHA-256 of the bearer token; only digests are kept and compared.
    token_sha256: [u8; 32],
    pub aws_key: Option<AwsKey>,
}

/// Every principal of the auth file.
#[derive(Debug, Clone)]
pub struct Principals {
    principals: Vec<Principal>,
}

impl Principals {
    /// The principal whose token this is. Every principal's digest is compared, in constant time, so the
    /// time taken says nothing about which digest came close.
    pub fn authenticate(&self, token: &str) -> Option<&Principal> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for principal in &self.principals {
            if bool::from(principal.token_sha256.ct_eq(&digest)) {
                found = Some(principal);
            }
        }
        found
    }

    /// The principal whose AWS access key has this id (key ids are unique in the file).
    pub fn by_access_key(&self, access_key_id: &str) -> Option<(&Principal, &AwsKey)> {
        self.principals.iter().find_map(|principal| {
            principal
                .aws_key
                .as_ref()
                .filter(|key| key.access_key_id == access_key_id)
                .map(|key| (principal, key))
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Principal> {
        self.principals.iter()
    }

    /// Parses an auth file's text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Principals, SecurityError> {
        let invalid = |reason: String| SecurityError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let shape: FileShape = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if shape.principals.is_empty() {
            return Err(invalid("it names no principals".into()));
        }
        let mut names = HashSet::new();
        let mut digests = HashSet::new();
        let mut key_ids = HashSet::new();
        let mut principals = Vec::with_capacity(shape.principals.len());
        for (i, p) in shape.principals.into_iter().enumerate() {
            let at = format!("principal {} ({:?})", i + 1, p.name);
            if p.name.trim().is_empty() {
                return Err(invalid(format!("principal {} has no name", i + 1)));
            }
            if !names.insert(p.name.clone()) {
                return Err(invalid(format!("{at}: the name is used twice")));
            }
            let role = Role::from_name(&p.role).ok_or_else(|| {
                invalid(format!(
                    "{at}: unknown role {:?} (use admin, worker or reader)",
                    p.role
                ))
            })?;
            let token_sha256 = match (p.token, p.token_sha256) {
                (Some(token), None) => {
                    check_token(&token).map_err(|why| invalid(format!("{at}: {why}")))?;
                    Sha256::digest(token.as_bytes()).into()
                }
                (None, Some(hex_digest)) => parse_digest(&hex_digest)
                    .ok_or_else(|| invalid(format!("{at}: token_sha256 must be 64 hex digits")))?,
                (Some(_), Some(_)) => {
                    return Err(invalid(format!(
                        "{at}: give token or token_sha256, not both"
                    )))
                }
                (None, None) => {
                    return Err(invalid(format!("{at}: it has no token or token_sha256")))
                }
            };
            if !digests.insert(token_sha256) {
                return Err(invalid(format!(
                    "{at}: its token is another principal's too"
                )));
            }
            let aws_key = match (p.access_key_id, p.secret_access_key) {
                (None, None) => None,
                (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                    if !key_ids.insert(id.clone()) {
                        return Err(invalid(format!("{at}: access_key_id {id:?} is used twice")));
                    }
                    Some(AwsKey {
                        access_key_id: id,
                        secret_access_key: secret,
                    })
                }
                _ => {
                    return Err(invalid(format!(
                        "{at}: access_key_id and secret_access_key go together, both non-empty"
                    )))
                }
            };
            principals.push(Principal {
                caller: Caller {
                    name: Arc::from(p.name),
                    role,
                },
                token_sha256,
                aws_key,
            });
        }
        Ok(Principals { principals })
    }
}

/// A token must be something a client can send as `authorization: Bearer TOKEN`.
fn check_token(token: &str) -> Result<(), &'static str> {
    if token.is_empty() {
        return Err("its token is empty");
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("its token must be printable ASCII without spaces");
    }
    Ok(())
}

fn parse_digest(text: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

/// Reads the auth file at `path`, refusing one that other users can read or write.
pub fn load_auth_file(path: &Path) -> Result<Principals, SecurityError> {
    let read_error = |source| SecurityError::Read {
        what: "auth file",
        path: path.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    check_private(path, &metadata)?;
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    Principals::parse(&text, path)
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &std::fs::Metadata) -> Result<(), SecurityError> {
    use std::os::unix::fs::MetadataExt;
    let mode = metadata.mode() & 0o7777;
    let own_group = rustix::process::getegid().as_raw();
    if exposed(mode, metadata.gid(), own_group) {
        return Err(SecurityError::Exposed {
            path: PathBuf::from(path),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), SecurityError> {
    Ok(())
}

/// Whether a file with this mode and group is open to other users. Group read is accepted when the group
/// is the server's own: Kubernetes mounts a Secret readable by the pod's `fsGroup` (the chart makes it the
/// server's group) and cannot mount it owner-only for a non-root user.
fn exposed(mode: u32, file_group: u32, own_group: u32) -> bool {
    let others = mode & 0o007 != 0;
    let group_write_or_exec = mode & 0o030 != 0;
    let group_read = mode & 0o040 != 0;
    others || group_write_or_exec || (group_read && file_group != own_group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Principals, String> {
        Principals::parse(text, Path::new("auth.json")).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_tokens_digests_and_aws_keys() {
        let digest = hex::encode(Sha256::digest(b"reader-secret"));
        let principals = parse(&format!(
            r#"{{"principals": [
                {{"name": "ops", "role": "admin", "token": "admin-secret"}},
                {{"name": "dash", "role": "reader", "token_sha256": "{digest}",
                  "access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalr"}}
            ]}}"#
        ))
        .unwrap();
        let ops = principals.authenticate("admin-secret").unwrap();
        assert_eq!(&*ops.caller.name, "ops");
        assert_eq!(ops.caller.role, Role::Admin);
        assert_eq!(ops.aws_key, None);
        let dash = principals.authenticate("reader-secret").unwrap();
        assert_eq!(dash.caller.role, Role::Reader);
        assert_eq!(dash.aws_key.as_ref().unwrap().access_key_id, "AKIDEXAMPLE");
        assert!(!format!("{:?}", dash.aws_key).contains("wJalr"));
        assert!(principals.authenticate("nope").is_none());
        assert!(principals.authenticate("").is_none());
    }

    #[test]
    fn refuses_bad_files() {
        let cases = [
            ("{", "EOF"),
            (r#"{"principals": []}"#, "no principals"),
            (
                r#"{"principals": [{"name": "a", "role": "root", "token": "t"}]}"#,
                "unknown role",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin", "token": ""}]}"#,
                "token is empty",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin", "token": "a b"}]}"#,
                "printable ASCII",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin"}]}"#,
                "no token",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin", "token": "t", "token_sha256": "00"}]}"#,
                "not both",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin", "token_sha256": "abc"}]}"#,
                "64 hex digits",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin", "token": "t"},
                                   {"name": "b", "role": "reader", "token": "t"}]}"#,
                "another principal's",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin", "token": "t"},
                                   {"name": "a", "role": "reader", "token": "u"}]}"#,
                "used twice",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin", "token": "t", "access_key_id": "K"}]}"#,
                "go together",
            ),
            (
                r#"{"principals": [{"name": "a", "role": "admin", "tokn": "t"}]}"#,
                "unknown field",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
            assert!(
                error.starts_with("the auth file auth.json is invalid"),
                "{error}"
            );
        }
    }

    #[test]
    fn private_modes_only() {
        assert!(!exposed(0o600, 5, 7));
        assert!(!exposed(0o400, 5, 7));
        assert!(
            !exposed(0o440, 7, 7),
            "group read by the server's own group"
        );
        assert!(!exposed(0o640, 7, 7));
        assert!(exposed(0o440, 5, 7), "group read by another group");
        assert!(exposed(0o644, 7, 7));
        assert!(exposed(0o604, 7, 7));
        assert!(exposed(0o602, 7, 7));
        assert!(exposed(0o620, 7, 7));
        assert!(exposed(0o660, 7, 7));
    }
}
