//! What every dialect shares: the error wrapper that renders in the dialect's shape, and
//! extractors whose failures render the same way.

pub mod admin;
pub mod motherduck;
pub mod native;
pub mod turso;

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use latchkey_core::Principal;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::Error;

/// A dialect renders errors in its own shape.
pub trait Dialect: Send + Sync + 'static {
    fn render(error: &Error) -> Response;
}

/// An error on its way out, in dialect `D`'s shape.
pub struct ApiError<D>(pub Error, PhantomData<D>);

impl<D: Dialect> IntoResponse for ApiError<D> {
    fn into_response(self) -> Response {
        D::render(&self.0)
    }
}

impl<D, E: Into<Error>> From<E> for ApiError<D> {
    fn from(error: E) -> Self {
        Self(error.into(), PhantomData)
    }
}

pub type ApiResult<T, D> = Result<T, ApiError<D>>;

/// The bearer token from `Authorization: Bearer …`, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The authenticated caller.
pub struct Auth<D>(pub Principal, PhantomData<D>);

impl<D: Dialect> FromRequestParts<AppState> for Auth<D> {
    type Rejection = ApiError<D>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = match parts.extensions.remove::<Principal>() {
            Some(principal) => principal,
            None => state.service.authenticate(bearer(parts)).await?,
        };
        Ok(Self(principal, PhantomData))
    }
}

/// A JSON body, read whatever its content type says (the official Turso client sends JSON as
/// `text/plain`); an empty body reads as `null`, so optional bodies may be left out.
pub struct Body<D, T>(pub T, PhantomData<D>);

impl<D: Dialect, T: DeserializeOwned> FromRequest<AppState> for Body<D, T> {
    type Rejection = ApiError<D>;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| Error::bad_request("body", rejection.body_text()))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &bytes
        };
        let value = serde_json::from_slice(text).map_err(|error| {
            Error::bad_request(
                "body",
                format!("the request body is not valid JSON for this call: {error}"),
            )
        })?;
        Ok(Self(value, PhantomData))
    }
}

/// Path parameters; a failure renders in the dialect's shape.
pub struct PathParams<D, T>(pub T, PhantomData<D>);

impl<D: Dialect, T: DeserializeOwned + Send> FromRequestParts<AppState> for PathParams<D, T> {
    type Rejection = ApiError<D>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| Error::bad_request("path", rejection.body_text()))?;
        Ok(Self(value, PhantomData))
    }
}

/// Query parameters; a failure (an unknown parameter among them) renders in the dialect's shape.
pub struct QueryParams<D, T>(pub T, PhantomData<D>);

impl<D: Dialect, T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<D, T> {
    type Rejection = ApiError<D>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| Error::bad_request("query", rejection.body_text()))?;
        Ok(Self(value, PhantomData))
    }
}

/// Parses an optional wire string into a domain newtype.
pub fn parse_opt<T>(raw: Option<&str>) -> Result<Option<T>, Error>
where
    T: std::str::FromStr,
    T::Err: Into<Error>,
{
    raw.map(str::parse).transpose().map_err(Into::into)
}
