//! Tooken's rate limit: so many requests per minute per workspace (organization), reported in
//! `X-RateLimit-*` headers, 429 beyond. Counted per node, in fixed one-minute windows.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use latchkey_core::OrgId;

use crate::AppState;
use crate::dialects::bearer;

const WINDOW: i64 = 60;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<OrgId, (i64, u32)>>,
}

/// Where a workspace stands in the current window.
struct Quota {
    limit: u32,
    remaining: u32,
    reset: i64,
    allowed: bool,
}

impl RateLimiter {
    /// `per_minute` of 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, org: OrgId, now: i64) -> Quota {
        let window = now.div_euclid(WINDOW);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        // Forget workspaces idle since an earlier window, so the map stays small.
        if windows.len() > 10_000 {
            windows.retain(|_, (w, _)| *w == window);
        }
        let entry = windows.entry(org).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let allowed = entry.1 < self.per_minute;
        if allowed {
            entry.1 += 1;
        }
        Quota {
            limit: self.per_minute,
            remaining: self.per_minute - entry.1,
            reset: (window + 1) * WINDOW,
            allowed,
        }
    }
}

/// Counts the request against its bearer's workspace. Requests without a valid bearer are not
/// counted here: they fail authentication in the handler.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = &state.limiter;
    if limiter.per_minute == 0 {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let org = match state.service.authenticate(bearer(&parts)).await {
        Ok(principal) => {
            let org = principal.token.org;
            // The handler's `Auth` takes it from here instead of authenticating again.
            parts.extensions.insert(principal);
            Some(org)
        }
        Err(_) => None,
    };
    let request = Request::from_parts(parts, body);
    let Some(org) = org else {
        return next.run(request).await;
    };
    let quota = limiter.take(org, state.service.now().unix());
    let mut response = if quota.allowed {
        next.run(request).await
    } else {
        let error = crate::Error::RateLimited {
            per_minute: quota.limit,
        };
        <crate::dialects::native::Native as crate::dialects::Dialect>::render(&error)
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", i64::from(quota.limit)),
        ("x-ratelimit-remaining", i64::from(quota.remaining)),
        ("x-ratelimit-reset", quota.reset),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_per_workspace() {
        let limiter = RateLimiter::new(2);
        let (a, b) = (OrgId::new(), OrgId::new());
        assert!(limiter.take(a, 120).allowed);
        let second = limiter.take(a, 130);
        assert!(second.allowed && second.remaining == 0 && second.reset == 180);
        assert!(!limiter.take(a, 179).allowed);
        assert!(limiter.take(b, 179).allowed);
        assert!(limiter.take(a, 180).allowed);
    }
}
