//! The native API: Tooken's `/v1/tokens` to the letter, extended (organizations, owners,
//! groups, cursors, more filters, verify, self), and the accounts the operator manages.

use axum::Json;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_core::{
    Account, AccountKind, CoreError, Email, ScopeCatalog, Slug, Timestamp, TokenId, TokenName,
    TokenType, TokenView, VerifyCode,
};
use latchkey_store::{Cursor, PageRequest, TokenSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Auth, Body, Dialect, PathParams, QueryParams, parse_opt};
use crate::AppState;
use crate::error::{Error, Kind};
use crate::service::{ListRequest, MintRequest, Minted};

/// Tooken's error shape: `{"error", "message", "status"}`, with `issues` for bad input.
pub struct Native;

impl Native {
    fn code(kind: Kind) -> &'static str {
        match kind {
            Kind::BadRequest => "bad_request",
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not_found",
            Kind::Conflict => "conflict",
            Kind::Unprocessable => "unprocessable_entity",
            Kind::MethodNotAllowed => "method_not_allowed",
            Kind::RateLimited => "rate_limited",
            Kind::Internal => "internal_error",
        }
    }
}

/// An error as the native API writes it.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `unprocessable_entity` or `internal_error`.
    error: &'static str,
    message: String,
    status: u16,
    /// For bad input: each field and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    issues: Vec<IssueBody>,
}

#[derive(Serialize, ToSchema)]
pub struct IssueBody {
    field: String,
    message: String,
}

impl Dialect for Native {
    fn render(error: &Error) -> Response {
        let kind = error.kind();
        let body = ErrorBody {
            error: Self::code(kind),
            message: error.public_message(),
            status: kind.status().as_u16(),
            issues: error
                .issues()
                .iter()
                .map(|issue| IssueBody {
                    field: issue.field.clone(),
                    message: issue.message.clone(),
                })
                .collect(),
        };
        (kind.status(), Json(body)).into_response()
    }
}

type Result<T> = ApiResult<T, Native>;

/// The routes of a workspace's bearer, under its rate limit.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(current_token))
        .routes(routes!(get_token, revoke_token))
        .routes(routes!(rotate_token))
        .routes(routes!(scope_catalog))
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(get_account, delete_account))
}

/// Verification and the health check: no bearer, no workspace, no rate limit (verification is
/// the platform's hot path; a load balancer asks for health every few seconds).
pub fn verify_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_token))
        .routes(routes!(health))
}

#[derive(Serialize, ToSchema)]
pub struct HealthBody {
    /// Always `ok`.
    status: &'static str,
}

/// Liveness, for load balancers: 200 while the process serves requests. It reads nothing, so
/// it also measures what the HTTP stack alone costs (the floor of `bench/run`).
#[utoipa::path(
    get, path = "/health", tag = "operations",
    responses((status = 200, body = HealthBody))
)]
async fn health() -> Json<HealthBody> {
    Json(HealthBody { status: "ok" })
}

// It borrows from the token's view, which a handler renders before it returns: every
// verification answers with one, and building its eight owned strings took a fifth of the
// verify handler's time.
/// A token as the native API shows it. Never the secret.
#[derive(Serialize, ToSchema)]
pub struct TokenBody<'a> {
    /// `tok_` and 24 lowercase letters and digits.
    id: String,
    name: &'a str,
    #[schema(value_type = Vec<String>)]
    scopes: &'a latchkey_core::Scopes,
    /// `active`, `expired` or `revoked`.
    status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    last_used_at: Option<Timestamp>,
    /// The email of the account that minted it.
    created_by: Option<&'a str>,
    /// The organization (workspace) it belongs to.
    organization: &'a str,
    /// The group it is pinned to, if any.
    group: Option<&'a str>,
    /// The owner's username.
    owner: &'a str,
    /// `read_write` or `read_scaling`.
    token_type: &'static str,
    /// True when the token can change nothing.
    read_only: bool,
    /// True when the token reaches every organization of its owner.
    account_wide: bool,
    /// The secret's prefix and last four characters, to recognise it.
    hint: &'a str,
}

