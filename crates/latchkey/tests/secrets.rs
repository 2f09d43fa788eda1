//! No secret ever reaches the server's output, even at the most verbose log level.

mod common;

use common::Server;

#[test]
fn no_secret_reaches_the_logs() {
    let server = Server::start_logging("trace");
    let mut secrets = vec![server.root.clone()];

    server
        .cli(&[
            "accounts",
            "create",
            "alice",
            "--email",
            "alice@example.com",
        ])
        .ok();
    let (secret, id) = server.mint(&["ci", "--scope", "tokens:read", "--owner", "alice"]);
    secrets.push(secret.clone());
    server
        .cli(&["tokens", "verify", &secret, "--scope", "tokens:read"])
        .ok();
    let forbidden = server.cli(&["tokens", "verify", &secret, "--scope", "tokens:write"]);
    assert!(
        forbidden.code == 1 && forbidden.stdout.contains("FORBIDDEN"),
        "{}",
        forbidden.stdout
    );
    let verdict = |secret: &str, code: &str| {
        let run = server.cli(&["tokens", "verify", secret, "--scope", "tokens:read"]);
        assert!(
            run.code == 1 && run.stdout.contains(code),
            "{code}: {}",
            run.stdout
        );
    };

    let rotated = server
        .cli(&["tokens", "rotate", &id])
        .ok()
        .trim()
        .to_owned();
    secrets.push(rotated.clone());
    // The old secret as a bearer, and as the question of a verify.
    server
        .cli_as(&secret, &["tokens", "list"])
        .fails(1, "error:");
    verdict(&secret, "NOT_FOUND");
    // A secret pasted where a scope belongs is quoted back redacted, if at all.
    let pasted = server
        .cli(&["tokens", "create", "oops", "--scope", &rotated])
        .fails(1, "unknown scope");
    assert!(!pasted.stderr.contains(&rotated), "{}", pasted.stderr);

    server.cli(&["tokens", "revoke", &id, "--yes"]).ok();
    verdict(&rotated, "REVOKED");

    let logs = server.logs();
    assert!(
        logs.contains("minted token"),
        "the logs were captured:\n{logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret is in the logs:\n{logs}"
        );
        let body = &secret[secret.len() - 36..];
        assert!(!logs.contains(body), "a secret's body is in the logs");
    }
}
