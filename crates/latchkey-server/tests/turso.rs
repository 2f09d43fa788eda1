//! Turso's Platform API token calls, rule by rule: user tokens, the mint rules, organization
//! tokens, group tokens, and errors in Turso's shape.

mod common;

use common::{TestServer, keys, random_secret};
use latchkey_core::TokenId;
use reqwest::Method;
use serde_json::{Value, json};

/// The people of acme, each with an unrestricted account-wide token.
struct Acme {
    server: TestServer,
    /// Owner.
    alice: String,
    /// Admin.
    adam: String,
    /// Member.
    bob: String,
    /// Viewer.
    vic: String,
}

/// acme with alice (owner), adam (admin), bob (member) and vic (viewer), and groups `blue`
/// and `red`.
async fn acme() -> Acme {
    let server = TestServer::start().await;
    let team = server
        .team(
            "acme",
            "alice",
            &[("adam", "admin"), ("bob", "member"), ("vic", "viewer")],
        )
        .await;
    for group in ["blue", "red"] {
        server.create_group(&team[0], "acme", group).await;
    }
    let [alice, adam, bob, vic] = [0, 1, 2, 3].map(|i| team[i].clone());
    Acme {
        server,
        alice,
        adam,
        bob,
        vic,
    }
}

/// A mint body restricted to acme.
fn in_acme() -> Option<Value> {
    Some(json!({"organization": "acme"}))
}

/// A mint body restricted to `group` of acme, with these scopes.
fn in_group(group: &str, scopes: &[&str]) -> Option<Value> {
    Some(json!({"organization": "acme", "group": group, "scopes": scopes}))
}

/// `GET /v1/auth/api-tokens`: the bearer's tokens.
async fn user_tokens(server: &TestServer, bearer: &str) -> Vec<Value> {
    let body = server.get("/v1/auth/api-tokens", bearer).await.expect(200);
    assert_eq!(keys(&body), ["tokens"], "{body}");
    body["tokens"].as_array().expect("tokens").clone()
}

/// `GET /v1/organizations/{org}/api-tokens`.
async fn org_tokens(server: &TestServer, bearer: &str, org: &str) -> Vec<Value> {
    let path = format!("/v1/organizations/{org}/api-tokens");
    let body = server.get(&path, bearer).await.expect(200);
    body["tokens"].as_array().expect("tokens").clone()
}

/// `DELETE /v1/organizations/{org}/api-tokens/{id}`.
async fn org_revoke(server: &TestServer, bearer: &str, org: &str, id: &str) -> common::Reply {
    let path = format!("/v1/organizations/{org}/api-tokens/{id}");
    server.delete(&path, bearer).await
}

/// Whether `GET /v1/auth/validate` accepts the secret: 200, or 401 in Turso's shape.
async fn validates(server: &TestServer, secret: &str) -> bool {
    let reply = server.get("/v1/auth/validate", secret).await;
    if reply.status.is_success() {
        return true;
    }
    reply.turso_error(401);
    false
}

/// The names of listed tokens, sorted.
fn names(tokens: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = tokens
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    names
}

#[track_caller]
fn named<'a>(tokens: &'a [Value], name: &str) -> &'a Value {
    tokens
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no token named {name} in {tokens:?}"))
}

fn is_turso_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The other spellings of a Turso id: (native, canonical uuid).
fn spellings(turso_id: &str) -> (String, String) {
    let id: TokenId = turso_id.parse().expect("a token id");
    assert_eq!(id.turso(), turso_id);
    (id.native(), id.canonical())
}

// --- 1. user tokens ------------------------------------------------------------------------