/// A token just minted or rotated, with its secret.
#[derive(Serialize, ToSchema)]
pub struct MintedBody<'a> {
    #[serde(flatten)]
    body: TokenBody<'a>,
    /// The secret. Shown here once: latchkey keeps only its hash.
    token: &'a str,
}

impl<'a> MintedBody<'a> {
    fn new(minted: &'a Minted, now: Timestamp) -> Self {
        Self {
            body: TokenBody::new(&minted.view, now),
            token: minted.secret.expose(),
        }
    }
}

impl<'a> TokenBody<'a> {
    pub fn new(view: &'a TokenView, now: Timestamp) -> Self {
        let token = &view.token;
        Self {
            id: token.id.native(),
            name: token.name.as_str(),
            scopes: &token.scopes,
            status: token.status(now).as_str(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            created_by: view.creator_email.as_ref().map(|email| email.as_str()),
            organization: view.organization.as_str(),
            group: view.group.as_ref().map(|group| group.as_str()),
            owner: view.owner.username.as_str(),
            token_type: token.token_type.as_str(),
            read_only: view.read_only(),
            account_wide: token.reach == latchkey_core::Reach::Account,
            hint: &token.hint,
        }
    }
}

// --- tokens ------------------------------------------------------------------------------------

/// Query of `GET /v1/tokens`. Every parameter is optional.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page number, from 1 (default 1). Not with `cursor`.
    page: Option<String>,
    /// Tokens per page, 1 to 100 (default 25).
    per_page: Option<String>,
    /// Continue a keyset walk where `meta.next_cursor` left off. Not with `page`.
    cursor: Option<String>,
    /// `active`, `expired` or `revoked`; omitted, all.
    status: Option<String>,
    /// A partial, case-insensitive match on the name.
    name: Option<String>,
    /// The organization's slug; by default the bearer token's organization.
    organization: Option<String>,
    /// Only this owner's tokens (a username).
    owner: Option<String>,
    /// Only tokens pinned to this group.
    group: Option<String>,
    /// Only tokens whose scopes include this one.
    scope: Option<String>,
    /// Only tokens expiring before this ISO 8601 datetime.
    expires_before: Option<String>,
    /// Only tokens expiring after this ISO 8601 datetime (tokens that never expire are left out).
    expires_after: Option<String>,
    /// Only tokens last used before this ISO 8601 datetime (never-used tokens are left out).
    last_used_before: Option<String>,
    /// Only tokens last used after this ISO 8601 datetime.
    last_used_after: Option<String>,
    /// `created_at` (default), `name`, `expires_at` or `last_used_at`; `-` in front for descending.
    sort: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ListBody<'a> {
    data: Vec<TokenBody<'a>>,
    meta: Meta,
}

