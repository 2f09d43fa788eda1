//! latchkey's HTTP server: one store, one verification cache, and a router per dialect.

pub mod dialects;
pub mod error;
pub mod ratelimit;
pub mod service;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::{
    Account, AccountId, AccountKind, Clock, CoreError, Email, Reach, ScopeCatalog, Scopes, Secret,
    SecretFormat, Token, TokenId, TokenType,
};
use latchkey_store::{Store, StoreError};
use tracing::Instrument;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::dialects::Dialect;
use crate::dialects::native::Native;
use crate::ratelimit::RateLimiter;
use crate::service::Service;
use crate::verify::{CacheConfig, Verifier};

pub use crate::error::{Error, Result};

/// What every handler reaches.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub limiter: Arc<RateLimiter>,
}

/// Everything a server is built from.
pub struct Settings {
    pub format: SecretFormat,
    pub catalog: ScopeCatalog,
    pub cache: CacheConfig,
    /// How often `last_used_at` stamps are written.
    pub flush_period: Duration,
    /// How often the store's counters of past days are folded (see [`Store::fold_counters`]),
    /// the first time at start.
    pub fold_period: Duration,
    /// Native API requests per minute per workspace; 0 for no limit.
    pub rate_limit_per_minute: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            format: SecretFormat::default(),
            catalog: ScopeCatalog::default(),
            cache: CacheConfig::default(),
            flush_period: Duration::from_secs(1),
            // A day passes once a day; the hour bounds how late a node restarted often folds.
            fold_period: Duration::from_secs(3600),
            rate_limit_per_minute: 1000,
        }
    }
}

/// A built server: its state, and the router over every dialect.
pub struct App {
    pub state: AppState,
    pub router: Router,
    pub openapi: OpenApi,
}

impl App {
    /// Builds the service and the routers, and starts the `last_used_at` flusher and the
    /// folding of the counters.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        let verifier = Arc::new(Verifier::new(
            Arc::clone(&store),
            settings.format,
            settings.cache,
        ));
        verifier.spawn_flusher(settings.flush_period);
        spawn_folding(Arc::clone(&store), Arc::clone(&clock), settings.fold_period);
        let service = Arc::new(Service::new(store, clock, settings.catalog, verifier));
        let limiter = Arc::new(RateLimiter::new(settings.rate_limit_per_minute));
        let state = AppState { service, limiter };
        let (router, openapi) = routes(&state).split_for_parts();
        let openapi = Arc::new(openapi);
        let served = Arc::clone(&openapi);
        let router = router
            .route(
                "/openapi.json",
                axum::routing::get(move || {
                    let doc = Arc::clone(&served);
                    async move { axum::Json(doc.as_ref().clone()) }
                }),
            )
            .fallback(|| async {
                Native::render(&Error::Core(CoreError::not_found("no such route"))).into_response()
            })
            .method_not_allowed_fallback(
                |method: axum::http::Method, uri: axum::http::Uri| async move {
                    let error = Error::MethodNotAllowed {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                    };
                    Native::render(&error).into_response()
                },
            )
            .layer(tower_http::trace::TraceLayer::new_for_http())
            .with_state(state.clone());
        Self {
            state,
            router,
            openapi: openapi.as_ref().clone(),
        }
    }
}

/// Every route of every dialect, with its OpenAPI description.
pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let mut doc = OpenApi::default();
    doc.info = InfoBuilder::new()
        .title("latchkey")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "A self-hosted API token service speaking the native (Tooken-compatible), Turso and \
             MotherDuck token APIs. Security scopes name the token scope each call needs.",
        ))
        .build();
    let mut components = doc.components.take().unwrap_or_default();
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc.components = Some(components);
    OpenApiRouter::with_openapi(doc)
        .merge(
            dialects::native::router()
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    ratelimit::limit,
                ))
                .layer(axum::middleware::from_fn(to_the_end)),
        )
        .merge(dialects::native::verify_router())
        .merge(dialects::admin::router().layer(axum::middleware::from_fn(to_the_end)))
        .merge(dialects::turso::router().layer(axum::middleware::from_fn(to_the_end)))
        .merge(dialects::motherduck::router().layer(axum::middleware::from_fn(to_the_end)))
}

/// Folds the store's counters of past days every `period`, the first time at once, until the
/// process ends.
fn spawn_folding(store: Arc<dyn Store>, clock: Arc<dyn Clock>, period: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = store.fold_counters(clock.now()).await {
                tracing::warn!(%error, "could not fold the token counters of past days");
            }
        }
    });
}

/// Runs a call that may change the store to its end, even when its client hangs up first.
/// Axum drops the handler of a client gone; one dropped after the store committed a change,
/// and before the cache was told, would leave the cache answering as before the change (a
/// revoked token valid) until its entry ages out. Reads run in place, spared the spawn.
async fn to_the_end(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    // In the request's span, so that what the call logs still says which request it was.
    let call = next.run(request).instrument(tracing::Span::current());
    match tokio::spawn(call).await {
        Ok(response) => response,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Only a runtime shutting down cancels the task.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The name of the operator's account, and of its first token.
pub const ROOT: &str = "root";

/// On a store with no root yet, creates the root account and an unscoped account-wide token
/// for it, and returns that token's secret: the one time it is shown. `secret`, when given,
/// becomes the root token (for automation); otherwise one is generated. `email` is the
/// operator's, shown as `created_by` on the tokens root mints.
pub async fn bootstrap(
    store: &dyn Store,
    clock: &dyn Clock,
    format: &SecretFormat,
    secret: Option<Secret>,
    email: Option<Email>,
) -> Result<Option<Secret>> {
    if store.root_account().await?.is_some() {
        return Ok(None);
    }
    let now = clock.now();
    let account = Account {
        id: AccountId::new(),
        username: ROOT.parse().map_err(Error::Core)?,
        email,
        kind: AccountKind::Human,
        is_root: true,
        created_at: now,
    };
    let personal = match store.create_account(&account, None).await {
        Ok(org) => org,
        // Another node bootstrapped at the same moment.
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let secret = secret.unwrap_or_else(|| Secret::generate(format));
    let token = Token {
        id: TokenId::new(),
        owner: account.id,
        created_by: account.id,
        org: personal.id,
        reach: Reach::Account,
        name: ROOT.parse().map_err(Error::Core)?,
        scopes: Scopes::default(),
        token_type: TokenType::ReadWrite,
        hint: secret.hint(),
        created_at: now,
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    store.insert_token(&token, secret.hash()).await?;
    tracing::info!("created the root account and its first token");
    Ok(Some(secret))
}