#[tokio::test]
async fn the_user_list_shows_each_live_token_across_organizations_and_never_a_secret() {
    let a = acme().await;
    let server = &a.server;
    server.organization(&a.alice, "beta").await;
    let (wide, wide_id) = server.turso_minted(&a.alice, "wide", None).await;
    let (org, _) = server.turso_minted(&a.alice, "org", in_acme()).await;
    let beta = Some(json!({"organization": "beta"}));
    let (in_beta, _) = server.turso_minted(&a.alice, "beta", beta).await;
    let scopes = ["read", "db:create"];
    let (grouped, _) = server
        .turso_minted(&a.alice, "grouped", in_group("blue", &scopes))
        .await;
    server.turso_minted(&a.bob, "bob's", in_acme()).await;
    let (_, gone) = server.turso_minted(&a.alice, "gone", None).await;
    server.revoke(&a.alice, &gone).await;
    // Minted natively with no organization: restricted to her personal one.
    let expiring = json!({"name": "short", "scopes": ["*"], "expires_at": server.in_seconds(60)});
    server.mint(&a.alice, expiring).await;

    let tokens = user_tokens(server, &a.alice).await;
    let listed = ["account", "beta", "grouped", "org", "short", "wide"];
    assert_eq!(names(&tokens), listed);
    let text = Value::from(tokens.clone()).to_string();
    for secret in [&wide, &org, &in_beta, &grouped, &a.alice] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is listed: {text}"
        );
    }
    let today = server.now().date();
    for token in &tokens {
        assert!(is_turso_id(token["id"].as_str().expect("id")), "{token}");
        assert_eq!(token["created_at"], today, "{token}");
    }
    assert_eq!(named(&tokens, "wide")["id"], wide_id);
    for name in ["account", "wide"] {
        let token = named(&tokens, name);
        assert_eq!(keys(token), ["created_at", "id", "name"], "{token}");
    }
    let with_organization = ["created_at", "id", "name", "organization"];
    for (name, organization) in [("org", "acme"), ("beta", "beta"), ("short", "alice")] {
        let token = named(&tokens, name);
        assert_eq!(keys(token), with_organization, "{token}");
        assert_eq!(token["organization"], organization);
    }
    let token = named(&tokens, "grouped");
    let with_group = [
        "created_at",
        "group",
        "id",
        "name",
        "organization",
        "scopes",
    ];
    assert_eq!(keys(token), with_group, "{token}");
    assert_eq!(
        (&token["organization"], &token["group"]),
        (&json!("acme"), &json!("blue"))
    );
    let mut listed_scopes: Vec<&str> = token["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s.as_str().expect("a scope"))
        .collect();
    listed_scopes.sort_unstable();
    assert_eq!(listed_scopes, ["db:create", "read"]);

    // Only live tokens: an expired one leaves the list.
    server.clock.advance(60);
    let tokens = user_tokens(server, &a.alice).await;
    assert!(!names(&tokens).contains(&"short"), "{tokens:?}");
}

#[tokio::test]
async fn a_mint_answers_name_id_and_secret_in_each_version() {
    let a = acme().await;
    let server = &a.server;
    let v1 = server.turso_mint(&a.bob, "v1", None).await.expect(200);
    assert_eq!(keys(&v1), ["id", "name", "token"]);
    assert_eq!(v1["name"], "v1");
    let v1_id = v1["id"].as_str().expect("id");
    assert!(is_turso_id(v1_id), "{v1}");
    let v1_secret = v1["token"].as_str().expect("secret");
    assert_eq!(server.verify_code(v1_secret).await, "VALID");
    let record = server.token(&a.bob, v1_id).await;
    assert_eq!(
        (&record["account_wide"], &record["owner"]),
        (&json!(true), &json!("bob")),
        "no body: an unrestricted token"
    );
    let empty = server
        .turso_mint(&a.bob, "empty", Some(json!({})))
        .await
        .expect(200);
    let record = server
        .token(&a.bob, empty["id"].as_str().expect("id"))
        .await;
    assert_eq!(
        record["account_wide"], true,
        "an empty body: unrestricted too"
    );

    let path = "/v2/auth/api-tokens/v2";
    let v2 = server.call(Method::POST, path, Some(&a.bob), in_acme());
    let v2 = v2.await.expect(200);
    assert_eq!(keys(&v2), ["token"]);
    let inner = &v2["token"];
    assert_eq!(keys(inner), ["id", "name", "value"]);
    assert_eq!(inner["name"], "v2");
    let v2_id = inner["id"].as_str().expect("id");
    assert!(is_turso_id(v2_id), "{v2}");
    let v2_secret = inner["value"].as_str().expect("secret");
    assert_eq!(server.verify_code(v2_secret).await, "VALID");
    let record = server.token(&a.bob, v2_id).await;
    assert_eq!(
        (&record["account_wide"], &record["organization"]),
        (&json!(false), &json!("acme"))
    );
}

