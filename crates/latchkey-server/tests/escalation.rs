//! Ways a narrow token or a limited admin might try to get more than it holds.

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_narrow_token_cannot_take_over_a_wider_one_by_rotating_it() {
    let server = TestServer::start().await;
    let bob = server.account("bob").await;
    server.organization(&bob, "acme").await;
    let (_, full) = server
        .mint(
            &bob,
            json!({"name": "full", "scopes": ["*"], "organization": "acme"}),
        )
        .await;
    let (rotator, rotator_id) = server
        .mint(
            &bob,
            json!({"name": "ci", "scopes": ["tokens:rotate"], "organization": "acme"}),
        )
        .await;
    let (home, _) = server
        .mint(
            &bob,
            json!({"name": "home", "scopes": ["tokens:rotate"], "organization": "bob"}),
        )
        .await;
    let account_wide = server.get("/v1/tokens/self", &bob).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let rotate = |id: &str, bearer: &str| {
        let path = format!("/v1/tokens/{id}/rotate");
        let bearer = bearer.to_owned();
        let server = &server;
        async move { server.call(Method::POST, &path, Some(&bearer), None).await }
    };
    let wider = rotate(&full, &rotator).await;
    assert_eq!(wider.status, StatusCode::FORBIDDEN, "{wider:?}");
    assert!(
        wider.body["message"]
            .as_str()
            .unwrap()
            .contains("cannot take over"),
        "{wider:?}"
    );
    let further = rotate(&account_wide, &home).await;
    assert_eq!(further.status, StatusCode::FORBIDDEN, "{further:?}");
    assert!(
        further.body["message"]
            .as_str()
            .unwrap()
            .contains("reaches further"),
        "{further:?}"
    );

    assert_eq!(
        rotate(&rotator_id, &rotator).await.status,
        StatusCode::OK,
        "a token rotates itself"
    );
    assert_eq!(
        rotate(&full, &bob).await.status,
        StatusCode::OK,
        "a wider token rotates a narrower one"
    );
}

#[tokio::test]
async fn an_admin_deletes_a_service_account_only_if_it_administers_all_its_organizations() {
    let server = TestServer::start().await;
    let ada = server.account("ada").await;
    let eve = server.account("eve").await;
    server.organization(&ada, "acme").await;
    server.organization(&eve, "other").await;
    let created = server
        .post(
            "/v1/users",
            &ada,
            json!({"username": "robot", "organization": "acme"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
    server.add_member(&eve, "other", "robot", "member").await;

    for bearer in [&ada, &eve] {
        let refused = server.delete("/v1/users/robot", bearer).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");
    }
    let member_of_other = server.get("/v1/organizations/other/members", &eve).await;
    assert!(
        member_of_other.body.to_string().contains("robot"),
        "nothing was deleted"
    );

    let removed = server
        .call(
            Method::DELETE,
            "/v1/organizations/other/members/robot",
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{removed:?}");
    assert_eq!(
        server.delete("/v1/users/robot", &ada).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn minting_for_someone_does_not_tell_who_exists() {
    let server = TestServer::start().await;
    let ada = server.account("ada").await;
    server.account("eve").await;
    server.organization(&ada, "acme").await;
    let mint_for =
        |owner: &str| json!({"name": "x", "scopes": ["*"], "organization": "acme", "owner": owner});
    let stranger = server.post("/v1/tokens", &ada, mint_for("eve")).await;
    let nobody = server.post("/v1/tokens", &ada, mint_for("nobody")).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "{stranger:?}");
    assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{nobody:?}");
    let shape = |reply: &common::Reply, name: &str| {
        reply.body["message"]
            .as_str()
            .unwrap()
            .replace(name, "NAME")
    };
    assert_eq!(shape(&stranger, "eve"), shape(&nobody, "nobody"));
    let listed = server
        .get("/v1/tokens?organization=acme&owner=nobody", &ada)
        .await;
    assert_eq!(
        (listed.status, listed.body["meta"]["total"].as_u64()),
        (StatusCode::OK, Some(0))
    );
}

#[tokio::test]
async fn only_owners_make_owners_and_an_owner_can_then_step_down() {
    let server = TestServer::start().await;
    let ada = server.account("ada").await;
    let bob = server.account("bob").await;
    server.account("carol").await;
    server.organization(&ada, "acme").await;
    server.add_member(&ada, "acme", "bob", "admin").await;
    server.add_member(&ada, "acme", "carol", "member").await;
    let make = |who: &str, role: &str| {
        (
            format!("/v1/organizations/acme/members/{who}"),
            json!({"role": role}),
        )
    };

    let (path, body) = make("carol", "owner");
    let by_admin = server
        .call(Method::PATCH, &path, Some(&bob), Some(body.clone()))
        .await;
    assert_eq!(by_admin.status, StatusCode::FORBIDDEN, "{by_admin:?}");
    let by_owner = server
        .call(Method::PATCH, &path, Some(&ada), Some(body))
        .await;
    assert_eq!(by_owner.status, StatusCode::OK, "{by_owner:?}");
    let (path, body) = make("ada", "admin");
    let step_down = server
        .call(Method::PATCH, &path, Some(&ada), Some(body))
        .await;
    assert_eq!(step_down.status, StatusCode::OK, "{step_down:?}");
}

#[tokio::test]
async fn organization_names_are_checked() {
    let server = TestServer::start().await;
    let ada = server.account("ada").await;
    let reply = server
        .post(
            "/v1/organizations",
            &ada,
            json!({"slug": "acme", "name": "a\u{0}b"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert_eq!(
        reply.body,
        json!({"error": "name: must not contain control characters"})
    );
}
