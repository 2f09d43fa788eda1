//! The OpenAPI document, as served, against the committed snapshot: a change to any route,
//! parameter or shape shows up in review.

mod common;

use common::{TestServer, keys, operations};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let server = TestServer::start().await;
    insta::assert_json_snapshot!("openapi", server.openapi().await);
}

#[tokio::test]
async fn every_route_but_verify_and_health_documents_its_bearer_and_its_401() {
    let server = TestServer::start().await;
    let doc = server.openapi().await;
    for (method, path) in operations(&doc) {
        let operation = &doc["paths"][&path][method.to_lowercase()];
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        let has_401 = operation["responses"].get("401").is_some();
        let open = path == "/v1/tokens/verify" || path == "/health";
        assert_eq!((secured, has_401), (!open, !open), "{method} {path}");
    }
}

/// The property names of the schema a route documents for its 200, following `$ref`s and
/// `allOf`s.
fn documented_fields(doc: &Value, method: &str, path: &str) -> Vec<String> {
    let schema =
        &doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"];
    let mut fields = Vec::new();
    collect_fields(doc, schema, &mut fields);
    fields.sort_unstable();
    fields
}

fn collect_fields(doc: &Value, schema: &Value, fields: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return collect_fields(doc, &doc["components"]["schemas"][name], fields);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        collect_fields(doc, part, fields);
    }
    if let Some(properties) = schema["properties"].as_object() {
        fields.extend(properties.keys().cloned());
    }
}

/// Schemas share one namespace: two dialects' types of the same name would document one
/// dialect's answer for the other's route. Each mint answers what its document promises.
#[tokio::test]
async fn each_dialects_mint_answers_the_fields_it_documents() {
    let server = TestServer::start().await;
    let alice = server.account("alice").await;
    let doc = server.openapi().await;
    let native = json!({"name": "native", "scopes": ["*"]});
    let mints = [
        ("/v1/tokens", "/v1/tokens", Some(native)),
        (
            "/v1/auth/api-tokens/{tokenName}",
            "/v1/auth/api-tokens/turso",
            None,
        ),
        (
            "/v2/auth/api-tokens/{tokenName}",
            "/v2/auth/api-tokens/turso2",
            None,
        ),
        (
            "/v1/users/{username}/tokens",
            "/v1/users/alice/tokens",
            Some(json!({"name": "md"})),
        ),
    ];
    for (route, path, body) in mints {
        let reply = server.call(Method::POST, path, Some(&alice), body).await;
        assert!(reply.status.is_success(), "{path}: {reply:?}");
        let mut documented = documented_fields(&doc, "post", route);
        if documented.is_empty() {
            // The native mint documents its 201.
            let created = &doc["paths"][route]["post"]["responses"]["201"]["content"]["application/json"]
                ["schema"];
            collect_fields(&doc, created, &mut documented);
            documented.sort_unstable();
        }
        assert_eq!(keys(&reply.body), documented, "{route}");
    }
}
