//! MotherDuck's REST API token calls, rule by rule: per-user tokens with a TTL and a token
//! type, service accounts, who manages whose tokens, errors in MotherDuck's shape, and tokens
//! that are the same token in every dialect.

mod common;

use common::{Reply, TestServer, keys};
use latchkey_core::TokenId;
use latchkey_server::Error;
use latchkey_server::dialects::Dialect;
use latchkey_server::dialects::motherduck::MotherDuck;
use latchkey_store::StoreError;
use reqwest::Method;
use serde_json::{Value, json};

/// The fields of MotherDuck's token object, sorted.
const TOKEN_FIELDS: [&str; 6] = [
    "created_ts",
    "expire_at",
    "id",
    "name",
    "read_only",
    "token_type",
];

/// One year, MotherDuck's longest TTL.
const YEAR: i64 = 31_536_000;

/// The people of acme, each with an unrestricted account-wide token.
struct Acme {
    server: TestServer,
    /// Owner.
    alice: String,
    /// Admin.
    adam: String,
    /// Member.
    bob: String,
}

/// acme with alice (owner), adam (admin), bob (member) and `svc`, a service account adam
/// created; `nina` exists outside it.
async fn acme() -> Acme {
    let server = TestServer::start().await;
    let team = server
        .team("acme", "alice", &[("adam", "admin"), ("bob", "member")])
        .await;
    server.account("nina").await;
    let [alice, adam, bob] = [0, 1, 2].map(|i| team[i].clone());
    service_account(&server, &adam, "svc").await;
    Acme {
        server,
        alice,
        adam,
        bob,
    }
}

/// `POST /v1/users`, expecting 200.
async fn service_account(server: &TestServer, admin: &str, username: &str) -> Value {
    let body = json!({"username": username});
    server.post("/v1/users", admin, body).await.expect(200)
}

/// `GET /v1/users/{username}/tokens`, expecting 200.
async fn tokens(server: &TestServer, bearer: &str, username: &str) -> Vec<Value> {
    let path = format!("/v1/users/{username}/tokens");
    let body = server.get(&path, bearer).await.expect(200);
    assert_eq!(keys(&body), ["tokens"], "{body}");
    body["tokens"].as_array().expect("tokens").clone()
}

/// `DELETE /v1/users/{username}/tokens/{id}`.
async fn delete_token(server: &TestServer, bearer: &str, username: &str, id: &str) -> Reply {
    let path = format!("/v1/users/{username}/tokens/{id}");
    server.delete(&path, bearer).await
}

/// The names of listed tokens, in the order listed.
fn names(tokens: &[Value]) -> Vec<&str> {
    tokens
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect()
}

/// MotherDuck's mint of a token named `name` with nothing else set, expecting 200.
async fn mint_named(server: &TestServer, bearer: &str, username: &str, name: &str) -> Value {
    let body = json!({"name": name});
    server.motherduck_minted(bearer, username, body).await
}

/// The secret of a token just minted.
fn secret(minted: &Value) -> &str {
    minted["token"].as_str().expect("the secret")
}

/// The id of a token, MotherDuck's uuid.
fn id(token: &Value) -> &str {
    token["id"].as_str().expect("id")
}

fn is_uuid(id: &str) -> bool {
    id.parse::<TokenId>()
        .is_ok_and(|parsed| parsed.canonical() == id)
}

// --- 1. listing ------------------------------------------------------------------------------

#[tokio::test]
async fn a_users_tokens_list_with_every_field_and_never_a_secret() {
    let a = acme().await;
    let server = &a.server;
    let one = json!({"name": "one", "ttl": 3600});
    let one = server.motherduck_minted(&a.bob, "bob", one).await;
    let two = json!({"name": "two", "token_type": "read_scaling"});
    let two = server.motherduck_minted(&a.bob, "bob", two).await;
    let gone = mint_named(server, &a.bob, "bob", "gone").await;
    delete_token(server, &a.bob, "bob", id(&gone))
        .await
        .expect(200);

    let listed = tokens(server, &a.bob, "bob").await;
    assert_eq!(names(&listed), ["account", "one", "two"]);
    for token in &listed {
        assert_eq!(keys(token), TOKEN_FIELDS, "{token}");
        assert!(is_uuid(id(token)), "{token}");
        assert_eq!(token["created_ts"], server.now().rfc3339(), "{token}");
    }
    let expected = [
        (one, json!(server.in_seconds(3600)), false, "read_write"),
        (two, Value::Null, true, "read_scaling"),
    ];
    for (index, (minted, expire_at, read_only, token_type)) in expected.iter().enumerate() {
        let token = &listed[index + 1];
        assert_eq!(token["id"], minted["id"]);
        assert_eq!(token["expire_at"], *expire_at, "{token}");
        assert_eq!(token["read_only"], *read_only, "{token}");
        assert_eq!(token["token_type"], *token_type, "{token}");
    }
    let text = Value::from(listed).to_string();
    for (minted, ..) in &expected {
        assert!(!text.contains(secret(minted)), "a secret is listed: {text}");
    }
}

