//! The domain's one error type. Dialects render it; each variant has one meaning.

use std::fmt;

/// One thing wrong with a request, tied to the field that carried it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a bearer or a verified secret is not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    NotFound,
    Expired,
    Revoked,
}

impl AuthFailure {
    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => "Missing bearer token",
            Self::Malformed => "Malformed token",
            Self::NotFound => "Invalid token",
            Self::Expired => "Token has expired",
            Self::Revoked => "Token has been revoked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// Bad input (400); every issue names its field.
    #[error("{}", join_issues(.0))]
    Invalid(Vec<Issue>),
    /// Input well formed but not meaningful, such as a date that does not parse (422).
    #[error("{0}")]
    Unprocessable(Issue),
    /// Not a token id in any of its three spellings (400).
    #[error(
        "'{0}' is not a token id: expected tok_ and 24 characters, a 22-character id or a UUID"
    )]
    MalformedId(String),
    /// Not a secret of this server's format (or its checksum is off).
    #[error("malformed token")]
    MalformedSecret,
    /// No valid credentials (401).
    #[error("{}", .0.message())]
    Unauthenticated(AuthFailure),
    /// Known to the caller but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Missing, or not visible to the caller (404).
    #[error("{0}")]
    NotFound(String),
    /// A clash with what exists, such as a duplicate name (409).
    #[error("{0}")]
    Conflict(String),
}

fn join_issues(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl CoreError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![Issue {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn unprocessable(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unprocessable(Issue {
            field: field.into(),
            message: message.into(),
        })
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// The issues of a 400, so a dialect can list them.
    pub fn issues(&self) -> &[Issue] {
        match self {
            Self::Invalid(issues) => issues,
            Self::Unprocessable(issue) => std::slice::from_ref(issue),
            _ => &[],
        }
    }

    /// Merges the issues of several validation results into one error, so a client learns of
    /// every bad field at once (an unprocessable field among bad ones is listed with them).
    pub fn collect(errors: impl IntoIterator<Item = CoreError>) -> Option<CoreError> {
        let mut issues = Vec::new();
        let mut invalid = false;
        let mut other = None;
        for error in errors {
            match error {
                Self::Invalid(more) => {
                    invalid = true;
                    issues.extend(more);
                }
                Self::Unprocessable(issue) => {
                    issues.push(issue.clone());
                    other.get_or_insert(Self::Unprocessable(issue));
                }
                error => {
                    other.get_or_insert(error);
                }
            }
        }
        if invalid {
            Some(Self::Invalid(issues))
        } else {
            other
        }
    }
}
