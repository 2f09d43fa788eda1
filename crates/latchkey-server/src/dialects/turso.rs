//! The Turso dialect: Turso's Platform API token calls, and its error shape
//! `{"error": "<message>"}`, in which the administration routes (organizations, members,
//! groups) answer too.

use axum::Json;
use axum::response::{IntoResponse, Response};
use latchkey_core::policy::ListReach;
use latchkey_core::scope::UNRESTRICTED;
use latchkey_core::{Reach, Slug, TokenId, TokenName, TokenType, TokenView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Auth, Body, Dialect, PathParams};
use crate::AppState;
use crate::error::Error;
use crate::service::MintRequest;

pub struct Turso;

impl Dialect for Turso {
    fn render(error: &Error) -> Response {
        let body = serde_json::json!({ "error": error.public_message() });
        (error.kind().status(), Json(body)).into_response()
    }
}

type Result<T> = ApiResult<T, Turso>;

/// The Turso dialect's token routes (its organization, member and group routes are shared with
/// the native administration, in `admin`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_user_tokens))
        .routes(routes!(create_user_token, revoke_user_token))
        .routes(routes!(create_user_token_v2))
        .routes(routes!(validate))
        .routes(routes!(validate_documented))
        .routes(routes!(list_organization_tokens))
        .routes(routes!(revoke_organization_token))
}

/// Turso's error body.
#[derive(Serialize, ToSchema)]
pub struct TursoError {
    error: String,
}

/// A token as Turso lists it. Never the secret.
#[derive(Serialize, ToSchema)]
pub struct ApiToken {
    name: String,
    /// 22 characters of base64url.
    id: String,
    /// The organization, for organization- and group-scoped tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<String>,
    /// The group, for group-scoped tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    /// The expanded scopes, for group-scoped tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    /// `YYYY-MM-DD`.
    created_at: String,
    /// Who owns it: on organization lists, for admins and owners only.
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<TokenOwner>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenOwner {
    username: String,
    email: Option<String>,
}

impl ApiToken {
    fn new(view: &TokenView, with_owner: bool) -> Self {
        let token = &view.token;
        let grouped = matches!(token.reach, Reach::Group(_));
        Self {
            name: token.name.to_string(),
            id: token.id.turso(),
            organization: (token.reach != Reach::Account).then(|| view.organization.to_string()),
            group: view
                .group
                .as_ref()
                .filter(|_| grouped)
                .map(ToString::to_string),
            scopes: grouped.then(|| token.scopes.names()),
            created_at: token.created_at.date(),
            owner: with_owner.then(|| TokenOwner {
                username: view.owner.username.to_string(),
                email: view.owner.email.as_ref().map(ToString::to_string),
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApiTokens {
    tokens: Vec<ApiToken>,
}

/// The caller's tokens across all its organizations.
#[utoipa::path(
    get, path = "/v1/auth/api-tokens", tag = "turso",
    security(("bearer" = ["tokens:read"])),
    responses((status = 200, body = ApiTokens), (status = 401, body = TursoError), (status = 403, body = TursoError))
)]
async fn list_user_tokens(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
) -> Result<Json<ApiTokens>> {
    let views = state.service.own_tokens(&principal).await?;
    Ok(Json(ApiTokens {
        tokens: views.iter().map(|v| ApiToken::new(v, false)).collect(),
    }))
}

/// Optional body of a mint: no body mints an unrestricted (account-wide) token.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MintBody {
    /// Restrict the token to this organization.
    organization: Option<String>,
    /// Restrict it to this group of the organization (needs `scopes`; admins and owners only).
    group: Option<String>,
    /// For group tokens: the operations allowed, or a preset (`read-only`, `full-access`).
    scopes: Option<Vec<String>>,
}

fn mint_request(name: &str, body: Option<MintBody>) -> Result<MintRequest> {
    let body = body.unwrap_or_default();
    if body.group.is_some() && body.organization.is_none() {
        return Err(Error::bad_request("group", "a group token needs its organization").into());
    }
    if body.scopes.is_some() && body.group.is_none() {
        return Err(Error::bad_request("scopes", "scopes apply to group tokens only").into());
    }
    let organization = body
        .organization
        .as_deref()
        .map(|s| Slug::parse_field("organization", s))
        .transpose()?;
    Ok(MintRequest {
        account_wide: organization.is_none(),
        organization,
        group: body
            .group
            .as_deref()
            .map(|s| Slug::parse_field("group", s))
            .transpose()?,
        owner: None,
        name: name.parse::<TokenName>()?,
        // A group token with no scopes is refused by the core's mint rules.
        scopes: body.scopes.unwrap_or_else(|| vec![UNRESTRICTED.to_owned()]),
        token_type: TokenType::ReadWrite,
        expires_at: None,
    })
}

/// What `POST /v1/auth/api-tokens/{name}` answers.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    name: String,
    id: String,
    /// The secret, shown once.
    token: String,
}

/// Mint a token named `tokenName` (unique among the caller's live tokens).
#[utoipa::path(
    post, path = "/v1/auth/api-tokens/{tokenName}", tag = "turso",
    params(("tokenName" = String, Path)),
    request_body(content = Option<MintBody>, description = "Optional restrictions"),
    security(("bearer" = ["tokens:write"])),
    responses(
        (status = 200, body = CreatedToken),
        (status = 400, body = TursoError), (status = 401, body = TursoError), (status = 403, body = TursoError),
        (status = 404, body = TursoError), (status = 409, body = TursoError),
    )
)]
async fn create_user_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(name, ..): PathParams<Turso, String>,
    Body(body, ..): Body<Turso, Option<MintBody>>,
) -> Result<Json<CreatedToken>> {
    let minted = state
        .service
        .mint(&principal, mint_request(&name, body)?)
        .await?;
    Ok(Json(CreatedToken {
        name: minted.view.token.name.to_string(),
        id: minted.view.token.id.turso(),
        token: minted.secret.expose().to_owned(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTokenV2 {
    token: MintedValue,
}

#[derive(Serialize, ToSchema)]
pub struct MintedValue {
    name: String,
    id: String,
    /// The secret, shown once.
    value: String,
}

/// Mint a token, in the shape Turso's CLI reads.
#[utoipa::path(
    post, path = "/v2/auth/api-tokens/{tokenName}", tag = "turso",
    params(("tokenName" = String, Path)),
    request_body(content = Option<MintBody>, description = "Optional restrictions"),
    security(("bearer" = ["tokens:write"])),
    responses(
        (status = 200, body = CreatedTokenV2),
        (status = 400, body = TursoError), (status = 401, body = TursoError), (status = 403, body = TursoError),
        (status = 404, body = TursoError), (status = 409, body = TursoError),
    )
)]
async fn create_user_token_v2(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(name, ..): PathParams<Turso, String>,
    Body(body, ..): Body<Turso, Option<MintBody>>,
) -> Result<Json<CreatedTokenV2>> {
    let minted = state
        .service
        .mint(&principal, mint_request(&name, body)?)
        .await?;
    Ok(Json(CreatedTokenV2 {
        token: MintedValue {
            name: minted.view.token.name.to_string(),
            id: minted.view.token.id.turso(),
            value: minted.secret.expose().to_owned(),
        },
    }))
}

/// What a revocation answers: `{"token": <name or id>}`.
#[derive(Serialize, ToSchema)]
pub struct RevokedToken {
    token: String,
}

/// Revoke the caller's live token of that name; it stops working at once.
#[utoipa::path(
    delete, path = "/v1/auth/api-tokens/{tokenName}", tag = "turso",
    params(("tokenName" = String, Path)),
    security(("bearer" = ["tokens:revoke"])),
    responses(
        (status = 200, body = RevokedToken),
        (status = 400, body = TursoError), (status = 401, body = TursoError),
        (status = 403, body = TursoError), (status = 404, body = TursoError),
    )
)]
async fn revoke_user_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(name, ..): PathParams<Turso, String>,
) -> Result<Json<RevokedToken>> {
    let view = state
        .service
        .revoke_own_by_name(&principal, &name.parse::<TokenName>()?)
        .await?;
    Ok(Json(RevokedToken {
        token: view.token.name.to_string(),
    }))
}