#[derive(Serialize, ToSchema)]
pub struct Meta {
    /// The page number, when pages are numbered.
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<u32>,
    per_page: u32,
    /// How many tokens match, on numbered pages; `null` on a keyset page (`cursor`), where
    /// counting every match would cost more than the page.
    total: Option<u64>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

fn whole_number(field: &str, raw: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32> {
    raw.parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            Error::bad_request(
                field,
                format!(
                    "'{raw}' is not a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
            .into()
        })
}

/// A slug parameter; a bad one is reported under the parameter's own name.
fn slug_param(field: &'static str, raw: Option<&str>) -> Result<Option<Slug>> {
    Ok(raw.map(|raw| Slug::parse_field(field, raw)).transpose()?)
}

fn time_param(field: &'static str, raw: Option<&str>) -> Result<Option<Timestamp>> {
    Ok(raw.map(|raw| Timestamp::parse(field, raw)).transpose()?)
}

impl ListParams {
    fn into_request(self) -> Result<(ListRequest, PageRequest)> {
        let per_page = match &self.per_page {
            Some(raw) => whole_number("per_page", raw, 1..=100)?,
            None => 25,
        };
        let mut sort: Option<TokenSort> = parse_opt(self.sort.as_deref())?;
        let page = match (&self.page, &self.cursor) {
            (Some(_), Some(_)) => {
                return Err(
                    Error::bad_request("cursor", "use either page or cursor, not both").into(),
                );
            }
            (_, Some(raw)) => {
                let cursor = Cursor::decode(raw)?;
                match sort {
                    Some(sort) if sort != cursor.sort => {
                        return Err(Error::bad_request(
                            "sort",
                            "differs from the sort the cursor was made for",
                        )
                        .into());
                    }
                    _ => sort = Some(cursor.sort),
                }
                PageRequest::After {
                    cursor: Some(cursor),
                    limit: per_page,
                }
            }
            (Some(raw), None) => PageRequest::Numbered {
                page: whole_number("page", raw, 1..=u32::MAX)?,
                per_page,
            },
            (None, None) => PageRequest::Numbered { page: 1, per_page },
        };
        let request = ListRequest {
            organization: slug_param("organization", self.organization.as_deref())?,
            owner: slug_param("owner", self.owner.as_deref())?,
            group: slug_param("group", self.group.as_deref())?,
            exclude_account_wide: false,
            status: parse_opt(self.status.as_deref())?,
            name_contains: self.name,
            scope: self.scope,
            expires_before: time_param("expires_before", self.expires_before.as_deref())?,
            expires_after: time_param("expires_after", self.expires_after.as_deref())?,
            last_used_before: time_param("last_used_before", self.last_used_before.as_deref())?,
            last_used_after: time_param("last_used_after", self.last_used_after.as_deref())?,
            sort: sort.unwrap_or_default(),
            page: Some(page.clone()),
        };
        Ok((request, page))
    }
}

/// List tokens of an organization.
///
/// Admins and owners see every token of the organization; members and viewers see their own.
#[utoipa::path(
    get, path = "/v1/tokens", tag = "tokens",
    params(ListParams),
    security(("bearer" = ["tokens:read"])),
    responses(
        (status = 200, body = ListBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
async fn list_tokens(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
    QueryParams(params, ..): QueryParams<Native, ListParams>,
) -> Result<Response> {
    let (request, page) = params.into_request()?;
    let result = state.service.list_tokens(&principal, request).await?;
    let now = state.service.now();
    let (page, per_page) = match page {
        PageRequest::Numbered { page, per_page } => (Some(page), per_page),
        PageRequest::After { limit, .. } => (None, limit),
    };
    Ok(Json(ListBody {
        data: result
            .tokens
            .iter()
            .map(|view| TokenBody::new(view, now))
            .collect(),
        meta: Meta {
            page,
            per_page,
            total: result.total,
            next_cursor: result.next_cursor.as_ref().map(Cursor::encode),
        },
    })
    .into_response())
}

/// Body of `POST /v1/tokens`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// 1 to 100 characters, unique among the owner's live tokens.
    name: String,
    /// At least one scope or preset (`read-only`, `full-access`); `["*"]` for every right of
    /// the owner within the token's reach.
    scopes: Vec<String>,
    /// ISO 8601; omitted, the token never expires.
    expires_at: Option<String>,
    /// The organization's slug; by default the bearer token's organization.
    organization: Option<String>,
    /// Pin the token to this group of the organization (admins and owners only).
    group: Option<String>,
    /// Mint for this service account of the organization (admins), or any account (root).
    owner: Option<String>,
    /// `read_write` (default) or `read_scaling`.
    token_type: Option<String>,
    /// Reach every organization of the owner instead of one (no `organization` nor `group`).
    #[serde(default)]
    account_wide: bool,
}

/// The longest name Tooken's API accepts.
const NATIVE_NAME_MAX: usize = 100;

impl CreateBody {
    /// Checks every field at once, scopes against `catalog` too, so one answer lists every
    /// bad field.
    fn into_request(self, catalog: &ScopeCatalog) -> Result<MintRequest> {
        let name = self.name.parse::<TokenName>().and_then(|name| {
            if name.char_len() > NATIVE_NAME_MAX {
                Err(CoreError::invalid(
                    "name",
                    format!("must be at most {NATIVE_NAME_MAX} characters"),
                ))
            } else {
                Ok(name)
            }
        });
        let scopes = if self.scopes.is_empty() {
            Err(CoreError::invalid(
                "scopes",
                "at least one scope is required",
            ))
        } else {
            catalog.parse(&self.scopes).map(|_| self.scopes)
        };
        let expires_at = self
            .expires_at
            .as_deref()
            .map(|raw| Timestamp::parse("expires_at", raw))
            .transpose();
        let organization = self
            .organization
            .as_deref()
            .map(|s| Slug::parse_field("organization", s))
            .transpose();
        let group = self
            .group
            .as_deref()
            .map(|s| Slug::parse_field("group", s))
            .transpose();
        let owner = self
            .owner
            .as_deref()
            .map(|s| Slug::parse_field("owner", s))
            .transpose();
        let token_type = self
            .token_type
            .as_deref()
            .map(str::parse::<TokenType>)
            .transpose();
        match (
            name,
            scopes,
            expires_at,
            organization,
            group,
            owner,
            token_type,
        ) {
            (
                Ok(name),
                Ok(scopes),
                Ok(expires_at),
                Ok(organization),
                Ok(group),
                Ok(owner),
                Ok(token_type),
            ) => Ok(MintRequest {
                organization,
                group,
                owner,
                account_wide: self.account_wide,
                name,
                scopes,
                token_type: token_type.unwrap_or(TokenType::ReadWrite),
                expires_at,
            }),
            (name, scopes, expires_at, organization, group, owner, token_type) => {
                let errors = [
                    name.err(),
                    scopes.err(),
                    expires_at.err(),
                    organization.err(),
                    group.err(),
                    owner.err(),
                    token_type.err(),
                ];
                Err(CoreError::collect(errors.into_iter().flatten())
                    .expect("one of them failed")
                    .into())
            }
        }
    }
}

/// Mint a token. The secret is in the answer, once.
#[utoipa::path(
    post, path = "/v1/tokens", tag = "tokens",
    request_body = CreateBody,
    security(("bearer" = ["tokens:write"])),
    responses(
        (status = 201, body = MintedBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
async fn create_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
    Body(body, ..): Body<Native, CreateBody>,
) -> Result<Response> {
    let minted = state
        .service
        .mint(&principal, body.into_request(state.service.catalog())?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MintedBody::new(&minted, state.service.now())),
    )
        .into_response())
}

/// A token id from the path; a malformed one is a 400 whose issue names `id`.
fn token_id(raw: &str) -> Result<TokenId> {
    raw.parse::<TokenId>()
        .map_err(|error| Error::bad_request("id", error.to_string()).into())
}

/// Get a token by id (any of its three spellings). Revoked and expired tokens answer too.
#[utoipa::path(
    get, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "tok_…, the 22-character id or the UUID")),
    security(("bearer" = ["tokens:read"])),
    responses(
        (status = 200, body = TokenBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    )
)]
async fn get_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
    PathParams(id, ..): PathParams<Native, String>,
) -> Result<Response> {
    let view = state.service.token(&principal, token_id(&id)?).await?;
    Ok(Json(TokenBody::new(&view, state.service.now())).into_response())
}

