//! The MotherDuck dialect: per-user tokens with a TTL and a token type, service accounts, and
//! MotherDuck's error shape `{"message", "code", "issues"}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use latchkey_core::{CoreError, Issue, Slug, Timestamp, TokenId, TokenName, TokenType, TokenView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Auth, Body, Dialect, PathParams};
use crate::AppState;
use crate::error::{Error, Kind};
use crate::service::MintRequest;

pub struct MotherDuck;

/// MotherDuck's error body.
#[derive(Serialize, ToSchema)]
pub struct MotherDuckError {
    message: String,
    /// `BAD_REQUEST`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT` or
    /// `INTERNAL_SERVER_ERROR`.
    code: &'static str,
    issues: Vec<IssueMessage>,
}

#[derive(Serialize, ToSchema)]
pub struct IssueMessage {
    message: String,
}

impl Dialect for MotherDuck {
    fn render(error: &Error) -> Response {
        // MotherDuck answers every validation failure with 400, a date included.
        let (status, code) = match error.kind() {
            Kind::BadRequest | Kind::Unprocessable => (Kind::BadRequest.status(), "BAD_REQUEST"),
            Kind::Unauthorized => (Kind::Unauthorized.status(), "UNAUTHORIZED"),
            Kind::Forbidden => (Kind::Forbidden.status(), "FORBIDDEN"),
            Kind::NotFound => (Kind::NotFound.status(), "NOT_FOUND"),
            Kind::Conflict => (Kind::Conflict.status(), "CONFLICT"),
            Kind::MethodNotAllowed => (Kind::MethodNotAllowed.status(), "METHOD_NOT_ALLOWED"),
            Kind::RateLimited => (Kind::RateLimited.status(), "TOO_MANY_REQUESTS"),
            Kind::Internal => (Kind::Internal.status(), "INTERNAL_SERVER_ERROR"),
        };
        let issues = error.issues();
        let message = if issues.is_empty() {
            error.public_message()
        } else {
            "Bad Request".to_owned()
        };
        let body = MotherDuckError {
            message,
            code,
            issues: issues
                .into_iter()
                .map(|Issue { field, message }| IssueMessage {
                    message: format!("{field}: {message}"),
                })
                .collect(),
        };
        (status, Json(body)).into_response()
    }
}

type Result<T> = ApiResult<T, MotherDuck>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(delete_token))
        .routes(routes!(create_service_account))
        .routes(routes!(delete_service_account))
}

fn username(raw: &str) -> Result<Slug> {
    Ok(Slug::parse_field("username", raw)?)
}

/// A token as MotherDuck shows it. Never the secret.
#[derive(Serialize, ToSchema)]
pub struct Token {
    /// The token's UUID.
    id: String,
    name: String,
    /// When it expires; null when it lives until revoked.
    #[schema(value_type = Option<String>, format = DateTime)]
    expire_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    created_ts: Timestamp,
    read_only: bool,
    /// `read_write` or `read_scaling`.
    token_type: &'static str,
}

impl From<&TokenView> for Token {
    fn from(view: &TokenView) -> Self {
        Self {
            id: view.token.id.canonical(),
            name: view.token.name.to_string(),
            expire_at: view.token.expires_at,
            created_ts: view.token.created_at,
            read_only: view.read_only(),
            token_type: view.token.token_type.as_str(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Tokens {
    tokens: Vec<Token>,
}

/// A user's tokens (not revoked ones): one's own, or a service account's for its admins.
#[utoipa::path(
    get, path = "/v1/users/{username}/tokens", tag = "motherduck",
    params(("username" = String, Path)),
    security(("bearer" = ["tokens:read"])),
    responses(
        (status = 200, body = Tokens),
        (status = 400, body = MotherDuckError), (status = 401, body = MotherDuckError),
        (status = 403, body = MotherDuckError), (status = 404, body = MotherDuckError),
    )
)]
async fn list_tokens(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<MotherDuck>,
    PathParams(user, ..): PathParams<MotherDuck, String>,
) -> Result<Json<Tokens>> {
    let views = state
        .service
        .user_tokens(&principal, &username(&user)?)
        .await?;
    Ok(Json(Tokens {
        tokens: views.iter().map(Token::from).collect(),
    }))
}

/// Body of a mint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// 1 to 255 characters.
    name: Option<String>,
    /// Seconds to live, 300 to 31,536,000; omitted, the token lives until revoked.
    ttl: Option<i64>,
    /// `read_write` (default) or `read_scaling` (always read-only).
    token_type: Option<String>,
}

const TTL: std::ops::RangeInclusive<i64> = 300..=31_536_000;

impl CreateToken {
    fn into_request(self, now: Timestamp) -> Result<MintRequest> {
        let name = match self.name.as_deref() {
            Some(name) => name.parse::<TokenName>(),
            None => Err(CoreError::invalid("name", "is required")),
        };
        let expires_at = match self.ttl {
            Some(ttl) if !TTL.contains(&ttl) => Err(CoreError::invalid(
                "ttl",
                format!(
                    "must be from {} to {} seconds, got {ttl}",
                    TTL.start(),
                    TTL.end()
                ),
            )),
            ttl => Ok(ttl.map(|ttl| now.plus_seconds(ttl))),
        };
        let token_type = self
            .token_type
            .as_deref()
            .map(str::parse::<TokenType>)
            .transpose();
        match (name, expires_at, token_type) {
            (Ok(name), Ok(expires_at), Ok(token_type)) => Ok(MintRequest {
                organization: None,
                group: None,
                owner: None,
                account_wide: false,
                name,
                scopes: vec![latchkey_core::scope::UNRESTRICTED.to_owned()],
                token_type: token_type.unwrap_or(TokenType::ReadWrite),
                expires_at,
            }),
            (name, expires_at, token_type) => Err(CoreError::collect(
                [name.err(), expires_at.err(), token_type.err()]
                    .into_iter()
                    .flatten(),
            )
            .expect("one of them failed")
            .into()),
        }
    }
}

/// A new token with its secret.
#[derive(Serialize, ToSchema)]
pub struct CreatedUserToken {
    #[serde(flatten)]
    body: Token,
    /// The secret, shown once.
    token: String,
}

/// Mint a token for a user: oneself, a service account of one's organization (admins), or
/// anyone (root).
#[utoipa::path(
    post, path = "/v1/users/{username}/tokens", tag = "motherduck",
    params(("username" = String, Path)),
    request_body = CreateToken,
    security(("bearer" = ["tokens:write"])),
    responses(
        (status = 200, body = CreatedUserToken),
        (status = 400, body = MotherDuckError), (status = 401, body = MotherDuckError),
        (status = 403, body = MotherDuckError), (status = 404, body = MotherDuckError),
        (status = 409, body = MotherDuckError),
    )
)]
async fn create_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<MotherDuck>,
    PathParams(user, ..): PathParams<MotherDuck, String>,
    Body(body, ..): Body<MotherDuck, CreateToken>,
) -> Result<Json<CreatedUserToken>> {
    let user = username(&user)?;
    let request = body.into_request(state.service.now())?;
    let minted = state
        .service
        .mint_for_user(&principal, &user, request)
        .await?;
    Ok(Json(CreatedUserToken {
        body: Token::from(&minted.view),
        token: minted.secret.expose().to_owned(),
    }))
}

