//! Talking to the server: one request helper, and the failures a command can end with.

use std::process::ExitCode;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

/// How long a request may take before the server counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a command failed. Every variant is reported on standard error with exit code 1; none
/// ever holds a secret.
#[derive(Debug)]
pub enum Failure {
    /// The server answered with an error.
    Api {
        status: StatusCode,
        message: String,
        /// Each bad field, as `field: what is wrong`.
        issues: Vec<String>,
    },
    /// No answer from the server.
    Unreachable { url: String, cause: String },
    /// Refused here, before anything was sent.
    Local(String),
    /// The user did not confirm.
    Cancelled,
}

impl Failure {
    /// Prints the failure to standard error and gives the exit code.
    pub fn report(&self) -> ExitCode {
        match self {
            Self::Api {
                message, issues, ..
            } => {
                eprintln!("error: {message}");
                // A lone issue is usually the message itself.
                if issues.len() > 1 || issues.first().is_some_and(|issue| issue != message) {
                    for issue in issues {
                        eprintln!("  {issue}");
                    }
                }
            }
            Self::Unreachable { url, cause } => {
                eprintln!(
                    "error: could not reach the latchkey server at {url}: {cause} \
                     (set --url or LATCHKEY_URL)"
                );
            }
            Self::Local(message) => eprintln!("error: {message}"),
            Self::Cancelled => eprintln!("Cancelled: nothing was changed."),
        }
        ExitCode::FAILURE
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A connection to one server, acting with one token (or none, for verify).
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// The URL as the user gave it, for messages.
    shown: String,
    token: Option<String>,
}

impl Client {
    pub fn new(url: &str, token: Option<&str>) -> Result<Self, Failure> {
        let base = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| {
                Failure::Local(format!(
                    "'{url}' is not a server URL such as http://127.0.0.1:8080 (--url or LATCHKEY_URL)"
                ))
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(TIMEOUT)
            .user_agent(concat!("latchkey-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Local(format!("cannot start the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            shown: url.trim_end_matches('/').to_owned(),
            token: token.filter(|t| !t.is_empty()).map(str::to_owned),
        })
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The server's URL for these path segments, each percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("checked in new: the URL can be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    pub async fn get(&self, segments: &[&str]) -> Result<Value, Failure> {
        self.send(Method::GET, self.url(segments), None).await
    }

    /// Sends one request; a 2xx answer's JSON body (`null` when there is none), else the
    /// server's error.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                Failure::Local(
                    "the token holds characters that cannot be sent in an HTTP header".to_owned(),
                )
            })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        if !status.is_success() {
            return Err(api_failure(status, &bytes));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|_| {
            Failure::Local(format!(
                "the server at {} answered {status} with a body that is not JSON: is it a latchkey server?",
                self.shown
            ))
        })
    }

    fn unreachable(&self, error: &reqwest::Error) -> Failure {
        // reqwest's own message repeats the URL; the innermost cause says what went wrong.
        let cause = if error.is_timeout() {
            format!("no answer within {} seconds", TIMEOUT.as_secs())
        } else {
            let mut cause: &dyn std::error::Error = error;
            while let Some(next) = cause.source() {
                cause = next;
            }
            cause.to_string()
        };
        Failure::Unreachable {
            url: self.shown.clone(),
            cause,
        }
    }
}

/// Reads an error body of either shape: native `{"error": code, "message", "issues"}` or
/// Turso's `{"error": message}`.
fn api_failure(status: StatusCode, bytes: &[u8]) -> Failure {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut message = text(&body, "message")
        .or_else(|| text(&body, "error"))
        .unwrap_or_else(|| {
            let snippet: String = String::from_utf8_lossy(bytes)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(200)
                .collect();
            if snippet.is_empty() {
                format!("the server answered {status}")
            } else {
                format!("the server answered {status}: {snippet}")
            }
        });
    if status == StatusCode::UNAUTHORIZED {
        message.push_str(" (check --token or LATCHKEY_TOKEN)");
    }
    let issues = body
        .get("issues")
        .and_then(Value::as_array)
        .map(|issues| {
            issues
                .iter()
                .filter_map(
                    |issue| match (text(issue, "field"), text(issue, "message")) {
                        (Some(field), Some(message)) => Some(format!("{field}: {message}")),
                        (None, Some(message)) => Some(message),
                        _ => None,
                    },
                )
                .collect()
        })
        .unwrap_or_default();
    Failure::Api {
        status,
        message,
        issues,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_error_shapes() {
        let native = br#"{"error":"bad_request","message":"scopes: unknown scope 'x'","status":400,
            "issues":[{"field":"scopes","message":"unknown scope 'x'"}]}"#;
        let Failure::Api {
            message, issues, ..
        } = api_failure(StatusCode::BAD_REQUEST, native)
        else {
            panic!("an API failure")
        };
        assert_eq!(message, "scopes: unknown scope 'x'");
        assert_eq!(issues, ["scopes: unknown scope 'x'"]);

        let turso = br#"{"error":"organization 'nope' not found"}"#;
        let failure = api_failure(StatusCode::NOT_FOUND, turso);
        assert!(
            matches!(failure, Failure::Api { ref message, .. } if message == "organization 'nope' not found")
        );

        let proxy = b"<html>Bad   gateway</html>";
        let failure = api_failure(StatusCode::BAD_GATEWAY, proxy);
        assert!(
            matches!(failure, Failure::Api { ref message, .. } if message == "the server answered 502 Bad Gateway: <html>Bad gateway</html>")
        );
    }

    #[test]
    fn urls_keep_a_base_path_and_encode_segments() {
        let client = Client::new("http://example.com/latchkey/", None).unwrap();
        assert_eq!(
            client.url(&["v1", "organizations", "a b/c"]).as_str(),
            "http://example.com/latchkey/v1/organizations/a%20b%2Fc"
        );
        assert!(Client::new("example.com", None).is_err());
    }
}