/// Revoke a token. The record stays, with status `revoked`; the secret stops working at once.
#[utoipa::path(
    delete, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "tok_…, the 22-character id or the UUID")),
    security(("bearer" = ["tokens:revoke"])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    )
)]
async fn revoke_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
    PathParams(id, ..): PathParams<Native, String>,
) -> Result<StatusCode> {
    state.service.revoke(&principal, token_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a token: a new secret, shown once; id, name and scopes stay; the old secret stops
/// working at once. Only the token's owner may rotate it.
#[utoipa::path(
    post, path = "/v1/tokens/{id}/rotate", tag = "tokens",
    params(("id" = String, Path, description = "tok_…, the 22-character id or the UUID")),
    security(("bearer" = ["tokens:rotate"])),
    responses(
        (status = 200, body = MintedBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    )
)]
async fn rotate_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
    PathParams(id, ..): PathParams<Native, String>,
) -> Result<Response> {
    let minted = state.service.rotate(&principal, token_id(&id)?).await?;
    Ok(Json(MintedBody::new(&minted, state.service.now())).into_response())
}

/// The bearer token itself.
#[utoipa::path(
    get, path = "/v1/tokens/self", tag = "tokens",
    security(("bearer" = [])),
    responses((status = 200, body = TokenBody), (status = 401, body = ErrorBody))
)]
async fn current_token(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
) -> Result<Response> {
    let view = state
        .service
        .store()
        .token(principal.token.id)
        .await?
        .ok_or_else(|| latchkey_core::policy::token_not_found(principal.token.id))?;
    Ok(Json(TokenBody::new(&view, state.service.now())).into_response())
}

