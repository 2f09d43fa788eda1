//! The native token API: Tooken's contract to the letter, and latchkey's extensions to it.

mod common;

use std::collections::BTreeSet;

use common::TestServer;
use latchkey_core::TokenId;
use serde_json::{Value, json};

/// The fields of Tooken's token object.
const TOOKEN_FIELDS: &[&str] = &[
    "id",
    "name",
    "scopes",
    "status",
    "created_at",
    "expires_at",
    "last_used_at",
    "created_by",
];

/// latchkey's documented extensions to it.
const EXTENSIONS: &[&str] = &[
    "organization",
    "group",
    "owner",
    "token_type",
    "read_only",
    "account_wide",
    "hint",
];

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn is_native_id(id: &str) -> bool {
    id.strip_prefix("tok_").is_some_and(|digits| {
        digits.len() == 24
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// `2026-01-15T09:00:00Z`: ISO 8601, UTC, to the second.
fn is_utc_datetime(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        })
}

/// The names of a listing's tokens, in order.
fn names(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|token| token["name"].as_str().expect("name").to_owned())
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|token| token["id"].as_str().expect("id").to_owned())
        .collect()
}

/// `GET /v1/tokens?{query}`, expecting 200.
async fn list(server: &TestServer, bearer: &str, query: &str) -> Value {
    server
        .get(&format!("/v1/tokens?{query}"), bearer)
        .await
        .expect(200)
}

#[tokio::test]
async fn the_seed_request_answers_in_tookens_shape() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let expires_at = server.in_seconds(365 * 24 * 3600);
    let scopes = ["tokens:read", "tokens:write"];
    let deploy = json!({"name": "CI Deploy Token", "scopes": scopes, "expires_at": expires_at});
    server.mint(&alice, deploy).await;
    let audit = json!({"name": "Read-Only Audit Key", "scopes": ["tokens:read"]});
    server.mint(&alice, audit).await;

    let body = list(&server, &alice, "page=1&per_page=25&status=active").await;
    assert_eq!(keys(&body), BTreeSet::from(["data", "meta"]));
    assert_eq!(
        body["meta"],
        json!({"page": 1, "per_page": 25, "total": 3, "next_cursor": null})
    );
    let expected_keys: BTreeSet<&str> = TOOKEN_FIELDS.iter().chain(EXTENSIONS).copied().collect();
    for token in body["data"].as_array().expect("data") {
        assert_eq!(keys(token), expected_keys, "{token}");
        assert!(is_native_id(token["id"].as_str().expect("id")), "{token}");
        assert_eq!(token["status"], "active");
        assert!(is_utc_datetime(&token["created_at"]), "{token}");
        assert!(token["last_used_at"].is_null(), "{token}");
        assert!(token["scopes"].is_array(), "{token}");
    }
    assert_eq!(
        body["data"][0]["name"], "account",
        "minted by root, who has no email"
    );
    assert_eq!(body["data"][0]["created_by"], Value::Null);
    let deploy = &body["data"][1];
    assert_eq!(deploy["name"], "CI Deploy Token");
    assert_eq!(deploy["scopes"], json!(["tokens:read", "tokens:write"]));
    assert_eq!(deploy["expires_at"], json!(expires_at));
    assert_eq!(deploy["created_by"], "alice@example.com");
    assert_eq!(deploy["owner"], "alice");
    assert_eq!(deploy["organization"], "alice");
    assert_eq!(deploy["token_type"], "read_write");
    assert_eq!(deploy["account_wide"], false);
    assert_eq!(deploy["group"], Value::Null);
    let audit = &body["data"][2];
    assert_eq!(audit["expires_at"], Value::Null);
    assert_eq!(audit["read_only"], true);
    assert_eq!(deploy["read_only"], false);
}

#[tokio::test]
async fn the_secret_is_shown_once_at_mint() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let body = json!({"name": "ci", "scopes": ["tokens:read"]});
    let minted = server.post("/v1/tokens", &alice, body).await.expect(201);
    let secret = minted["token"].as_str().expect("the secret");
    assert!(secret.starts_with("lk_live_"), "{secret}");
    assert_eq!(minted["status"], "active");
    assert_eq!(minted["last_used_at"], Value::Null);
    assert_eq!(minted["expires_at"], Value::Null);
    let hint = minted["hint"].as_str().expect("hint");
    assert!(hint.starts_with("lk_live_"), "{hint}");
    assert!(secret.ends_with(&hint[hint.len() - 4..]), "{minted}");

    let id = minted["id"].as_str().expect("id");
    let one = server.token(&alice, id).await;
    let all = list(&server, &alice, "").await;
    for body in [&one, &all] {
        assert!(!body.to_string().contains(secret), "{body}");
    }
    assert!(one.get("token").is_none());
    assert!(
        all["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|t| t.get("token").is_none())
    );
}

