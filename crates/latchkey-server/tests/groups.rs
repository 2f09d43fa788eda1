//! Group tokens: pinned to the group's identity, confined to it, revoked with it.

mod common;

use common::TestServer;
use serde_json::{Value, json};

/// Alice owns acme with groups `blue` and `red`; bob is an admin. Returns the server and
/// alice's and bob's account-wide tokens.
async fn acme() -> (TestServer, String, String) {
    let server = TestServer::start().await;
    let team = server.team("acme", "alice", &[("bob", "admin")]).await;
    for group in ["blue", "red"] {
        server.create_group(&team[0], "acme", group).await;
    }
    (server, team[0].clone(), team[1].clone())
}

/// A mint body for a token pinned to `group` of acme.
fn pinned(name: &str, group: &str) -> Value {
    let scopes = ["tokens:read", "tokens:write", "tokens:revoke"];
    json!({"name": name, "scopes": scopes, "organization": "acme", "group": group})
}

/// A mint body for a token of the whole of acme.
fn org_wide(name: &str) -> Value {
    json!({"name": name, "scopes": ["*"], "organization": "acme"})
}

fn names(list: &Value) -> Vec<&str> {
    let data = list["data"].as_array().expect("data");
    data.iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect()
}

#[tokio::test]
async fn deleting_a_group_revokes_its_tokens_for_good() {
    let (server, alice, bob) = acme().await;
    let (alices, alices_id) = server.mint(&alice, pinned("alice blue", "blue")).await;
    let (bobs, _) = server.mint(&bob, pinned("bob blue", "blue")).await;
    let (red, _) = server.mint(&alice, pinned("alice red", "red")).await;
    let (whole, _) = server.mint(&alice, org_wide("org")).await;
    for secret in [&alices, &bobs, &red, &whole] {
        assert_eq!(server.verify_code(secret).await, "VALID");
        assert_eq!(server.self_status(secret).await, 200);
    }
    let blue = "/v1/organizations/acme/groups/blue";
    let old = server.get(blue, &alice).await.expect(200);

    server.delete(blue, &alice).await.expect(200);
    for secret in [&alices, &bobs] {
        assert_eq!(server.verify_code(secret).await, "REVOKED");
        assert_eq!(server.self_status(secret).await, 401);
    }
    for secret in [&red, &whole] {
        assert_eq!(server.verify_code(secret).await, "VALID");
    }
    let record = server.token(&alice, &alices_id).await;
    assert_eq!(
        (&record["status"], &record["group"]),
        (&json!("revoked"), &json!("blue"))
    );

    // A new group of the same name is another group: the old tokens stay revoked.
    let new = server.create_group(&alice, "acme", "blue").await;
    assert_ne!(new["group"]["uuid"], old["group"]["uuid"]);
    for secret in [&alices, &bobs] {
        assert_eq!(server.verify_code(secret).await, "REVOKED");
    }
    let listed = server
        .get("/v1/tokens?organization=acme&group=blue", &alice)
        .await;
    assert!(names(&listed.expect(200)).is_empty());
    let (fresh, _) = server.mint(&alice, pinned("alice blue", "blue")).await;
    assert_eq!(server.verify_code(&fresh).await, "VALID");
}

#[tokio::test]
async fn a_group_token_sees_and_acts_in_its_group_only() {
    let (server, alice, _) = acme().await;
    let (blue, _) = server.mint(&alice, pinned("blue", "blue")).await;
    let (_, blue_other_id) = server.mint(&alice, pinned("blue 2", "blue")).await;
    let (_, red_id) = server.mint(&alice, pinned("red", "red")).await;
    let (_, whole_id) = server.mint(&alice, org_wide("org")).await;

    let listed = server.get("/v1/tokens", &blue).await.expect(200);
    assert_eq!(names(&listed), ["blue", "blue 2"]);
    let red_only = server.get("/v1/tokens?group=red", &blue).await.expect(200);
    assert!(names(&red_only).is_empty());
    for id in [&red_id, &whole_id] {
        let path = format!("/v1/tokens/{id}");
        assert_eq!(server.get_status(&path, &blue).await, 404);
        assert_eq!(server.delete(&path, &blue).await.status.as_u16(), 404);
    }
    server.token(&blue, &blue_other_id).await;

    // It mints only within its group, and only scopes it holds.
    let child = server
        .post("/v1/tokens", &blue, pinned("child", "blue"))
        .await;
    assert_eq!(child.expect(201)["group"], "blue");
    let mut more = pinned("more", "blue");
    more["scopes"] = json!(["tokens:rotate"]);
    let refused = [
        pinned("elsewhere", "red"),
        json!({"name": "wider", "scopes": ["tokens:read"]}),
        more,
    ];
    for body in refused {
        let reply = server.post("/v1/tokens", &blue, body).await;
        assert_eq!(reply.status.as_u16(), 403, "{reply:?}");
    }
}

#[tokio::test]
async fn presets_are_expanded_before_storing() {
    let (server, alice, _) = acme().await;
    let mut full = pinned("full", "blue");
    full["scopes"] = json!(["full-access"]);
    let minted = server.post("/v1/tokens", &alice, full).await.expect(201);
    let scopes = minted["scopes"].as_array().expect("scopes");
    assert_eq!(scopes.len(), 9, "{scopes:?}");
    assert!(!scopes.contains(&json!("full-access")));

    let mut read_only = pinned("ro", "blue");
    read_only["scopes"] = json!(["read-only"]);
    let minted = server
        .post("/v1/tokens", &alice, read_only)
        .await
        .expect(201);
    assert_eq!(minted["scopes"], json!(["read"]));
    assert_eq!(minted["read_only"], true);
}