/// An empty object: MotherDuck's answer to a deletion.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

/// Revoke one of a user's tokens; its secret stops working at once.
#[utoipa::path(
    delete, path = "/v1/users/{username}/tokens/{token_id}", tag = "motherduck",
    params(("username" = String, Path), ("token_id" = String, Path, description = "The token's UUID (any spelling)")),
    security(("bearer" = ["tokens:revoke"])),
    responses(
        (status = 200, body = Empty),
        (status = 400, body = MotherDuckError), (status = 401, body = MotherDuckError),
        (status = 403, body = MotherDuckError), (status = 404, body = MotherDuckError),
    )
)]
async fn delete_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<MotherDuck>,
    PathParams((user, id), ..): PathParams<MotherDuck, (String, String)>,
) -> Result<Json<Empty>> {
    let id = id
        .parse::<TokenId>()
        .map_err(|e| Error::bad_request("token_id", e.to_string()))?;
    state
        .service
        .revoke_user_token(&principal, &username(&user)?, id)
        .await?;
    Ok(Json(Empty {}))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccount {
    /// At most 255 characters: lowercase letters, digits, `-`, `_`, `.`.
    username: Option<String>,
    /// The organization's slug, when the caller administers several (a latchkey extension).
    organization: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceAccount {
    username: String,
    /// The organization it belongs to.
    organization: String,
}

/// Create a service account in the caller's organization (admins).
#[utoipa::path(
    post, path = "/v1/users", tag = "motherduck",
    request_body = CreateServiceAccount,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ServiceAccount),
        (status = 400, body = MotherDuckError), (status = 401, body = MotherDuckError),
        (status = 403, body = MotherDuckError), (status = 409, body = MotherDuckError),
    )
)]
async fn create_service_account(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<MotherDuck>,
    Body(body, ..): Body<MotherDuck, CreateServiceAccount>,
) -> Result<Json<ServiceAccount>> {
    let user = body
        .username
        .as_deref()
        .ok_or_else(|| Error::bad_request("username", "is required"))?;
    let organization = body
        .organization
        .as_deref()
        .map(|s| Slug::parse_field("organization", s))
        .transpose()?;
    let (account, org) = state
        .service
        .create_service_account(&principal, username(user)?, organization.as_ref())
        .await?;
    Ok(Json(ServiceAccount {
        username: account.username.to_string(),
        organization: org.slug.to_string(),
    }))
}

/// Delete a service account: its tokens are revoked at once.
#[utoipa::path(
    delete, path = "/v1/users/{username}", tag = "motherduck",
    params(("username" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Empty),
        (status = 400, body = MotherDuckError), (status = 401, body = MotherDuckError),
        (status = 403, body = MotherDuckError), (status = 404, body = MotherDuckError),
    )
)]
async fn delete_service_account(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<MotherDuck>,
    PathParams(user, ..): PathParams<MotherDuck, String>,
) -> Result<Json<Empty>> {
    state
        .service
        .delete_service_account(&principal, &username(&user)?)
        .await?;
    Ok(Json(Empty {}))
}