#[tokio::test]
async fn a_live_name_is_taken_until_revoked() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let (_, id) = server.mint_named(&alice, "ci").await;
    let again = server
        .post("/v1/tokens", &alice, json!({"name": "ci", "scopes": ["*"]}))
        .await;
    assert_eq!(again.status.as_u16(), 409, "{again:?}");
    assert_eq!(again.body["error"], "conflict");
    assert!(again.message().contains("ci"), "{again:?}");
    server.revoke(&alice, &id).await;
    server.mint_named(&alice, "ci").await;
}

#[tokio::test]
async fn revoking_keeps_the_record() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let (secret, id) = server.mint_named(&alice, "ci").await;
    let revoked = server.delete(&format!("/v1/tokens/{id}"), &alice).await;
    assert_eq!(revoked.status.as_u16(), 204);
    assert_eq!(revoked.body, Value::Null, "an empty body");

    let token = server.token(&alice, &id).await;
    assert_eq!(token["status"], "revoked");
    assert_eq!(
        names(&list(&server, &alice, "status=revoked").await),
        ["ci"]
    );
    assert_eq!(
        names(&list(&server, &alice, "status=active").await),
        ["account"]
    );
    assert_eq!(server.verify_code(&secret).await, "REVOKED");
    // Revoking again changes nothing.
    server.revoke(&alice, &id).await;
}

#[tokio::test]
async fn rotating_keeps_the_token_and_replaces_the_secret() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let body = json!({"name": "ci", "scopes": ["tokens:read", "tokens:rotate"]});
    let minted = server.post("/v1/tokens", &alice, body).await.expect(201);
    let old = minted["token"].as_str().expect("secret");
    let id = minted["id"].as_str().expect("id");
    assert_eq!(server.verify_code(old).await, "VALID");

    let rotated = server.rotate(&alice, id).await.expect(200);
    for field in ["id", "name", "scopes", "created_at", "expires_at", "status"] {
        assert_eq!(rotated[field], minted[field], "{field}");
    }
    let new = rotated["token"].as_str().expect("the new secret");
    assert_ne!(new, old);
    assert_eq!(server.verify_code(old).await, "NOT_FOUND");
    assert_eq!(server.self_status(old).await, 401);
    assert_eq!(server.verify_code(new).await, "VALID");
    let own = server.get("/v1/tokens/self", new).await.expect(200);
    assert_eq!(own["id"], minted["id"]);
    assert!(!own.to_string().contains(new));

    // A token can rotate itself.
    let again = server.rotate(new, id).await.expect(200);
    assert_eq!(server.verify_code(new).await, "NOT_FOUND");
    assert_eq!(
        server
            .verify_code(again["token"].as_str().expect("secret"))
            .await,
        "VALID"
    );
}

#[tokio::test]
async fn revoked_and_expired_tokens_cannot_be_rotated() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let (_, revoked) = server.mint_named(&alice, "revoked").await;
    server.revoke(&alice, &revoked).await;
    let expiring =
        json!({"name": "expiring", "scopes": ["*"], "expires_at": server.in_seconds(10)});
    let (_, expired) = server.mint(&alice, expiring).await;
    server.clock.advance(11);
    for id in [revoked, expired] {
        let reply = server.rotate(&alice, &id).await;
        assert_eq!(reply.status.as_u16(), 409, "{reply:?}");
        assert!(reply.message().contains("mint a new one"), "{reply:?}");
    }
}

#[tokio::test]
async fn every_spelling_of_an_id_finds_the_token() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let (_, id) = server.mint_named(&alice, "ci").await;
    let parsed: TokenId = id.parse().expect("a token id");
    assert_eq!(parsed.native(), id);
    let turso = parsed.turso();
    let canonical = parsed.canonical();
    assert_eq!(turso.len(), 22);
    assert_eq!(canonical.len(), 36);
    for spelling in [&id, &turso, &canonical] {
        let token = server.token(&alice, spelling).await;
        assert_eq!(token["id"], json!(id), "answered in the native spelling");
    }
    server.revoke(&alice, &canonical).await;
    let token = server.token(&alice, &turso).await;
    assert_eq!(token["status"], "revoked");
}