// --- 2. minting ------------------------------------------------------------------------------

#[tokio::test]
async fn a_mint_checks_name_ttl_and_token_type_and_shows_the_secret_once() {
    let a = acme().await;
    let server = &a.server;
    let minted = mint_named(server, &a.bob, "bob", "plain").await;
    let mut with_secret = TOKEN_FIELDS.to_vec();
    with_secret.push("token");
    with_secret.sort_unstable();
    assert_eq!(keys(&minted), with_secret, "{minted}");
    assert_eq!(
        (
            &minted["expire_at"],
            &minted["read_only"],
            &minted["token_type"]
        ),
        (&Value::Null, &json!(false), &json!("read_write")),
        "no ttl: it never expires; no type: read_write"
    );
    assert_eq!(server.verify_code(secret(&minted)).await, "VALID");

    let longest = "n".repeat(255);
    let accepted = [
        (json!({"name": longest}), Value::Null, "read_write"),
        (
            json!({"name": "min", "ttl": 300}),
            json!(server.in_seconds(300)),
            "read_write",
        ),
        (
            json!({"name": "max", "ttl": YEAR}),
            json!(server.in_seconds(YEAR)),
            "read_write",
        ),
        (
            json!({"name": "rw", "token_type": "read_write"}),
            Value::Null,
            "read_write",
        ),
        (
            json!({"name": "rs", "token_type": "read_scaling"}),
            Value::Null,
            "read_scaling",
        ),
    ];
    for (body, expire_at, token_type) in accepted {
        let minted = server.motherduck_minted(&a.bob, "bob", body.clone()).await;
        assert_eq!(minted["name"], body["name"]);
        assert_eq!(minted["expire_at"], expire_at, "{body}");
        assert_eq!(minted["token_type"], token_type, "{body}");
        assert_eq!(minted["read_only"], token_type == "read_scaling", "{body}");
    }

    let refused = [
        (json!({"name": ""}), "name: must not be empty"),
        (
            json!({"name": "n".repeat(256)}),
            "name: must be at most 255 characters",
        ),
        (
            json!({"name": "x", "ttl": 299}),
            "ttl: must be from 300 to 31536000 seconds",
        ),
        (
            json!({"name": "x", "ttl": YEAR + 1}),
            "ttl: must be from 300",
        ),
        (json!({"name": "x", "ttl": -1}), "ttl: must be from 300"),
        (
            json!({"name": "x", "token_type": "fast"}),
            "token_type: 'fast' is not a token type",
        ),
    ];
    for (body, says) in refused {
        let issues = server.motherduck_mint(&a.bob, "bob", body).await;
        let issues = issues.motherduck_error(400);
        assert!(issues.len() == 1 && issues[0].contains(says), "{issues:?}");
    }
}

// --- 3. deleting a token ---------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_token_answers_an_empty_object_and_its_secret_stops_at_once() {
    let a = acme().await;
    let server = &a.server;
    let first = mint_named(server, &a.bob, "bob", "first").await;
    let second = mint_named(server, &a.bob, "bob", "second").await;
    server
        .get("/v1/tokens/self", secret(&first))
        .await
        .expect(200);

    let deleted = delete_token(server, &a.bob, "bob", id(&first)).await;
    assert_eq!(deleted.expect(200), json!({}));
    assert_eq!(server.verify_code(secret(&first)).await, "REVOKED");
    assert_eq!(server.self_status(secret(&first)).await, 401);
    assert_eq!(
        names(&tokens(server, &a.bob, "bob").await),
        ["account", "second"]
    );

    // The path takes any spelling of the id.
    let native = id(&second).parse::<TokenId>().expect("an id").native();
    delete_token(server, &a.bob, "bob", &native)
        .await
        .expect(200);
    assert_eq!(server.verify_code(secret(&second)).await, "REVOKED");
    // A token of someone else is not found under this user.
    let alices = mint_named(server, &a.alice, "alice", "a").await;
    delete_token(server, &a.bob, "bob", id(&alices))
        .await
        .motherduck_error(404);
    delete_token(server, &a.alice, "bob", id(&alices))
        .await
        .motherduck_error(403);
    assert_eq!(server.verify_code(secret(&alices)).await, "VALID");
}