/// Body of `POST /v1/tokens/verify`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The secret to check.
    token: String,
    /// Scopes the token must grant; otherwise the answer is `FORBIDDEN`.
    #[serde(default)]
    scopes: Vec<String>,
    /// An organization the token must act in, its owner being a member there.
    organization: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VerifiedBody<'a> {
    valid: bool,
    /// `VALID`, `NOT_FOUND`, `EXPIRED`, `REVOKED`, `FORBIDDEN` or `MALFORMED`.
    #[schema(value_type = String)]
    code: VerifyCode,
    /// The token, when one was found.
    token: Option<TokenBody<'a>>,
    /// The owner's role where the token was checked.
    role: Option<&'static str>,
}

/// Verify a secret: is it valid, whose is it, what may it do? Always 200 with a code.
///
/// Needs no bearer: whoever holds a secret may learn what it is.
#[utoipa::path(
    post, path = "/v1/tokens/verify", tag = "tokens",
    request_body = VerifyBody,
    responses((status = 200, body = VerifiedBody), (status = 400, body = ErrorBody))
)]
async fn verify_token(
    state: axum::extract::State<AppState>,
    Body(body, ..): Body<Native, VerifyBody>,
) -> Result<Response> {
    let organization: Option<Slug> = body
        .organization
        .as_deref()
        .map(|s| Slug::parse_field("organization", s))
        .transpose()?;
    let verification = state
        .service
        .verify(&body.token, &body.scopes, organization.as_ref())
        .await?;
    let now = state.service.now();
    let body = VerifiedBody {
        valid: verification.code == VerifyCode::Valid,
        code: verification.code,
        token: verification.view().map(|view| TokenBody::new(view, now)),
        role: verification.role.map(|role| role.as_str()),
    };
    // Rendered as `Json` renders it, into a buffer sized for an answer with a token: `Json`'s
    // starts at 128 bytes and grew two or three times for each answer (450-550 bytes), a copy
    // each time (BENCHMARKS.md).
    let mut rendered = Vec::with_capacity(VERIFIED_CAPACITY);
    Ok(match serde_json::to_writer(&mut rendered, &body) {
        Ok(()) => (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            rendered,
        )
            .into_response(),
        // It cannot fail; if it did, `Json` would answer as it answers any failure.
        Err(_) => Json(body).into_response(),
    })
}

/// Room for a verification's answer: a token with a long name, an email and a few scopes.
const VERIFIED_CAPACITY: usize = 1024;

