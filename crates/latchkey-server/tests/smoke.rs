mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn mint_list_verify_revoke_rotate() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let (secret, id) = server
        .mint(&alice, json!({"name": "ci", "scopes": ["tokens:read"]}))
        .await;
    assert_eq!(server.verify(&secret).await["code"], "VALID");
    let list = server
        .get("/v1/tokens?page=1&per_page=25&status=active", &alice)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body["meta"]["total"], 2, "{list:?}");
    let rotated = server
        .post(&format!("/v1/tokens/{id}/rotate"), &alice, json!(null))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    assert_eq!(server.verify(&secret).await["code"], "NOT_FOUND");
    let new_secret = rotated.body["token"].as_str().unwrap();
    assert_eq!(server.verify(new_secret).await["code"], "VALID");
    assert_eq!(
        server
            .delete(&format!("/v1/tokens/{id}"), &alice)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(server.verify(new_secret).await["code"], "REVOKED");
}