// --- 4. service accounts ---------------------------------------------------------------------

#[tokio::test]
async fn a_service_account_lives_in_its_admins_organization_and_dies_with_its_tokens() {
    let a = acme().await;
    let server = &a.server;
    let created = service_account(server, &a.adam, "robot").await;
    assert_eq!(
        created,
        json!({"username": "robot", "organization": "acme"})
    );
    let members = server
        .get("/v1/organizations/acme/members", &a.bob)
        .await
        .expect(200);
    let robot = members["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["username"] == "robot")
        .cloned();
    assert_eq!(robot.expect("robot is a member")["role"], "member");

    let minted = mint_named(server, &a.adam, "robot", "deploy").await;
    let record = server.token(&a.adam, id(&minted)).await;
    assert_eq!(record["owner"], "robot");
    assert_eq!(record["organization"], "acme");
    assert_eq!(record["created_by"], "adam@example.com");
    assert_eq!(names(&tokens(server, &a.adam, "robot").await), ["deploy"]);

    let again = server
        .post("/v1/users", &a.adam, json!({"username": "robot"}))
        .await;
    again.motherduck_error(409);
    let by_member = server
        .post("/v1/users", &a.bob, json!({"username": "bot"}))
        .await;
    by_member.motherduck_error(403);
    server
        .delete("/v1/users/robot", &a.bob)
        .await
        .motherduck_error(403);
    server
        .delete("/v1/users/bob", &a.adam)
        .await
        .motherduck_error(403);

    assert_eq!(
        server.delete("/v1/users/robot", &a.adam).await.expect(200),
        json!({})
    );
    assert_eq!(server.verify_code(secret(&minted)).await, "REVOKED");
    assert_eq!(server.self_status(secret(&minted)).await, 401);
    let path = "/v1/users/robot/tokens";
    server.get(path, &a.adam).await.motherduck_error(404);
    server
        .delete("/v1/users/robot", &a.adam)
        .await
        .motherduck_error(404);
}

#[tokio::test]
async fn an_admin_of_several_organizations_names_the_one_for_a_service_account() {
    let a = acme().await;
    let server = &a.server;
    server.organization(&a.alice, "beta").await;
    let ambiguous = server
        .post("/v1/users", &a.alice, json!({"username": "bot"}))
        .await;
    let issues = ambiguous.motherduck_error(400);
    assert!(issues[0].contains("several organizations"), "{issues:?}");

    let named = json!({"username": "bot", "organization": "beta"});
    let created = server.post("/v1/users", &a.alice, named).await.expect(200);
    assert_eq!(created["organization"], "beta");
    // A token restricted to one organization names it by itself.
    let body = json!({"name": "acme", "scopes": ["*"], "organization": "acme"});
    let (in_acme, _) = server.mint(&a.alice, body).await;
    let created = service_account(server, &in_acme, "bot2").await;
    assert_eq!(created["organization"], "acme");
    let elsewhere = json!({"username": "bot3", "organization": "nowhere"});
    server
        .post("/v1/users", &a.alice, elsewhere)
        .await
        .motherduck_error(404);
}

// --- 5. rights ------------------------------------------------------------------------------

#[tokio::test]
async fn accounts_manage_their_own_tokens_and_admins_their_service_accounts() {
    let a = acme().await;
    let server = &a.server;
    // One's own.
    mint_named(server, &a.bob, "bob", "own").await;
    assert_eq!(
        names(&tokens(server, &a.bob, "bob").await),
        ["account", "own"]
    );
    // A service account's, for the organization's admins and owners.
    for (admin, name) in [(&a.adam, "by adam"), (&a.alice, "by alice")] {
        let minted = mint_named(server, admin, "svc", name).await;
        assert!(names(&tokens(server, admin, "svc").await).contains(&name));
        delete_token(server, admin, "svc", id(&minted))
            .await
            .expect(200);
    }
    let kept = mint_named(server, &a.adam, "svc", "kept").await;
    // Not for a member.
    let mint = json!({"name": "x"});
    server
        .motherduck_mint(&a.bob, "svc", mint.clone())
        .await
        .motherduck_error(403);
    server
        .get("/v1/users/svc/tokens", &a.bob)
        .await
        .motherduck_error(403);
    delete_token(server, &a.bob, "svc", id(&kept))
        .await
        .motherduck_error(403);

    // Nobody but root mints for another human: 403 where they share an organization.
    for (bearer, username) in [(&a.adam, "bob"), (&a.alice, "adam"), (&a.bob, "alice")] {
        let reply = server.motherduck_mint(bearer, username, mint.clone()).await;
        reply.motherduck_error(403);
        let path = format!("/v1/users/{username}/tokens");
        server.get(&path, bearer).await.motherduck_error(403);
    }
    let for_bob = mint_named(server, &server.root, "bob", "root's").await;
    assert_eq!(server.token(&a.bob, id(&for_bob)).await["owner"], "bob");
    // A person with no organization in common, or nobody at all: not found.
    for username in ["nina", "nobody"] {
        let path = format!("/v1/users/{username}/tokens");
        server.get(&path, &a.adam).await.motherduck_error(404);
        server
            .motherduck_mint(&a.adam, username, mint.clone())
            .await
            .motherduck_error(404);
    }
}

#[tokio::test]
async fn an_admin_manages_a_service_account_of_its_organization_whatever_else_it_belongs_to() {
    let a = acme().await;
    let server = &a.server;
    // svc is a member of acme, where bob is a member too, and of zeta, which bob owns.
    server.organization(&a.bob, "zeta").await;
    server.add_member(&a.bob, "zeta", "svc", "member").await;
    let minted = mint_named(server, &a.bob, "svc", "zeta's").await;
    let record = server.token(&a.bob, id(&minted)).await;
    assert_eq!(record["organization"], "zeta");
    mint_named(server, &a.adam, "svc", "acme's").await;
    assert_eq!(names(&tokens(server, &a.bob, "svc").await), ["zeta's"]);
    assert_eq!(names(&tokens(server, &a.adam, "svc").await), ["acme's"]);
}

#[tokio::test]
async fn bad_input_is_400_with_every_reason_in_issues() {
    let a = acme().await;
    let server = &a.server;
    let long = "u".repeat(256);
    let bad_usernames = [
        (Method::GET, format!("/v1/users/{long}/tokens")),
        (Method::POST, format!("/v1/users/{long}/tokens")),
        (Method::DELETE, format!("/v1/users/{long}")),
        (Method::GET, "/v1/users/Bob/tokens".to_owned()),
    ];
    for (method, path) in bad_usernames {
        let mint = Some(json!({"name": "x"}));
        let reply = server.call(method, &path, Some(&a.adam), mint).await;
        let issues = reply.motherduck_error(400);
        assert!(issues[0].starts_with("username: "), "{path}: {issues:?}");
    }
    let created = server
        .post("/v1/users", &a.adam, json!({"username": long}))
        .await;
    assert!(created.motherduck_error(400)[0].starts_with("username: "));

    let everything_wrong = json!({"ttl": 10, "token_type": "fast"});
    let issues = server
        .motherduck_mint(&a.bob, "bob", everything_wrong)
        .await;
    let issues = issues.motherduck_error(400);
    let fields: Vec<&str> = issues
        .iter()
        .map(|issue| issue.split(':').next().expect("a field"))
        .collect();
    assert_eq!(fields, ["name", "ttl", "token_type"], "{issues:?}");
    assert!(issues[0].contains("is required"), "{issues:?}");
    let path = "/v1/users/bob/tokens/not-a-uuid";
    let issues = server.delete(path, &a.bob).await.motherduck_error(400);
    assert!(issues[0].starts_with("token_id: "), "{issues:?}");
}

// --- 6. errors ------------------------------------------------------------------------------

/// (method, path, bearer, body) → status.
type Case<'a> = (Method, &'a str, Option<&'a str>, Option<Value>, u16);

#[tokio::test]
async fn every_error_answers_in_motherducks_shape() {
    let a = acme().await;
    let server = &a.server;
    let mint = Some(json!({"name": "x"}));
    let tokens = "/v1/users/bob/tokens";
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        (Method::POST,   tokens,              Some(&a.bob), Some(json!({"name": "x", "colour": "red"})), 400),
        (Method::POST,   tokens,              Some(&a.bob), None,                  400),
        (Method::GET,    tokens,              None,         None,                  401),
        (Method::GET,    tokens,              Some("lk_live_nope"), None,          401),
        (Method::POST,   "/v1/users",         Some("nope"), Some(json!({"username": "x"})), 401),
        (Method::POST,   tokens,              Some(&a.adam), mint.clone(),         403),
        (Method::POST,   "/v1/users",         Some(&a.bob), Some(json!({"username": "x"})), 403),
        (Method::GET,    "/v1/users/nobody/tokens", Some(&a.bob), None,            404),
        (Method::DELETE, "/v1/users/nobody",  Some(&a.adam), None,                 404),
        (Method::POST,   "/v1/users",         Some(&a.adam), Some(json!({"username": "svc"})), 409),
    ];
    for (method, path, bearer, body, status) in cases {
        let reply = server.call(method.clone(), path, bearer, body).await;
        let issues = reply.motherduck_error(status);
        assert_eq!(
            issues.is_empty(),
            status != 400,
            "{method} {path}: {issues:?}"
        );
    }

    // A failing database answers 500 with its code, and none of its details.
    let failure = Error::Store(StoreError::Backend("disk on fire at /var/db".into()));
    let response = MotherDuck::render(&failure);
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    let body: Value = serde_json::from_slice(&body.expect("a body")).expect("JSON");
    assert!(!body.to_string().contains("disk"), "{body}");
    Reply { status, body }.motherduck_error(500);
}