#[tokio::test]
async fn revoking_by_name_answers_the_name_and_stops_the_secret_at_once() {
    let a = acme().await;
    let server = &a.server;
    let (secret, _) = server.turso_minted(&a.bob, "ci", in_acme()).await;
    server.turso_minted(&a.alice, "ci", in_acme()).await;
    assert!(validates(server, &secret).await);

    let revoked = server.delete("/v1/auth/api-tokens/ci", &a.bob).await;
    assert_eq!(revoked.expect(200), json!({"token": "ci"}));
    assert!(!validates(server, &secret).await);
    assert_eq!(server.verify_code(&secret).await, "REVOKED");
    assert!(!names(&user_tokens(server, &a.bob).await).contains(&"ci"));
    let again = server.delete("/v1/auth/api-tokens/ci", &a.bob).await;
    assert!(again.turso_error(404).contains("ci"));
    // The name is free again; alice's token of the same name was never touched.
    server.turso_minted(&a.bob, "ci", in_acme()).await;
    assert!(names(&user_tokens(server, &a.alice).await).contains(&"ci"));
}

#[tokio::test]
async fn validate_answers_the_bearers_expiry_on_both_paths() {
    let a = acme().await;
    let server = &a.server;
    let (never, _) = server.turso_minted(&a.bob, "never", None).await;
    let in_an_hour = server.now().plus_seconds(3600);
    let body = json!({"name": "hour", "scopes": ["*"], "expires_at": in_an_hour.rfc3339()});
    let (hour, _) = server.mint(&a.bob, body).await;
    for path in ["/v1/auth/validate", "/v1/auth/api-tokens/validate"] {
        assert_eq!(
            server.get(path, &never).await.expect(200),
            json!({"exp": -1})
        );
        let exp = json!({"exp": in_an_hour.unix()});
        assert_eq!(server.get(path, &hour).await.expect(200), exp);
    }
    server.clock.advance(3600);
    for path in ["/v1/auth/validate", "/v1/auth/api-tokens/validate"] {
        let message = server.get(path, &hour).await.turso_error(401);
        assert!(message.contains("expired"), "{message}");
        server.get(path, &never).await.expect(200);
    }
}

// --- 2. mint rules -------------------------------------------------------------------------

#[tokio::test]
async fn a_group_token_needs_its_organization_scopes_and_an_admin() {
    let a = acme().await;
    let server = &a.server;
    let refused = [
        (
            json!({"group": "blue", "scopes": ["read"]}),
            "needs its organization",
        ),
        (
            json!({"organization": "acme", "group": "blue"}),
            "at least one scope",
        ),
        (
            json!({"organization": "acme", "group": "blue", "scopes": []}),
            "at least one scope",
        ),
        (
            json!({"organization": "acme", "scopes": ["read"]}),
            "group tokens only",
        ),
        (json!({"scopes": ["read"]}), "group tokens only"),
    ];
    for (body, says) in refused {
        let message = server
            .turso_mint(&a.alice, "x", Some(body))
            .await
            .turso_error(400);
        assert!(message.contains(says), "{message}");
    }
    let by_member = server
        .turso_mint(&a.bob, "x", in_group("blue", &["read"]))
        .await;
    assert!(by_member.turso_error(403).contains("admins and owners"));
    let by_viewer = server
        .turso_mint(&a.vic, "x", in_group("blue", &["read"]))
        .await;
    assert!(
        by_viewer
            .turso_error(403)
            .contains("viewer role may not mint")
    );
    for (admin, name) in [(&a.alice, "alice's"), (&a.adam, "adam's")] {
        let (secret, _) = server
            .turso_minted(admin, name, in_group("blue", &["read"]))
            .await;
        assert_eq!(server.verify_code(&secret).await, "VALID");
    }
}

