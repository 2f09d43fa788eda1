//! Turso's official TypeScript client, pinned in `turso-client/package.json`, against a real
//! latchkey: the best judge of compatibility. Needs Node.js and npm (and the npm registry, or
//! npm's cache); CI must have them, elsewhere their absence skips the test visibly.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::TestServer;
use tokio::process::Command;

fn node_available() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn run(command: &mut Command, what: &str) -> String {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|error| panic!("{what} did not start: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

#[tokio::test]
async fn tursos_own_client_works_unchanged() {
    if !node_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Node.js for the Turso client test"
        );
        eprintln!("skipping the Turso client test: Node.js is not installed");
        return;
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/turso-client");
    let scratch = tempfile::tempdir().expect("a scratch folder");
    for file in ["package.json", "package-lock.json", "client.mjs"] {
        std::fs::copy(fixture.join(file), scratch.path().join(file)).expect("copy the fixture");
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(scratch.path()),
        "npm ci",
    )
    .await;

    let server = TestServer::start().await;
    let admin = server.account("ada").await;
    server.organization(&admin, "acme").await;
    server.account("newcomer").await;

    let stdout = run(
        Command::new("node")
            .arg("client.mjs")
            .current_dir(scratch.path())
            .env("LATCHKEY_URL", &server.base)
            .env("ADMIN_TOKEN", &admin)
            .env("ORG", "acme")
            .env("MEMBER", "newcomer"),
        "the Turso client script",
    )
    .await;
    assert!(stdout.contains("every check passed"), "{stdout}");
}