#[tokio::test]
async fn a_token_expires_when_the_clock_passes_its_expiry() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let body = json!({"name": "short", "scopes": ["*"], "expires_at": server.in_seconds(60)});
    let (secret, id) = server.mint(&alice, body).await;
    server.get("/v1/tokens/self", &secret).await.expect(200);
    assert_eq!(server.verify_code(&secret).await, "VALID");

    server.clock.advance(60);
    let token = server.token(&alice, &id).await;
    assert_eq!(token["status"], "expired");
    let refused = server.get("/v1/tokens/self", &secret).await;
    assert_eq!(refused.status.as_u16(), 401);
    assert_eq!(
        refused.body,
        json!({"error": "unauthorized", "message": "Token has expired", "status": 401})
    );
    assert_eq!(server.verify_code(&secret).await, "EXPIRED");
    assert_eq!(
        names(&list(&server, &alice, "status=expired").await),
        ["short"]
    );
    assert_eq!(
        names(&list(&server, &alice, "status=active").await),
        ["account"]
    );
}

#[tokio::test]
async fn a_token_cannot_mint_one_that_outlives_it() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let body = json!({"name": "short", "scopes": ["*"], "expires_at": server.in_seconds(60)});
    let (short, _) = server.mint(&alice, body).await;
    let forever = json!({"name": "forever", "scopes": ["*"]});
    let forever = server.post("/v1/tokens", &short, forever).await;
    assert_eq!(forever.status.as_u16(), 403, "{forever:?}");
    assert!(forever.message().contains("outlives"), "{forever:?}");
    let shorter = json!({"name": "shorter", "scopes": ["*"], "expires_at": server.in_seconds(30)});
    server.mint(&short, shorter).await;
    let past = json!({"name": "past", "scopes": ["*"], "expires_at": server.in_seconds(-1)});
    let reply = server.post("/v1/tokens", &alice, past).await;
    assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
    assert_eq!(reply.body["issues"][0]["field"], "expires_at");
}

#[tokio::test]
async fn a_use_is_stamped_as_last_used_at() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let (secret, id) = server.mint_named(&alice, "ci").await;
    let path = format!("/v1/tokens/{id}");
    assert_eq!(
        server.get(&path, &alice).await.expect(200)["last_used_at"],
        Value::Null
    );

    server.clock.advance(30);
    let used_at = server.now().rfc3339();
    assert_eq!(server.verify_code(&secret).await, "VALID");
    server.flush_stamps().await;
    assert_eq!(
        server.get(&path, &alice).await.expect(200)["last_used_at"],
        json!(used_at)
    );

    server.clock.advance(30);
    let used_at = server.now().rfc3339();
    server.get("/v1/tokens/self", &secret).await.expect(200);
    server.flush_stamps().await;
    assert_eq!(
        server.get(&path, &alice).await.expect(200)["last_used_at"],
        json!(used_at)
    );
}

#[tokio::test]
async fn admins_list_every_token_and_members_their_own() {
    let server = TestServer::start().await;
    let team = server
        .team(
            "acme",
            "alice",
            &[("adam", "admin"), ("bob", "member"), ("vic", "viewer")],
        )
        .await;
    let [alice, adam, bob, vic] = [0, 1, 2, 3].map(|i| team[i].clone());
    for (bearer, name) in [(&alice, "alice's"), (&adam, "adam's"), (&bob, "bob's")] {
        let body = json!({"name": name, "scopes": ["tokens:read"], "organization": "acme"});
        server.mint(bearer, body).await;
    }
    let everyone = ["alice's", "adam's", "bob's"];
    assert_eq!(
        names(&list(&server, &alice, "organization=acme").await),
        everyone
    );
    assert_eq!(
        names(&list(&server, &adam, "organization=acme").await),
        everyone
    );
    assert_eq!(
        names(&list(&server, &bob, "organization=acme").await),
        ["bob's"]
    );
    assert!(names(&list(&server, &vic, "organization=acme").await).is_empty());
    // A member asking for someone else's tokens sees none, rather than an error.
    let others = list(&server, &bob, "organization=acme&owner=alice").await;
    assert_eq!(others["meta"]["total"], 0);
    // Root sees every organization's tokens.
    assert_eq!(
        names(&list(&server, &server.root, "organization=acme").await),
        everyone
    );
}