#[tokio::test]
async fn presets_are_expanded_and_unknown_scopes_refused() {
    let a = acme().await;
    let server = &a.server;
    server
        .turso_minted(&a.alice, "ro", in_group("blue", &["read-only"]))
        .await;
    server
        .turso_minted(&a.alice, "full", in_group("blue", &["full-access"]))
        .await;
    let tokens = user_tokens(server, &a.alice).await;
    assert_eq!(named(&tokens, "ro")["scopes"], json!(["read"]));
    let full = named(&tokens, "full")["scopes"]
        .as_array()
        .expect("scopes")
        .clone();
    assert_eq!(full.len(), 9, "{full:?}");
    for scope in ["read", "db:create", "db:delete", "group:rotate-creds"] {
        assert!(full.contains(&json!(scope)), "{full:?}");
    }
    let text = Value::from(tokens).to_string();
    assert!(
        !text.contains("read-only") && !text.contains("full-access"),
        "{text}"
    );

    let unknown = in_group("blue", &["read", "db:explode"]);
    let message = server
        .turso_mint(&a.alice, "x", unknown)
        .await
        .turso_error(400);
    assert!(message.contains("db:explode"), "{message}");
}

#[tokio::test]
async fn an_unknown_organization_or_group_or_a_live_name_is_refused() {
    let a = acme().await;
    let server = &a.server;
    server.team("other", "otto", &[]).await;
    let nowhere = Some(json!({"organization": "nowhere"}));
    let message = server
        .turso_mint(&a.alice, "x", nowhere)
        .await
        .turso_error(404);
    assert!(message.contains("nowhere"), "{message}");
    // An organization one is no member of is as good as missing.
    let other = Some(json!({"organization": "other"}));
    server
        .turso_mint(&a.alice, "x", other)
        .await
        .turso_error(404);
    let message = server
        .turso_mint(&a.alice, "x", in_group("green", &["read"]))
        .await
        .turso_error(404);
    assert!(message.contains("green"), "{message}");

    // Names are unique per user, not per organization, in both versions.
    server.turso_minted(&a.alice, "ci", in_acme()).await;
    let message = server
        .turso_mint(&a.alice, "ci", None)
        .await
        .turso_error(409);
    assert!(message.contains("ci"), "{message}");
    let v2 = "/v2/auth/api-tokens/ci";
    server
        .call(Method::POST, v2, Some(&a.alice), None)
        .await
        .turso_error(409);
    server.turso_minted(&a.bob, "ci", in_acme()).await;
    server
        .delete("/v1/auth/api-tokens/ci", &a.alice)
        .await
        .expect(200);
    server.turso_minted(&a.alice, "ci", None).await;
}

// --- 3. organization tokens ----------------------------------------------------------------

/// acme's tokens for the organization rules: alice's org, group and unrestricted ones, one each
/// for adam, bob and vic (minted by root: viewers do not mint), and otto's in `other`.
/// Returns the Turso ids by name.
async fn org_fixture(a: &Acme) -> std::collections::HashMap<&'static str, String> {
    let server = &a.server;
    server.team("other", "otto", &[]).await;
    let mut ids = std::collections::HashMap::new();
    let turso = |native: &str| native.parse::<TokenId>().expect("an id").turso();
    let minted = [
        ("alice-org", &a.alice, in_acme()),
        ("alice-blue", &a.alice, in_group("blue", &["read"])),
        ("alice-wide", &a.alice, None),
        ("adam-org", &a.adam, in_acme()),
        ("bob-org", &a.bob, in_acme()),
    ];
    for (name, bearer, body) in minted {
        ids.insert(name, server.turso_minted(bearer, name, body).await.1);
    }
    for (owner, name, org) in [("vic", "vic-org", "acme"), ("otto", "otto-org", "other")] {
        let body = json!({"name": name, "scopes": ["*"], "organization": org});
        ids.insert(name, turso(&server.mint_for(owner, body).await.1));
    }
    ids
}

