//! The tower layer that checks each call's bearer token and role before it reaches a service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::codegen::http::{self, HeaderMap};
use tonic::codegen::Service;
use tonic::Status;
use tower_layer::Layer;

use super::{Caller, Principals};
use crate::api::status_from;
use crate::error::{ApiError, ErrorKind};

/// Path prefix of our API's methods: `/stepfunctions.v1.StepFunctions/<Operation>`.
const API_PREFIX: &str = "/stepfunctions.v1.StepFunctions/";
/// Health is open: probes (kubelet, load balancers) carry no token.
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

/// Checks calls against the auth file's principals; lets everything through when there is none.
#[derive(Debug, Clone, Default)]
pub struct AuthLayer {
    principals: Option<Arc<Principals>>,
}

impl AuthLayer {
    /// No authentication (no `--auth-file`).
    pub fn open() -> AuthLayer {
        AuthLayer::default()
    }

    pub fn new(principals: Principals) -> AuthLayer {
        AuthLayer::shared(Arc::new(principals))
    }

    /// Checks against principals shared with the AWS JSON door.
    pub fn shared(principals: Arc<Principals>) -> AuthLayer {
        AuthLayer {
            principals: Some(principals),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            inner,
            principals: self.principals.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct Authenticate<S> {
    inner: S,
    principals: Option<Arc<Principals>>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Authenticate<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        if let Some(principals) = &self.principals {
            match check(principals, request.uri().path(), request.headers()) {
                Ok(Some(caller)) => {
                    request.extensions_mut().insert(caller);
                }
                Ok(None) => {}
                Err(status) => {
                    return Box::pin(std::future::ready(Ok(status.into_http::<ResBody>())));
                }
            }
        }
        // Call the service that was polled ready, leaving a fresh clone in its place.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        Box::pin(ready.call(request))
    }
}

/// Who may make the call to `path`: `Ok(None)` for an open path, the caller when allowed, else the status
/// to answer with.
pub(super) fn check(
    principals: &Principals,
    path: &str,
    headers: &HeaderMap,
) -> Result<Option<Caller>, Status> {
    if path.starts_with(HEALTH_PREFIX) {
        return Ok(None);
    }
    let caller = authenticate(principals, headers).inspect_err(|status| {
        tracing::debug!(path, reason = status.message(), "call refused");
    })?;
    // Reflection (and any other service) needs a known caller of any role.
    if let Some(operation) = path.strip_prefix(API_PREFIX) {
        super::authorize(&caller, operation).map_err(status_from)?;
    }
    tracing::debug!(principal = %caller.name, role = %caller.role, path, "call authenticated");
    Ok(Some(caller))
}

fn authenticate(principals: &Principals, headers: &HeaderMap) -> Result<Caller, Status> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Err(status_from(ApiError::new(
            ErrorKind::MissingAuthenticationTokenException,
            "Missing Authentication Token",
        )));
    };
    let invalid = |hint: &str| {
        status_from(ApiError::new(
            ErrorKind::UnrecognizedClientException,
            format!("The security token included in the request is invalid.{hint}"),
        ))
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|text| text.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| invalid(" Send it as 'authorization: Bearer TOKEN'."))?;
    principals
        .authenticate(token)
        .map(|principal| principal.caller.clone())
        .ok_or_else(|| invalid(""))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tonic::server::NamedService;
    use tonic_types::StatusExt;

    use super::*;
    use crate::api::pb::step_functions_server::StepFunctionsServer;
    use crate::api::StepFunctionsApi;
    use crate::auth::Role;

    #[test]
    fn api_prefix_is_the_generated_service_name() {
        let name = <StepFunctionsServer<StepFunctionsApi> as NamedService>::NAME;
        assert_eq!(API_PREFIX, format!("/{name}/"));
    }

    fn principals() -> Principals {
        Principals::parse(
            r#"{"principals": [
                {"name": "ops", "role": "admin", "token": "a"},
                {"name": "w1", "role": "worker", "token": "w"}
            ]}"#,
            Path::new("auth.json"),
        )
        .unwrap()
    }

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        }
        headers
    }

    fn refusal(path: &str, authorization: Option<&str>) -> (tonic::Code, String, String) {
        let status = check(&principals(), path, &headers(authorization)).unwrap_err();
        let reason = status.get_details_error_info().unwrap().reason;
        (status.code(), status.message().to_string(), reason)
    }

    #[test]
    fn checks_token_then_role() {
        let p = principals();
        let health = "/grpc.health.v1.Health/Check";
        assert_eq!(check(&p, health, &headers(None)).unwrap(), None);
        let caller = check(
            &p,
            "/stepfunctions.v1.StepFunctions/CreateStateMachine",
            &headers(Some("Bearer a")),
        )
        .unwrap()
        .unwrap();
        assert_eq!((&*caller.name, caller.role), ("ops", Role::Admin));
        let caller = check(
            &p,
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            &headers(Some("bearer w")),
        )
        .unwrap()
        .unwrap();
        assert_eq!(&*caller.name, "w1");

        let (code, message, reason) = refusal("/grpc.reflection.v1.ServerReflection/X", None);
        assert_eq!(code, tonic::Code::Unauthenticated);
        assert_eq!(reason, "MissingAuthenticationTokenException");
        assert!(message.starts_with("MissingAuthenticationTokenException: "));

        for bad in ["Bearer nope", "Basic a", "a", "Bearer "] {
            let (code, _, reason) = refusal(
                "/stepfunctions.v1.StepFunctions/ListStateMachines",
                Some(bad),
            );
            assert_eq!(code, tonic::Code::Unauthenticated, "{bad}");
            assert_eq!(reason, "UnrecognizedClientException", "{bad}");
        }

        let (code, message, reason) = refusal(
            "/stepfunctions.v1.StepFunctions/StartExecution",
            Some("Bearer w"),
        );
        assert_eq!(code, tonic::Code::PermissionDenied);
        assert_eq!(reason, "AccessDeniedException");
        assert!(
            message.starts_with(
                "AccessDeniedException: User: w1 is not authorized to perform: states:StartExecution"
            ),
            "{message}"
        );
    }
}
