//! The server's one error type, and the code table every dialect renders from.

use axum::http::StatusCode;
use latchkey_core::{AuthFailure, CoreError, Issue};
use latchkey_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The path exists, the method does not (405; the `Allow` header lists those that do).
    #[error("{method} is not allowed on {path}; the Allow header lists the methods that are")]
    MethodNotAllowed { method: String, path: String },
    #[error(
        "rate limit exceeded: {per_minute} requests per minute per workspace; see X-RateLimit-Reset"
    )]
    RateLimited { per_minute: u32 },
}

/// What kind of failure, independent of any dialect's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Unprocessable,
    MethodNotAllowed,
    RateLimited,
    Internal,
}

impl Kind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl Error {
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        Self::Core(CoreError::invalid(field, message))
    }

    pub fn unauthenticated(why: AuthFailure) -> Self {
        Self::Core(CoreError::Unauthenticated(why))
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::Core(error) => match error {
                CoreError::Invalid(_) | CoreError::MalformedId(_) => Kind::BadRequest,
                CoreError::Unprocessable(_) => Kind::Unprocessable,
                CoreError::MalformedSecret | CoreError::Unauthenticated(_) => Kind::Unauthorized,
                CoreError::Forbidden(_) => Kind::Forbidden,
                CoreError::NotFound(_) => Kind::NotFound,
                CoreError::Conflict(_) => Kind::Conflict,
            },
            Self::Store(error) => match error {
                StoreError::Conflict(_) => Kind::Conflict,
                StoreError::NotFound(_) => Kind::NotFound,
                StoreError::Backend(_) => Kind::Internal,
            },
            Self::MethodNotAllowed { .. } => Kind::MethodNotAllowed,
            Self::RateLimited { .. } => Kind::RateLimited,
        }
    }

    /// The message a client may read. A database failure is logged here, once, and answered
    /// without its details.
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(StoreError::Backend(detail)) => {
                tracing::error!(error = %detail, "request failed in the store");
                "internal error".to_owned()
            }
            Self::Core(CoreError::MalformedSecret) => AuthFailure::Malformed.message().to_owned(),
            other => latchkey_core::secret::redact(&other.to_string()).into_owned(),
        }
    }

    /// The issues of a 400, each message cleared of anything shaped like a secret.
    pub fn issues(&self) -> Vec<Issue> {
        let issues = match self {
            Self::Core(error) => error.issues(),
            Self::Store(_) | Self::MethodNotAllowed { .. } | Self::RateLimited { .. } => &[],
        };
        issues
            .iter()
            .map(|issue| Issue {
                field: issue.field.clone(),
                message: latchkey_core::secret::redact(&issue.message).into_owned(),
            })
            .collect()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