#[tokio::test]
async fn admins_and_owners_list_every_organization_token_with_its_owner_others_their_own() {
    let a = acme().await;
    let server = &a.server;
    org_fixture(&a).await;
    let everyone = ["adam-org", "alice-blue", "alice-org", "bob-org", "vic-org"];
    for (bearer, username) in [(&a.alice, "alice"), (&a.adam, "adam")] {
        let tokens = org_tokens(server, bearer, "acme").await;
        assert_eq!(names(&tokens), everyone, "as {username}");
        for token in &tokens {
            let owner = token["name"].as_str().expect("name").split('-').next();
            let owner = owner.expect("an owner's name");
            let expected = json!({"username": owner, "email": format!("{owner}@example.com")});
            assert_eq!(token["owner"], expected, "{token}");
            assert_eq!(token["organization"], "acme", "{token}");
        }
        assert_eq!(named(&tokens, "alice-blue")["group"], "blue");
    }
    for (bearer, own) in [(&a.bob, "bob-org"), (&a.vic, "vic-org")] {
        let tokens = org_tokens(server, bearer, "acme").await;
        assert_eq!(names(&tokens), [own]);
        assert!(tokens[0].get("owner").is_none(), "{tokens:?}");
    }
    // An organization one is no member of is not found.
    let path = "/v1/organizations/other/api-tokens";
    server.get(path, &a.adam).await.turso_error(404);
}

#[tokio::test]
async fn admins_and_owners_revoke_every_organization_token_others_their_own() {
    let a = acme().await;
    let server = &a.server;
    let ids = org_fixture(&a).await;
    // A member: not someone else's (it does not exist for him), but his own.
    org_revoke(server, &a.bob, "acme", &ids["alice-org"])
        .await
        .turso_error(404);
    let revoked = org_revoke(server, &a.bob, "acme", &ids["bob-org"]).await;
    assert_eq!(revoked.expect(200), json!({"token": ids["bob-org"]}));
    // A viewer reads but never revokes, its own included (DESIGN: viewers read).
    org_revoke(server, &a.vic, "acme", &ids["vic-org"])
        .await
        .turso_error(403);

    // An admin revokes anyone's, by any spelling of the id.
    let (native, _) = spellings(&ids["vic-org"]);
    let (_, canonical) = spellings(&ids["alice-blue"]);
    for id in [&ids["alice-org"], &canonical, &native] {
        let revoked = org_revoke(server, &a.adam, "acme", id).await;
        assert_eq!(revoked.expect(200), json!({"token": id}));
        let record = server.token(&server.root, id).await;
        assert_eq!(record["status"], "revoked", "{record}");
    }
    assert_eq!(
        names(&org_tokens(server, &a.adam, "acme").await),
        ["adam-org"]
    );

    // Unrestricted tokens and other organizations' ids are not found here, and stay valid.
    for id in [&ids["alice-wide"], &ids["otto-org"]] {
        let message = org_revoke(server, &a.adam, "acme", id)
            .await
            .turso_error(404);
        assert!(message.contains("no token with id"), "{message}");
        org_revoke(server, &a.alice, "acme", id)
            .await
            .turso_error(404);
        assert_eq!(server.token(&server.root, id).await["status"], "active");
    }
    let malformed = org_revoke(server, &a.adam, "acme", "not-an-id").await;
    assert!(malformed.turso_error(400).contains("not a token id"));
}

// --- 4. groups ---------------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_group_revokes_its_tokens_and_a_new_group_of_that_name_does_not_revive_them() {
    let a = acme().await;
    let server = &a.server;
    let (alices, _) = server
        .turso_minted(&a.alice, "alice-blue", in_group("blue", &["read"]))
        .await;
    let (adams, _) = server
        .turso_minted(&a.adam, "adam-blue", in_group("blue", &["full-access"]))
        .await;
    let (red, _) = server
        .turso_minted(&a.alice, "alice-red", in_group("red", &["read"]))
        .await;
    for secret in [&alices, &adams, &red] {
        assert!(validates(server, secret).await);
    }

    let blue = "/v1/organizations/acme/groups/blue";
    server.delete(blue, &a.alice).await.expect(200);
    for secret in [&alices, &adams] {
        assert!(!validates(server, secret).await);
        assert_eq!(server.verify_code(secret).await, "REVOKED");
    }
    assert!(validates(server, &red).await);

    server.create_group(&a.alice, "acme", "blue").await;
    for secret in [&alices, &adams] {
        assert!(!validates(server, secret).await);
    }
    assert_eq!(
        names(&org_tokens(server, &a.alice, "acme").await),
        ["alice-red"]
    );
    let alices_tokens = user_tokens(server, &a.alice).await;
    assert!(!names(&alices_tokens).contains(&"alice-blue"));
    let (fresh, _) = server
        .turso_minted(&a.alice, "alice-blue", in_group("blue", &["read"]))
        .await;
    assert!(validates(server, &fresh).await);
}