#[tokio::test]
async fn an_admin_mints_for_a_service_account_and_is_its_creator() {
    let server = TestServer::start().await;
    let team = server.team("acme", "alice", &[("adam", "admin")]).await;
    server.account_of_kind("deployer", "service").await;
    server
        .add_member(&server.root, "acme", "deployer", "member")
        .await;
    let body = json!({"name": "deploy", "scopes": ["tokens:read"], "organization": "acme", "owner": "deployer"});
    let minted = server.post("/v1/tokens", &team[1], body).await.expect(201);
    assert_eq!(minted["owner"], "deployer");
    assert_eq!(minted["created_by"], "adam@example.com");
    assert_eq!(minted["organization"], "acme");
}

/// A team with tokens to filter: (server, alice's token, the start time).
async fn filter_fixture() -> (TestServer, String, latchkey_core::Timestamp) {
    let server = TestServer::start().await;
    let team = server.team("acme", "alice", &[("bob", "member")]).await;
    let (alice, bob) = (&team[0], &team[1]);
    server.create_group(alice, "acme", "blue").await;
    let t0 = server.now();
    let day = 24 * 3600;
    let at = |seconds: i64| t0.plus_seconds(seconds).rfc3339();
    let tokens = [
        (
            alice,
            json!({"name": "CI Deploy Token", "scopes": ["tokens:read", "tokens:write"], "expires_at": at(day)}),
        ),
        (
            alice,
            json!({"name": "ci-nightly", "scopes": ["tokens:read"]}),
        ),
        (
            alice,
            json!({"name": "Audit", "scopes": ["audit:read"], "expires_at": at(10 * day)}),
        ),
        (bob, json!({"name": "bob ci", "scopes": ["tokens:read"]})),
        (
            alice,
            json!({"name": "blue-deployer", "scopes": ["read"], "group": "blue"}),
        ),
        (
            alice,
            json!({"name": "soon", "scopes": ["tokens:read"], "expires_at": at(60)}),
        ),
        (alice, json!({"name": "old", "scopes": ["tokens:read"]})),
    ];
    let mut secrets = Vec::new();
    for (bearer, mut body) in tokens {
        body["organization"] = json!("acme");
        secrets.push(server.mint(bearer, body).await);
    }
    server
        .delete(&format!("/v1/tokens/{}", secrets[6].1), alice)
        .await
        .expect(204);
    // ci-nightly is used at t0 + 10, Audit at t0 + 100; then `soon` expires.
    server.clock.advance(10);
    server.verify(&secrets[1].0).await;
    server.clock.advance(90);
    server.verify(&secrets[2].0).await;
    server.flush_stamps().await;
    (server, alice.clone(), t0)
}

#[tokio::test]
async fn every_filter_narrows_the_listing() {
    let (server, alice, t0) = filter_fixture().await;
    let at = |seconds: i64| t0.plus_seconds(seconds).rfc3339();
    let day = 24 * 3600;
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "".into(),
            vec![
                "CI Deploy Token",
                "ci-nightly",
                "Audit",
                "bob ci",
                "blue-deployer",
                "soon",
                "old",
            ],
        ),
        (
            "status=active".into(),
            vec![
                "CI Deploy Token",
                "ci-nightly",
                "Audit",
                "bob ci",
                "blue-deployer",
            ],
        ),
        ("status=expired".into(), vec!["soon"]),
        ("status=revoked".into(), vec!["old"]),
        (
            "name=ci".into(),
            vec!["CI Deploy Token", "ci-nightly", "bob ci"],
        ),
        (
            "name=DEPLOY".into(),
            vec!["CI Deploy Token", "blue-deployer"],
        ),
        ("name=%25".into(), vec![]),
        ("owner=bob".into(), vec!["bob ci"]),
        ("group=blue".into(), vec!["blue-deployer"]),
        ("scope=tokens:write".into(), vec!["CI Deploy Token"]),
        ("scope=read".into(), vec!["blue-deployer"]),
        (
            format!("expires_before={}", at(2 * day)),
            vec!["CI Deploy Token", "soon"],
        ),
        (format!("expires_after={}", at(2 * day)), vec!["Audit"]),
        (format!("last_used_before={}", at(50)), vec!["ci-nightly"]),
        (format!("last_used_after={}", at(50)), vec!["Audit"]),
        (
            "status=active&name=ci&owner=alice".into(),
            vec!["CI Deploy Token", "ci-nightly"],
        ),
        (
            "sort=name".into(),
            vec![
                "Audit",
                "CI Deploy Token",
                "blue-deployer",
                "bob ci",
                "ci-nightly",
                "old",
                "soon",
            ],
        ),
        (
            "sort=-created_at".into(),
            vec![
                "old",
                "soon",
                "blue-deployer",
                "bob ci",
                "Audit",
                "ci-nightly",
                "CI Deploy Token",
            ],
        ),
        (
            "sort=expires_at&status=active".into(),
            vec![
                "CI Deploy Token",
                "Audit",
                "ci-nightly",
                "bob ci",
                "blue-deployer",
            ],
        ),
        (
            "sort=-last_used_at&per_page=2".into(),
            vec!["Audit", "ci-nightly"],
        ),
    ];
    for (query, expected) in cases {
        let body = list(&server, &alice, &format!("organization=acme&{query}")).await;
        assert_eq!(names(&body), expected, "{query}");
        if !query.contains("per_page") {
            assert_eq!(body["meta"]["total"], expected.len(), "{query}");
        }
    }
}

