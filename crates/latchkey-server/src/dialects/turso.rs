//! Turso's shape: errors are `{"error": "<message>"}`. The administration routes (organizations,
//! members, groups) answer in it.

use axum::Json;
use axum::response::{IntoResponse, Response};

use super::Dialect;
use crate::error::Error;

pub struct Turso;

impl Dialect for Turso {
    fn render(error: &Error) -> Response {
        let body = serde_json::json!({ "error": error.public_message() });
        (error.kind().status(), Json(body)).into_response()
    }
}