// --- 7. one token everywhere -------------------------------------------------------------------

#[tokio::test]
async fn a_token_minted_here_lists_and_verifies_natively() {
    let a = acme().await;
    let server = &a.server;
    let wide = mint_named(server, &a.bob, "bob", "wide").await;
    let body = json!({"name": "acme", "scopes": ["*"], "organization": "acme"});
    let (in_acme, _) = server.mint(&a.bob, body).await;
    let scoped = mint_named(server, &in_acme, "bob", "scoped").await;

    let native = id(&wide).parse::<TokenId>().expect("an id").native();
    let listed = server
        .get("/v1/tokens?organization=bob", &a.bob)
        .await
        .expect(200);
    let found = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|t| t["id"] == native);
    let found = found.expect("listed natively");
    assert_eq!(
        (&found["name"], &found["account_wide"]),
        (&json!("wide"), &json!(true))
    );
    let record = server.token(&a.bob, id(&scoped)).await;
    assert_eq!(
        (&record["organization"], &record["account_wide"]),
        (&json!("acme"), &json!(false))
    );

    let verified = server.verify(secret(&wide)).await;
    assert_eq!(verified["code"], "VALID");
    assert_eq!(verified["token"]["id"], native);
    assert_eq!(verified["token"]["read_only"], false);
}

