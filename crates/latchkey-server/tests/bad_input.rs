//! Every bad input gets a 4xx in its dialect's error shape, with a message that says what to fix;
//! none gets a 500 (the harness fails any 500).

mod common;

use common::{Reply, TestServer, assert_no_failures, random_secret};
use latchkey_core::TokenId;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

/// Who calls.
#[derive(Clone, Copy, Debug)]
enum Bearer {
    /// Alice's account-wide token.
    Alice,
    None,
    /// This `Authorization` header, as is.
    Header(&'static str),
    /// A well-formed secret no token has.
    Unknown,
}

/// What the request carries.
#[derive(Clone, Copy, Debug)]
enum Body {
    Empty,
    Json(&'static str),
    /// Sent as is, with a JSON content type.
    Raw(&'static str),
}

use Bearer::{Alice, Header, Unknown};
use Body::{Empty, Json, Raw};

/// (method, path, bearer, body) → (status, the field an issue names, words of the message).
/// `{unknown}` is an id no token has; `{cursor}` a cursor made for `sort=name`.
type Case = (
    &'static str,
    &'static str,
    Bearer,
    Body,
    u16,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
const NATIVE: &[Case] = &[
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["tokens:read", "nope"]}"#), 400, "scopes",     "unknown scope 'nope'"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*", "read"]}"#),            400, "scopes",     "must stand alone"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": []}"#),                       400, "scopes",     "at least one scope"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"scopes": ["*"]}"#),                                 400, "body",       "missing field `name`"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x"}"#),                                     400, "body",       "missing field `scopes`"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "", "scopes": ["*"]}"#),                     400, "name",       "must not be empty"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "a\nb", "scopes": ["*"]}"#),                 400, "name",       "control characters"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "scopes": ["*"]}"#), 400, "name", "at most 100 characters"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": "tokens:read"}"#),            400, "body",       "invalid type"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*"], "colour": "red"}"#),   400, "body",       "unknown field `colour`"),
    ("POST",   "/v1/tokens",                            Alice,        Raw("name=x&scopes=*"),                                       400, "body",       "not valid JSON"),
    ("POST",   "/v1/tokens",                            Alice,        Empty,                                                        400, "body",       "invalid type: null"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*"], "expires_at": "tomorrow"}"#), 422, "expires_at", "not an ISO 8601 datetime"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*"], "expires_at": "2001-01-01T00:00:00Z"}"#), 400, "expires_at", "must be in the future"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*"], "token_type": "fast"}"#), 400, "token_type", "expected read_write or read_scaling"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*"], "organization": "Acme Inc"}"#), 400, "organization", "lowercase letters"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "", "scopes": ["nope"], "token_type": "fast"}"#), 400, "name", "must not be empty"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*"], "organization": "nowhere"}"#), 404, "", "organization 'nowhere' not found"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["read"], "organization": "acme", "group": "nope"}"#), 404, "", "no group named 'nope'"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*"], "organization": "acme", "group": "g1"}"#), 400, "scopes", "a group token needs at least one scope"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "x", "scopes": ["*"], "account_wide": true, "organization": "acme"}"#), 400, "organization", "names no organization"),
    ("POST",   "/v1/tokens",                            Alice,        Json(r#"{"name": "first", "scopes": ["*"]}"#),                409, "",           "first"),
    ("GET",    "/v1/tokens?per_page=0",                 Alice,        Empty,                                                        400, "per_page",   "from 1 to 100"),
    ("GET",    "/v1/tokens?per_page=101",               Alice,        Empty,                                                        400, "per_page",   "from 1 to 100"),
    ("GET",    "/v1/tokens?page=0",                     Alice,        Empty,                                                        400, "page",       "'0' is not a whole number"),
    ("GET",    "/v1/tokens?page=abc",                   Alice,        Empty,                                                        400, "page",       "'abc' is not a whole number"),
    ("GET",    "/v1/tokens?colour=red",                 Alice,        Empty,                                                        400, "query",      "unknown field `colour`"),
    ("GET",    "/v1/tokens?page=1&cursor={cursor}",     Alice,        Empty,                                                        400, "cursor",     "either page or cursor"),
    ("GET",    "/v1/tokens?cursor=garbage",             Alice,        Empty,                                                        400, "cursor",     "not a cursor this server handed out"),
    ("GET",    "/v1/tokens?cursor={cursor}&sort=created_at", Alice,   Empty,                                                        400, "sort",       "differs from the sort the cursor was made for"),
    ("GET",    "/v1/tokens?status=lost",                Alice,        Empty,                                                        400, "status",     "expected active, expired or revoked"),
    ("GET",    "/v1/tokens?sort=colour",                Alice,        Empty,                                                        400, "sort",       "expected created_at, name"),
    ("GET",    "/v1/tokens?expires_before=yesterday",   Alice,        Empty,                                                        422, "expires_before", "not an ISO 8601 datetime"),
    ("GET",    "/v1/tokens?last_used_after=2026-13-01", Alice,        Empty,                                                        422, "last_used_after", "not an ISO 8601 datetime"),
    ("GET",    "/v1/tokens?owner=Bob!",                 Alice,        Empty,                                                        400, "owner",      "lowercase letters"),
    ("GET",    "/v1/tokens?organization=Acme",          Alice,        Empty,                                                        400, "organization", "lowercase letters"),
    ("GET",    "/v1/tokens?group=-blue",                Alice,        Empty,                                                        400, "group",      "start with a letter or digit"),
    ("GET",    "/v1/tokens?organization=acme&group=nope", Alice,      Empty,                                                        404, "",           "no group named 'nope'"),
    ("GET",    "/v1/tokens?owner=Nobody",               Alice,        Empty,                                                        400, "owner",      "lowercase letters"),
    ("GET",    "/v1/tokens?organization=nowhere",       Alice,        Empty,                                                        404, "",           "organization 'nowhere' not found"),
    ("GET",    "/v1/tokens/nope",                       Alice,        Empty,                                                        400, "id",         "'nope' is not a token id"),
    ("GET",    "/v1/tokens/tok_ABCDEFGHIJKLMNOPQRSTUVWX",  Alice,     Empty,                                                        400, "id",         "is not a token id"),
    ("DELETE", "/v1/tokens/00000000-0000-4000-8000-000000000000", Alice, Empty,                                                     400, "id",         "is not a token id"),
    ("GET",    "/v1/tokens/{unknown}",                  Alice,        Empty,                                                        404, "",           "no token with id"),
    ("DELETE", "/v1/tokens/{unknown}",                  Alice,        Empty,                                                        404, "",           "no token with id"),
    ("POST",   "/v1/tokens/{unknown}/rotate",           Alice,        Empty,                                                        404, "",           "no token with id"),
    ("GET",    "/v1/tokens",                            Bearer::None, Empty,                                                        401, "",           "Missing bearer token"),
    ("GET",    "/v1/tokens",                            Header("Basic YWxpY2U6c2VjcmV0"), Empty,                                    401, "",           "Missing bearer token"),
    ("GET",    "/v1/tokens",                            Header("Bearer tok_live_xxxxxxxxxxxxxxxxxxxx"), Empty,                      401, "",           "Malformed token"),
    ("GET",    "/v1/tokens",                            Header("Bearer"),   Empty,                                                  401, "",           "Missing bearer token"),
    ("GET",    "/v1/tokens",                            Header("Bearer lk_live_000000000000000000000000000000000000"), Empty,       401, "",           "Malformed token"),
    ("GET",    "/v1/tokens",                            Unknown,      Empty,                                                        401, "",           "Invalid token"),
    ("POST",   "/v1/tokens/verify",                     Bearer::None, Json(r#"{"secret": "x"}"#),                                   400, "body",       "unknown field `secret`"),
    ("POST",   "/v1/tokens/verify",                     Bearer::None, Json(r#"{"token": "x", "scopes": ["nope"]}"#),                400, "scopes",     "unknown scope 'nope'"),
    ("POST",   "/v1/tokens/verify",                     Bearer::None, Raw("{"),                                                     400, "body",       "not valid JSON"),
    ("POST",   "/v1/accounts",                          Bearer::None, Json(r#"{"username": "bob"}"#),                               401, "",           "Missing bearer token"),
    ("POST",   "/v1/accounts",                          Alice,        Json(r#"{"username": "bob"}"#),                               403, "",           "only the operator's root token"),
    ("GET",    "/v1/accounts/Alice",                    Alice,        Empty,                                                        400, "username",   "lowercase letters"),
    ("GET",    "/v1/nothing-here",                      Alice,        Empty,                                                        404, "",           "no such route"),
    ("PUT",    "/v1/tokens",                            Alice,        Empty,                                                        405, "",           "PUT is not allowed on /v1/tokens"),
    ("PATCH",  "/v1/tokens/{unknown}",                  Alice,        Empty,                                                        405, "",           "the Allow header"),
    ("PUT",    "/v1/organizations/acme",                Alice,        Empty,                                                        405, "",           "PUT is not allowed"),
];

/// Administration routes: Turso's shape, `{"error": "<message>"}` and nothing else.
#[rustfmt::skip]
const ADMIN: &[Case] = &[
    ("GET",    "/v1/organizations",                            Bearer::None, Empty,                                          401, "", "Missing bearer token"),
    ("GET",    "/v1/organizations",                            Header("Bearer nope"), Empty,                                 401, "", "Malformed token"),
    ("GET",    "/v1/organizations",                            Unknown,      Empty,                                          401, "", "Invalid token"),
    ("POST",   "/v1/organizations",                            Alice,        Json(r#"{"slug": "Acme Inc"}"#),                400, "", "lowercase letters"),
    ("POST",   "/v1/organizations",                            Alice,        Json(r#"{"slug": "acme"}"#),                    409, "", "acme"),
    ("POST",   "/v1/organizations",                            Alice,        Json(r#"{"slug": "x", "plan": "pro"}"#),        400, "", "unknown field `plan`"),
    ("POST",   "/v1/organizations",                            Alice,        Raw("slug=x"),                                  400, "", "not valid JSON"),
    ("POST",   "/v1/organizations",                            Alice,        Empty,                                          400, "", "invalid type: null"),
    ("GET",    "/v1/organizations/nowhere",                    Alice,        Empty,                                          404, "", "organization 'nowhere' not found"),
    ("GET",    "/v1/organizations/No%20Where",                 Alice,        Empty,                                          400, "", "lowercase letters"),
    ("PATCH",  "/v1/organizations/acme",                       Alice,        Json(r#"{}"#),                                  400, "", "give a new name"),
    ("PATCH",  "/v1/organizations/acme",                       Alice,        Json(r#"{"overages": true}"#),                  400, "", "no billing"),
    ("PATCH",  "/v1/organizations/acme",                       Alice,        Json(r#"{"name": "   "}"#),                  400, "", "1 to 255 characters"),
    ("DELETE", "/v1/organizations/alice",                      Alice,        Empty,                                          403, "", "personal organization"),
    ("POST",   "/v1/organizations/acme/members",               Alice,        Json(r#"{"role": "admin"}"#),                   400, "", "name the account to add"),
    ("POST",   "/v1/organizations/acme/members",               Alice,        Json(r#"{"username": "bob", "role": "owner"}"#), 400, "", "'owner' cannot be given"),
    ("POST",   "/v1/organizations/acme/members",               Alice,        Json(r#"{"username": "bob", "role": "boss"}"#), 400, "", "admin, member or viewer"),
    ("POST",   "/v1/organizations/acme/members",               Alice,        Json(r#"{"username": "nobody"}"#),              404, "", "no account named 'nobody'"),
    ("POST",   "/v1/organizations/acme/members",               Alice,        Json(r#"{"username": "bob"}"#),                 409, "", "already a member"),
    ("POST",   "/v1/organizations/alice/members",              Alice,        Json(r#"{"username": "carol"}"#),               403, "", "personal organization"),
    ("PATCH",  "/v1/organizations/acme/members/bob",           Alice,        Json(r#"{"role": "boss"}"#),                    400, "role", "not a role"),
    ("PATCH",  "/v1/organizations/acme/members/bob",           Alice,        Json(r#"{}"#),                                  400, "", "missing field `role`"),
    ("PATCH",  "/v1/organizations/acme/members/carol",         Alice,        Json(r#"{"role": "admin"}"#),                   404, "", "'carol' is not a member"),
    ("DELETE", "/v1/organizations/acme/members/carol",         Alice,        Empty,                                          404, "", "'carol' is not a member"),
    ("DELETE", "/v1/organizations/acme/members/alice",         Alice,        Empty,                                          409, "", "owner"),
    ("POST",   "/v1/organizations/acme/groups",                Alice,        Json(r#"{"name": "Blue Team"}"#),               400, "", "lowercase letters"),
    ("POST",   "/v1/organizations/acme/groups",                Alice,        Json(r#"{"name": "g1"}"#),                      409, "", "g1"),
    ("POST",   "/v1/organizations/acme/groups",                Alice,        Json(r#"{"name": "g2", "size": 3}"#),           400, "", "unknown field `size`"),
    ("GET",    "/v1/organizations/acme/groups/nope",           Alice,        Empty,                                          404, "", "no group named 'nope'"),
    ("DELETE", "/v1/organizations/acme/groups/nope",           Alice,        Empty,                                          404, "", "no group named 'nope'"),
];

/// Alice owns `acme` (with bob as a member and a group `g1`) and has a token named `first`;
/// carol exists but belongs to no team. Returns alice's token.
async fn fixture(server: &TestServer) -> String {
    let team = server.team("acme", "alice", &[("bob", "member")]).await;
    server.account("carol").await;
    server.create_group(&team[0], "acme", "g1").await;
    server.mint_named(&team[0], "first").await;
    team[0].clone()
}

async fn send(server: &TestServer, alice: &str, cursor: &str, case: &Case) -> Reply {
    let (method, path, bearer, body, ..) = *case;
    let path = path
        .replace("{unknown}", &TokenId::new().native())
        .replace("{cursor}", cursor);
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = server.request(method, &path);
    request = match bearer {
        Alice => request.bearer_auth(alice),
        Bearer::None => request,
        Header(value) => request.header(AUTHORIZATION, value),
        Unknown => request.bearer_auth(random_secret()),
    };
    request = match body {
        Empty => request,
        Json(text) | Raw(text) => request.header(CONTENT_TYPE, "application/json").body(text),
    };
    server.send(request, &format!("{case:?}")).await
}

/// The native error shape: `error` names the status, `status` repeats it, and a 400 or 422
/// lists its issues.
fn check_native(reply: &Reply, case: &Case) -> Result<(), String> {
    let (.., status, field, says) = *case;
    let body = &reply.body;
    let code = match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        422 => "unprocessable_entity",
        _ => "?",
    };
    let keys: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let shaped = body["error"] == code
        && body["status"] == json!(status)
        && keys
            .iter()
            .all(|k| ["error", "message", "status", "issues"].contains(k));
    let issues = body["issues"].as_array().cloned().unwrap_or_default();
    let names_field = field.is_empty()
        || issues
            .iter()
            .any(|issue| issue["field"] == field && issue["message"].is_string());
    let issues_as_expected = if matches!(status, 400 | 422) {
        !issues.is_empty() && names_field
    } else {
        issues.is_empty()
    };
    if reply.status.as_u16() == status
        && shaped
        && issues_as_expected
        && reply.message().contains(says)
    {
        Ok(())
    } else {
        Err(format!(
            "{case:?}\n    got {} {body}",
            reply.status.as_u16()
        ))
    }
}

fn check_turso(reply: &Reply, case: &Case) -> Result<(), String> {
    let (.., status, _, says) = *case;
    let shaped = reply.body.as_object().is_some_and(|o| o.len() == 1)
        && reply.body["error"]
            .as_str()
            .is_some_and(|m| m.contains(says));
    if reply.status.as_u16() == status && shaped {
        Ok(())
    } else {
        Err(format!(
            "{case:?}\n    got {} {}",
            reply.status.as_u16(),
            reply.body
        ))
    }
}

async fn run(cases: &[Case], check: fn(&Reply, &Case) -> Result<(), String>) {
    let server = TestServer::start().await;
    let alice = fixture(&server).await;
    let page = server
        .get("/v1/tokens?per_page=1&sort=name", &alice)
        .await
        .expect(200);
    let cursor = page["meta"]["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let mut failures = Vec::new();
    for case in cases {
        let reply = send(&server, &alice, &cursor, case).await;
        failures.extend(check(&reply, case).err());
    }
    assert_no_failures(failures);
}

#[tokio::test]
async fn the_native_api_says_what_is_wrong() {
    run(NATIVE, check_native).await;
}

#[tokio::test]
async fn the_administration_routes_answer_in_tursos_shape() {
    run(ADMIN, check_turso).await;
}

#[tokio::test]
async fn every_bad_field_is_reported_at_once() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let body =
        json!({"name": "", "scopes": ["nope", "zap"], "token_type": "fast", "expires_at": "soon"});
    let reply = server.post("/v1/tokens", &alice, body).await;
    assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
    let fields: Vec<&Value> = reply.body["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|issue| &issue["field"])
        .collect();
    let expected = ["name", "scopes", "scopes", "expires_at", "token_type"].map(|f| json!(f));
    assert_eq!(fields, expected.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn a_secret_sent_by_mistake_is_never_echoed() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let body = json!({"name": "x", "scopes": [alice.clone()]});
    let reply = server.post("/v1/tokens", &alice, body).await;
    assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
    assert!(!reply.body.to_string().contains(&alice), "{reply:?}");
    assert!(reply.message().contains("[redacted]"), "{reply:?}");
}

#[tokio::test]
async fn verify_answers_a_malformed_or_unknown_secret_with_a_code() {
    let server = TestServer::start().await;
    for (secret, code) in [
        ("nope".to_owned(), "MALFORMED"),
        (random_secret(), "NOT_FOUND"),
    ] {
        let body = server.verify(&secret).await;
        assert_eq!(body["code"], code);
        assert_eq!(body["valid"], false);
        assert_eq!(body["token"], Value::Null);
    }
}