#[tokio::test]
async fn a_group_token_lists_only_its_groups_tokens() {
    let a = acme().await;
    let server = &a.server;
    let mut secrets = Vec::new();
    for (name, group) in [("blue", "blue"), ("blue 2", "blue"), ("red", "red")] {
        let body = in_group(group, &["read"]);
        secrets.push(server.turso_minted(&a.alice, name, body).await.0);
    }
    server.turso_minted(&a.alice, "org", in_acme()).await;
    let blue = &secrets[0];
    let both_blues = ["blue", "blue 2"];
    assert_eq!(names(&user_tokens(server, blue).await), both_blues);
    assert_eq!(names(&org_tokens(server, blue, "acme").await), both_blues);
    // The same token lists the same through MotherDuck's calls.
    let listed = server.get("/v1/users/alice/tokens", blue).await.expect(200);
    let listed = listed["tokens"].as_array().expect("tokens");
    assert_eq!(names(listed), both_blues);
}

// --- 6. errors ---------------------------------------------------------------------------

/// (method, path, bearer, body) → (status, words of the message).
type Case<'a> = (
    Method,
    &'a str,
    Option<&'a str>,
    Option<Value>,
    u16,
    &'a str,
);

#[tokio::test]
async fn every_error_answers_in_tursos_shape() {
    let a = acme().await;
    let server = &a.server;
    server.turso_minted(&a.alice, "taken", None).await;
    let expiring = json!({"name": "short", "scopes": ["*"], "expires_at": server.in_seconds(1)});
    let (expired, _) = server.mint(&a.alice, expiring).await;
    server.clock.advance(1);
    let unknown_secret = random_secret();
    let unknown_id = TokenId::new().turso();
    let org_path = format!("/v1/organizations/acme/api-tokens/{unknown_id}");
    let alice = Some(a.alice.as_str());
    let mint = "/v1/auth/api-tokens/x";
    let group = in_group("blue", &["read"]);
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        (Method::POST,   mint,                         alice, Some(json!({"organization": "Acme Inc"})), 400, "lowercase letters"),
        (Method::POST,   mint,                         alice, Some(json!({"organisation": "acme"})), 400, "unknown field `organisation`"),
        (Method::POST,   mint,                         alice, Some(json!("acme")),               400, "invalid type"),
        (Method::POST,   "/v1/auth/api-tokens/a%0Ab",  alice, None,                              400, "control characters"),
        (Method::DELETE, "/v1/organizations/acme/api-tokens/nope", alice, None,                  400, "not a token id"),
        (Method::GET,    "/v1/auth/api-tokens",        None,  None,                              401, "Missing bearer token"),
        (Method::GET,    "/v1/auth/api-tokens",        Some("lk_live_nope"), None,               401, "Malformed token"),
        (Method::GET,    "/v1/auth/validate",          Some(&unknown_secret), None,              401, "Invalid token"),
        (Method::GET,    "/v1/auth/validate",          Some(&expired), None,                     401, "expired"),
        (Method::POST,   mint,                         Some(&a.bob), group,                      403, "admins and owners"),
        (Method::GET,    "/v1/organizations/nowhere/api-tokens", alice, None,                    404, "organization 'nowhere' not found"),
        (Method::DELETE, "/v1/auth/api-tokens/nothing", alice, None,                             404, "no token named 'nothing'"),
        (Method::DELETE, &org_path,                    alice, None,                              404, "no token with id"),
        (Method::POST,   "/v1/auth/api-tokens/taken",  alice, None,                              409, "taken"),
        (Method::POST,   "/v2/auth/api-tokens/taken",  alice, None,                              409, "taken"),
    ];
    for (method, path, bearer, body, status, says) in cases {
        let reply = server.call(method.clone(), path, bearer, body).await;
        let message = reply.turso_error(status);
        assert!(message.contains(says), "{method} {path}: {message}");
    }
    let raw = server
        .request(Method::POST, mint)
        .bearer_auth(&a.alice)
        .body("organization=acme");
    let message = server.send(raw, "a form body").await.turso_error(400);
    assert!(message.contains("not valid JSON"), "{message}");
}