#[tokio::test]
async fn a_ttl_token_expires_when_the_clock_passes_it() {
    let a = acme().await;
    let server = &a.server;
    let short = server
        .motherduck_minted(&a.bob, "bob", json!({"name": "short", "ttl": 300}))
        .await;
    let verified = server.verify(secret(&short)).await;
    assert_eq!(verified["token"]["expires_at"], server.in_seconds(300));
    server
        .get("/v1/users/bob/tokens", secret(&short))
        .await
        .expect(200);

    server.clock.advance(299);
    assert_eq!(server.verify_code(secret(&short)).await, "VALID");
    server.clock.advance(1);
    assert_eq!(server.verify_code(secret(&short)).await, "EXPIRED");
    server
        .get("/v1/users/bob/tokens", secret(&short))
        .await
        .motherduck_error(401);
    assert_eq!(server.self_status(secret(&short)).await, 401);
    // Expired, not revoked: it still lists, with its expiry.
    let listed = tokens(server, &a.bob, "bob").await;
    assert_eq!(names(&listed), ["account", "short"]);
}

#[tokio::test]
async fn a_read_scaling_token_reads_but_never_writes() {
    let a = acme().await;
    let server = &a.server;
    let body = json!({"name": "replica", "token_type": "read_scaling"});
    let replica = server.motherduck_minted(&a.bob, "bob", body).await;
    let replica = secret(&replica);
    let verified = server.verify(replica).await;
    assert_eq!(verified["code"], "VALID");
    assert_eq!(verified["token"]["read_only"], true);
    assert_eq!(verified["token"]["token_type"], "read_scaling");

    server.get("/v1/tokens", replica).await.expect(200);
    tokens(server, replica, "bob").await;
    let write = json!({"name": "more", "scopes": ["*"]});
    server.post("/v1/tokens", replica, write).await.expect(403);
    let own = server.get("/v1/tokens/self", replica).await.expect(200);
    let own_id = own["id"].as_str().expect("id");
    server
        .delete(&format!("/v1/tokens/{own_id}"), replica)
        .await
        .expect(403);
    let mint = json!({"name": "more"});
    server
        .motherduck_mint(replica, "bob", mint)
        .await
        .motherduck_error(403);
    assert_eq!(server.verify_code(replica).await, "VALID");
}
