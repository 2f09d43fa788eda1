//! The OpenAPI document, as served, against the committed snapshot: a change to any route,
//! parameter or shape shows up in review.

mod common;

use common::{TestServer, operations};

#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let server = TestServer::start().await;
    insta::assert_json_snapshot!("openapi", server.openapi().await);
}

#[tokio::test]
async fn every_route_but_verify_documents_its_bearer_and_its_401() {
    let server = TestServer::start().await;
    let doc = server.openapi().await;
    for (method, path) in operations(&doc) {
        let operation = &doc["paths"][&path][method.to_lowercase()];
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        let has_401 = operation["responses"].get("401").is_some();
        let open = path == "/v1/tokens/verify";
        assert_eq!((secured, has_401), (!open, !open), "{method} {path}");
    }
}