/// The scopes this server knows, and its presets.
#[derive(Serialize, ToSchema)]
pub struct CatalogBody {
    scopes: Vec<String>,
    /// Each preset and the scopes it expands to at mint.
    presets: std::collections::BTreeMap<String, Vec<String>>,
}

/// The scope catalog: what `scopes` may hold, and the presets it expands.
#[utoipa::path(
    get, path = "/v1/scopes", tag = "tokens",
    security(("bearer" = [])),
    responses((status = 200, body = CatalogBody), (status = 401, body = ErrorBody))
)]
async fn scope_catalog(
    state: axum::extract::State<AppState>,
    Auth(_principal, ..): Auth<Native>,
) -> Json<CatalogBody> {
    let catalog = state.service.catalog();
    Json(CatalogBody {
        scopes: catalog.scopes().to_vec(),
        presets: catalog.presets().clone(),
    })
}

// --- accounts ----------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct AccountBody {
    id: String,
    username: String,
    email: Option<String>,
    /// `human` or `service`.
    kind: &'static str,
    /// The operator's root account.
    root: bool,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<&Account> for AccountBody {
    fn from(account: &Account) -> Self {
        Self {
            id: account.id.to_string(),
            username: account.username.to_string(),
            email: account.email.as_ref().map(ToString::to_string),
            kind: account.kind.as_str(),
            root: account.is_root,
            created_at: account.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountsBody {
    data: Vec<AccountBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountBody {
    /// Lowercase letters, digits, `-`, `_`, `.`; also the slug of its personal organization.
    username: String,
    email: Option<String>,
    /// `human` (default) or `service`.
    kind: Option<String>,
}

/// Create an account and its personal organization (root only).
#[utoipa::path(
    post, path = "/v1/accounts", tag = "accounts",
    request_body = CreateAccountBody,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AccountBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
    )
)]
async fn create_account(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
    Body(body, ..): Body<Native, CreateAccountBody>,
) -> Result<(StatusCode, Json<AccountBody>)> {
    let username = Slug::parse_field("username", &body.username);
    let email = body.email.as_deref().map(str::parse::<Email>).transpose();
    let kind = body
        .kind
        .as_deref()
        .map(str::parse::<AccountKind>)
        .transpose();
    let (username, email, kind) = match (username, email, kind) {
        (Ok(username), Ok(email), Ok(kind)) => (username, email, kind),
        (username, email, kind) => {
            return Err(CoreError::collect(
                [username.err(), email.err(), kind.err()]
                    .into_iter()
                    .flatten(),
            )
            .expect("one of them failed")
            .into());
        }
    };
    let account = state
        .service
        .create_account(
            &principal,
            username,
            email,
            kind.unwrap_or(AccountKind::Human),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(AccountBody::from(&account))))
}

/// List every account (root only).
#[utoipa::path(
    get, path = "/v1/accounts", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountsBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    )
)]
async fn list_accounts(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
) -> Result<Json<AccountsBody>> {
    let accounts = state.service.accounts(&principal).await?;
    Ok(Json(AccountsBody {
        data: accounts.iter().map(AccountBody::from).collect(),
    }))
}

/// Get an account: one's own, or any (root).
#[utoipa::path(
    get, path = "/v1/accounts/{username}", tag = "accounts",
    params(("username" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    )
)]
async fn get_account(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
    PathParams(username, ..): PathParams<Native, String>,
) -> Result<Json<AccountBody>> {
    let username = Slug::parse_field("username", &username)?;
    let account = state.service.account(&principal, &username).await?;
    Ok(Json(AccountBody::from(&account)))
}

/// Delete an account (root only): its memberships and personal organization go, its tokens are
/// revoked at once.
#[utoipa::path(
    delete, path = "/v1/accounts/{username}", tag = "accounts",
    params(("username" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    )
)]
async fn delete_account(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Native>,
    PathParams(username, ..): PathParams<Native, String>,
) -> Result<StatusCode> {
    let username = Slug::parse_field("username", &username)?;
    state.service.delete_account(&principal, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}