/// `{"exp": <unix seconds>}` of the bearer token, `-1` when it never expires.
#[derive(Serialize, ToSchema)]
pub struct Expiry {
    exp: i64,
}

fn expiry(principal: &latchkey_core::Principal) -> Json<Expiry> {
    Json(Expiry {
        exp: principal.token.expires_at.map_or(-1, |at| at.unix()),
    })
}

/// Validate the bearer token (the path the official client calls).
#[utoipa::path(
    get, path = "/v1/auth/api-tokens/validate", tag = "turso",
    security(("bearer" = [])),
    responses((status = 200, body = Expiry), (status = 401, body = TursoError))
)]
async fn validate(Auth(principal, ..): Auth<Turso>) -> Json<Expiry> {
    expiry(&principal)
}

/// Validate the bearer token (the documented path).
#[utoipa::path(
    get, path = "/v1/auth/validate", tag = "turso",
    security(("bearer" = [])),
    responses((status = 200, body = Expiry), (status = 401, body = TursoError))
)]
async fn validate_documented(Auth(principal, ..): Auth<Turso>) -> Json<Expiry> {
    expiry(&principal)
}

/// The organization's organization- and group-scoped tokens: all of them with their owners
/// for admins and owners, one's own for members and viewers.
#[utoipa::path(
    get, path = "/v1/organizations/{organization}/api-tokens", tag = "turso",
    params(("organization" = String, Path)),
    security(("bearer" = ["tokens:read"])),
    responses(
        (status = 200, body = ApiTokens),
        (status = 401, body = TursoError), (status = 403, body = TursoError), (status = 404, body = TursoError),
    )
)]
async fn list_organization_tokens(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(org, ..): PathParams<Turso, String>,
) -> Result<Json<ApiTokens>> {
    let org = Slug::parse_field("organization", &org)?;
    let (views, reach) = state.service.organization_tokens(&principal, &org).await?;
    let with_owner = reach == ListReach::Everyone;
    Ok(Json(ApiTokens {
        tokens: views.iter().map(|v| ApiToken::new(v, with_owner)).collect(),
    }))
}

/// Revoke an organization token by id: admins and owners any, others their own.
#[utoipa::path(
    delete, path = "/v1/organizations/{organization}/api-tokens/{tokenId}", tag = "turso",
    params(("organization" = String, Path), ("tokenId" = String, Path, description = "Any spelling of the id")),
    security(("bearer" = ["tokens:revoke"])),
    responses(
        (status = 200, body = RevokedToken),
        (status = 400, body = TursoError), (status = 401, body = TursoError),
        (status = 403, body = TursoError), (status = 404, body = TursoError),
    )
)]
async fn revoke_organization_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams((org, id), ..): PathParams<Turso, (String, String)>,
) -> Result<Json<RevokedToken>> {
    let org = Slug::parse_field("organization", &org)?;
    let token_id = id
        .parse::<TokenId>()
        .map_err(|e| Error::bad_request("tokenId", e.to_string()))?;
    state
        .service
        .revoke_in_organization(&principal, &org, token_id)
        .await?;
    Ok(Json(RevokedToken { token: id }))
}