#[tokio::test]
async fn numbered_pages_and_cursors_agree() {
    let (server, alice, _) = filter_fixture().await;
    let all = ids(&list(&server, &alice, "organization=acme&per_page=100").await);
    assert_eq!(all.len(), 7);
    let second = list(&server, &alice, "organization=acme&page=2&per_page=3").await;
    assert_eq!(ids(&second), all[3..6]);
    assert_eq!(second["meta"]["page"], 2);
    assert_eq!(second["meta"]["per_page"], 3);
    assert_eq!(second["meta"]["total"], 7);
    let beyond = list(&server, &alice, "organization=acme&page=9&per_page=3").await;
    assert!(ids(&beyond).is_empty());
    assert_eq!(beyond["meta"]["total"], 7);

    let first = list(&server, &alice, "organization=acme&per_page=3").await;
    assert_eq!(first["meta"]["page"], 1);
    let mut walked = ids(&first);
    let mut cursor = first["meta"]["next_cursor"].as_str().map(str::to_owned);
    while let Some(after) = cursor {
        let query = format!("organization=acme&per_page=3&cursor={after}");
        let page = list(&server, &alice, &query).await;
        assert!(
            page["meta"].get("page").is_none(),
            "a keyset page has no number"
        );
        walked.extend(ids(&page));
        cursor = page["meta"]["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(walked, all);
}

/// Walks every page of alice's tokens by `sort` and cursor, root minting and revoking between
/// pages; every token that existed before the walk must come exactly once. Root does the
/// walking so that no listed token is used (and re-stamped) along the way.
async fn walk_while_changing(sort: &str) {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let mut before = ids(&list(&server, &alice, "").await);
    for i in 0..23 {
        // Names out of creation order; expiries and uses with ties, so the id breaks them.
        let mut body = json!({"name": format!("t{:02}", i * 7 % 23), "scopes": ["*"]});
        if i % 3 != 0 {
            body["expires_at"] = json!(server.in_seconds(3600 * (i % 4 + 1)));
        }
        let (secret, id) = server.mint(&alice, body).await;
        if i % 2 == 0 {
            server.clock.advance(i % 5);
            server.verify(&secret).await;
        }
        before.push(id);
    }
    server.flush_stamps().await;

    let root = &server.root;
    let walk = format!("organization=alice&per_page=5&sort={sort}");
    let mut seen = Vec::new();
    let mut query = walk.clone();
    for round in 0.. {
        let page = list(&server, root, &query).await;
        seen.extend(ids(&page));
        let Some(cursor) = page["meta"]["next_cursor"].as_str() else {
            break;
        };
        query = format!("{walk}&cursor={cursor}");
        // Between pages: two new tokens, and one revoked (seen or not yet seen).
        for n in 0..2 {
            let body = json!({"name": format!("new-{round}-{n}"), "scopes": ["*"]});
            server.mint_for("alice", body).await;
        }
        server.revoke(root, &before[round * 7 % before.len()]).await;
        server.clock.advance(1);
    }
    for id in &before {
        let count = seen.iter().filter(|s| *s == id).count();
        assert_eq!(count, 1, "sort={sort}: {id} came {count} times");
    }
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "sort={sort}: a token came twice");
}

#[tokio::test]
async fn a_cursor_walk_sees_every_token_once_while_tokens_come_and_go() {
    for sort in [
        "created_at",
        "-created_at",
        "name",
        "-name",
        "expires_at",
        "-expires_at",
        "last_used_at",
        "-last_used_at",
    ] {
        walk_while_changing(sort).await;
    }
}
