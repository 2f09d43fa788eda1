//! The command-line client against the real binary serving on a fresh database.

mod common;

use std::process::Stdio;
use std::thread::sleep;
use std::time::Duration;

use common::{Run, Server, cli_with, command, free_port};

/// The table line that starts with `name`, split into its columns.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    let line = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{table}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The NAME column of a token table (between the header and the footer).
fn names(table: &str) -> Vec<&str> {
    let rows = table.lines().skip(1);
    let rows: Vec<_> = rows.filter_map(|l| l.split_whitespace().next()).collect();
    rows[..rows.len() - 1].to_vec()
}

#[test]
fn a_minted_token_verifies_until_revoked_and_is_listed_as_revoked() {
    let server = Server::start();
    let secret = server
        .cli(&["tokens", "create", "ci-deploy", "--read-only"])
        .ok();
    let secret = secret.trim();
    assert!(secret.starts_with("lk_live_"), "{secret}");
    assert_eq!(secret.lines().count(), 1);

    let valid = server.cli(&["tokens", "verify", secret]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    assert_eq!(valid.stdout.lines().next(), Some("VALID"));
    assert!(valid.stdout.contains("ci-deploy"));
    let id = row(&valid.stdout, "ID")[1].to_owned();
    assert!(id.starts_with("tok_"), "{id}");

    let revoked = server.cli(&["tokens", "revoke", &id, "--yes"]).ok();
    assert!(
        revoked.contains(&format!("Revoked token {id}")),
        "{revoked}"
    );

    let after = server.cli(&["tokens", "verify", secret]).fails(1, "");
    assert_eq!(after.stdout.lines().next(), Some("REVOKED"));
    assert!(after.stderr.is_empty(), "{}", after.stderr);

    let listed = server.cli(&["tokens", "list", "--status", "revoked"]).ok();
    let columns = row(&listed, "ci-deploy");
    assert!(columns.contains(&id.as_str()), "{listed}");
    assert!(columns.contains(&"revoked"), "{listed}");
    assert!(
        listed.lines().all(|l| !l.starts_with("root ")),
        "only revoked tokens: {listed}"
    );
    assert!(listed.trim_end().ends_with("1 token"), "{listed}");
}

#[test]
fn the_list_is_a_table_like_tursos() {
    let server = Server::start();
    server.cli(&["orgs", "create", "acme"]).ok();
    server.cli(&["groups", "create", "acme", "eu"]).ok();
    server.mint(&["reader", "--read-only"]);
    server.mint(&["admin", "--full-access"]);
    server.mint(&["mixed", "--scope", "read", "--scope", "tokens:read"]);
    server.mint(&["everything", "--all-rights", "--expires-in", "30d"]);

    // Uses are recorded within a second.
    let mut table = server.cli(&["tokens", "list"]).ok();
    for _ in 0..30 {
        if row(&table, "root")[6] != "never" {
            break;
        }
        sleep(Duration::from_millis(100));
        table = server.cli(&["tokens", "list"]).ok();
    }
    assert_eq!(
        row(&table, "NAME").join("|"),
        "NAME|SCOPE|PERMISSIONS|CREATED AT|ID|STATUS|LAST USED"
    );
    let root = row(&table, "root");
    assert_eq!(root[1..3], ["all", "—"]);
    assert_eq!(root[3].len(), "2026-01-15".len(), "a date: {}", root[3]);
    assert!(root[4].starts_with("tok_"));
    assert_eq!(root[5], "active");
    assert!(root[6].ends_with(" UTC"), "root's token was used: {table}");
    assert_eq!(row(&table, "reader")[1..3], ["root", "read-only"]);
    assert_eq!(row(&table, "admin")[2], "full-access");
    assert_eq!(row(&table, "mixed")[2], "read, tokens:read");
    assert_eq!(row(&table, "everything")[2], "—");
    assert!(table.trim_end().ends_with("5 tokens"), "{table}");

    let secret = server
        .cli(&[
            "tokens",
            "create",
            "pinned",
            "--organization",
            "acme",
            "--group",
            "eu",
            "--read-only",
        ])
        .ok();
    assert!(secret.starts_with("lk_live_"));
    let acme = server
        .cli(&["tokens", "list", "--organization", "acme"])
        .ok();
    let pinned = row(&acme, "pinned");
    assert_eq!(pinned[1..3], ["acme/eu", "read-only"]);
    assert_eq!(pinned[6], "never");
    assert!(acme.trim_end().ends_with("1 token"), "{acme}");

    // Turso's own table: the caller's live tokens across its organizations, four columns.
    let turso = server.cli(&["tokens", "list", "--format", "turso"]).ok();
    assert_eq!(
        row(&turso, "NAME").join("|"),
        "NAME|SCOPE|PERMISSIONS|CREATED AT"
    );
    assert_eq!(row(&turso, "root")[1..3], ["all", "—"]);
    assert_eq!(
        row(&turso, "reader")[1..3],
        ["root", "—"],
        "Turso lists scopes of group tokens only"
    );
    assert_eq!(row(&turso, "pinned")[1..3], ["acme/eu", "read-only"]);
    assert_eq!(row(&turso, "pinned")[3].len(), "2026-01-15".len());
    server
        .cli(&["tokens", "list", "--format", "turso", "--status", "active"])
        .fails(2, "cannot be used with");
}

#[test]
fn pages_cursors_and_all() {
    let server = Server::start();
    for name in ["job1", "job2", "job3", "job4"] {
        server.mint(&[name, "--read-only"]);
    }
    let first = server.cli(&["tokens", "list", "--per-page", "2"]).ok();
    let footer = first.lines().last().unwrap();
    assert!(
        footer.starts_with("2 of 5 tokens; next page: --cursor "),
        "{footer}"
    );
    let cursor = footer
        .split_whitespace()
        .skip_while(|w| *w != "--cursor")
        .nth(1)
        .unwrap();
    let second = server
        .cli(&["tokens", "list", "--per-page", "2", "--cursor", cursor])
        .ok();
    assert_eq!(names(&second), ["job2", "job3"], "{second}");

    let all = server.cli(&["tokens", "list", "--all", "--per-page", "2"]);
    let all = all.ok();
    for name in ["root", "job1", "job2", "job3", "job4"] {
        row(&all, name);
    }
    assert_eq!(all.lines().last(), Some("5 tokens"));
    let json = server
        .cli(&["tokens", "list", "--all", "--per-page", "2", "--json"])
        .json();
    assert_eq!(json["data"].as_array().unwrap().len(), 5);
    assert_eq!(json["meta"]["total"], 5);

    let filtered = server
        .cli(&[
            "tokens", "list", "--name", "JOB", "--sort", "-name", "--page", "1",
        ])
        .ok();
    assert_eq!(names(&filtered), ["job4", "job3", "job2", "job1"]);
}

#[test]
fn json_prints_the_servers_bodies() {
    let server = Server::start();
    let minted = server
        .cli(&["tokens", "create", "ci", "--read-only", "--json"])
        .json();
    let secret = minted["token"].as_str().unwrap();
    assert!(secret.starts_with("lk_live_"));
    assert_eq!(minted["scopes"], serde_json::json!(["read"]));
    let id = minted["id"].as_str().unwrap();

    let got = server.cli(&["tokens", "get", id, "--json"]).json();
    assert_eq!(got["name"], "ci");
    assert!(
        got.get("token").is_none(),
        "no secret outside create/rotate"
    );
    // The shared flags go before or after the command.
    let listed = server.cli(&["tokens", "--json", "list"]).json();
    assert_eq!(listed["meta"]["total"], 2);
    let verified = server.cli(&["tokens", "verify", secret, "--json"]).json();
    assert_eq!(verified["code"], "VALID");
    let me = server.cli(&["tokens", "self", "--json"]).json();
    assert_eq!(me["name"], "root");
    let orgs = server.cli(&["orgs", "list", "--json"]).json();
    assert_eq!(orgs["organizations"][0]["slug"], "root");
}

#[test]
fn create_prints_only_the_secret_and_rotate_replaces_it() {
    let server = Server::start();
    let run = server.cli(&[
        "tokens",
        "create",
        "ci",
        "--scope",
        "read",
        "--expires-at",
        "2999-01-15",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let secret = run.stdout.trim().to_owned();
    assert_eq!(run.stdout, format!("{secret}\n"));
    assert!(
        run.stderr.contains("Created token ci (tok_"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&secret));
    let id = row(&server.cli(&["tokens", "verify", &secret]).ok(), "ID")[1].to_owned();

    let details = server.cli(&["tokens", "get", &id]).ok();
    assert_eq!(row(&details, "EXPIRES")[1], "2999-01-15 00:00:00 UTC");
    assert_eq!(row(&details, "PERMISSIONS")[1], "read-only");
    assert!(!details.contains(&secret));

    let rotated = server.cli(&["tokens", "rotate", &id]);
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let new_secret = rotated.stdout.trim();
    assert!(new_secret.starts_with("lk_live_") && new_secret != secret);
    assert!(
        rotated.stderr.contains("Rotated token ci"),
        "{}",
        rotated.stderr
    );
    assert_eq!(server.cli(&["tokens", "verify", new_secret]).code, 0);
    let old = server.cli(&["tokens", "verify", &secret]).fails(1, "");
    assert_ne!(old.stdout.lines().next(), Some("VALID"));

    let me = server.cli_as(new_secret, &["tokens", "self"]).ok();
    assert_eq!(row(&me, "NAME")[1], "ci");
}

#[test]
fn verify_checks_scopes_and_reads_the_secret_from_stdin() {
    let server = Server::start();
    let (secret, _) = server.mint(&["reader", "--read-only"]);
    let forbidden = server
        .cli(&["tokens", "verify", &secret, "--scope", "db:create"])
        .fails(1, "");
    assert_eq!(forbidden.stdout.lines().next(), Some("FORBIDDEN"));

    let mut child = command()
        .args(["tokens", "verify", "-"])
        .env("LATCHKEY_URL", &server.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!("{secret}\n").as_bytes(),
    )
    .unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.stdout.lines().next(), Some("VALID"), "{}", run.stderr);
    assert_eq!(row(&run.stdout, "OWNER")[1], "root");

    let garbage = cli_with(&server.url, None, &["tokens", "verify", "x"]).fails(1, "");
    assert_eq!(garbage.stdout.trim(), "MALFORMED");
}

#[test]
fn create_checks_its_flags_before_sending() {
    // Nothing listens here: a request would fail with "could not reach".
    let url = format!("http://127.0.0.1:{}", free_port());
    let cases: &[(&[&str], &str)] = &[
        (&["--group", "eu", "--read-only"], "--organization"),
        (&["--organization", "acme", "--group", "eu"], "--scope"),
        (&[], "--read-only"),
        (&["--read-only", "--scope", "read"], "cannot be used with"),
        (&["--read-only", "--full-access"], "cannot be used with"),
        (
            &["--organization", "acme", "--group", "eu", "--all-rights"],
            "cannot be used with",
        ),
        (
            &["--all-rights", "--account-wide", "--organization", "acme"],
            "cannot be used with",
        ),
        (
            &["--read-only", "--expires-in", "soon"],
            "90s, 45m, 12h, 30d or 2w",
        ),
        (&["--read-only", "--expires-at", "tomorrow"], "ISO 8601"),
        (
            &[
                "--read-only",
                "--expires-at",
                "2999-01-01",
                "--expires-in",
                "1d",
            ],
            "cannot be used with",
        ),
        (&["--read-only", "--token-type", "admin"], "read_write"),
    ];
    for (flags, expected) in cases {
        let args = [&["tokens", "create", "x"], *flags].concat();
        let run = cli_with(&url, Some("lk_live_x"), &args).fails(2, expected);
        assert!(!run.stderr.contains("could not reach"), "{args:?}");
    }
}

#[test]
fn revoke_asks_and_refuses_without_a_terminal() {
    let server = Server::start();
    let (secret, id) = server.mint(&["keep", "--read-only"]);
    let run = server
        .cli(&["tokens", "revoke", &id])
        .fails(1, "error: refusing to revoke token");
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(
        server.cli(&["tokens", "verify", &secret]).code,
        0,
        "still valid"
    );

    for destructive in [
        &["orgs", "delete", "root"][..],
        &["accounts", "delete", "root"],
        &["groups", "delete", "root", "g"],
        &["members", "remove", "root", "root"],
    ] {
        server.cli(destructive).fails(1, "pass --yes");
    }
}

#[test]
fn errors_are_readable_and_exit_1() {
    let server = Server::start();
    const UNKNOWN: &str = "01890a5d-ac96-774b-bcce-b302099a8057";
    let unknown = server
        .cli(&["tokens", "get", UNKNOWN])
        .fails(1, "error: no token with id");
    assert!(unknown.stdout.is_empty());
    server
        .cli(&["tokens", "revoke", UNKNOWN, "--yes"])
        .fails(1, "no token with id");

    let bad_scopes = [
        "tokens", "create", "x", "--scope", "bogus", "--scope", "db:nope",
    ];
    server
        .cli(&bad_scopes)
        .fails(1, "error: ")
        .fails(1, "\n  scopes: unknown scope 'bogus'\n")
        .fails(1, "\n  scopes: unknown scope 'db:nope'\n");

    let (secret, _) = server.mint(&["oops", "--read-only"]);
    let pasted = server
        .cli(&["tokens", "get", &secret])
        .fails(1, "looks like a secret");
    assert!(!pasted.stderr.contains(&secret));

    let wrong = server
        .cli_as("lk_live_nothing", &["tokens", "list"])
        .fails(1, "LATCHKEY_TOKEN");
    assert!(!wrong.stderr.contains("lk_live_nothing"));
    cli_with(&server.url, None, &["orgs", "list"]).fails(1, "no API token");
    let missing = server.cli(&["orgs", "get", "nope"]).fails(1, "");
    assert_eq!(missing.stderr, "error: organization 'nope' not found\n");

    let url = format!("http://127.0.0.1:{}", free_port());
    let reach = format!("error: could not reach the latchkey server at {url}: ");
    let unreachable = cli_with(&url, Some(&server.root), &["tokens", "list"]).fails(1, &reach);
    assert!(!unreachable.stderr.contains(&server.root));
    cli_with("localhost:8080", Some("t"), &["orgs", "list"]).fails(1, "is not a server URL");
    server
        .cli(&["tokens", "list", "--status", "lost"])
        .fails(2, "possible values: active, expired, revoked");
}

#[test]
fn organizations_round_trip() {
    let server = Server::start();
    let created = server
        .cli(&["orgs", "create", "acme", "--name", "Acme Inc"])
        .ok();
    assert_eq!(
        created.trim(),
        "Created organization acme; you are its owner."
    );
    let listed = server.cli(&["orgs", "list"]).ok();
    assert_eq!(row(&listed, "SLUG"), ["SLUG", "NAME", "TYPE", "CREATED AT"]);
    assert_eq!(row(&listed, "acme")[1..3], ["Acme Inc", "team"]);
    assert_eq!(row(&listed, "root")[2], "personal");

    server.cli(&["orgs", "rename", "acme", "Acme Corp"]).ok();
    let got = server.cli(&["orgs", "get", "acme"]).ok();
    assert_eq!(row(&got, "NAME")[1], "Acme Corp");

    let deleted = server.cli(&["orgs", "delete", "acme", "--yes"]).ok();
    assert_eq!(deleted.trim(), "Deleted organization acme.");
    server.cli(&["orgs", "get", "acme"]).fails(1, "not found");
}

#[test]
fn members_round_trip() {
    let server = Server::start();
    server.cli(&["orgs", "create", "acme"]).ok();
    server
        .cli(&[
            "accounts",
            "create",
            "alice",
            "--email",
            "alice@example.com",
        ])
        .ok();
    let added = server
        .cli(&["members", "add", "acme", "alice", "--role", "viewer"])
        .ok();
    assert_eq!(added.trim(), "Added alice to acme as viewer.");
    let listed = server.cli(&["members", "list", "acme"]).ok();
    assert_eq!(row(&listed, "USERNAME"), ["USERNAME", "EMAIL", "ROLE"]);
    assert_eq!(row(&listed, "alice")[1..], ["alice@example.com", "viewer"]);
    assert_eq!(row(&listed, "root")[2], "owner");

    server
        .cli(&["members", "set-role", "acme", "alice", "admin"])
        .ok();
    let listed = server.cli(&["members", "list", "acme"]).ok();
    assert_eq!(row(&listed, "alice")[2], "admin");
    assert_eq!(
        server
            .cli(&["members", "set-role", "acme", "alice", "owner"])
            .code,
        2,
        "owner cannot be given"
    );

    server
        .cli(&["members", "remove", "acme", "alice", "--yes"])
        .ok();
    let listed = server.cli(&["members", "list", "acme"]).ok();
    assert!(!listed.contains("alice"), "{listed}");
}

#[test]
fn groups_round_trip_and_deleting_one_revokes_its_tokens() {
    let server = Server::start();
    server.cli(&["orgs", "create", "acme"]).ok();
    let created = server.cli(&["groups", "create", "acme", "eu"]).ok();
    assert_eq!(created.trim(), "Created group acme/eu.");
    let listed = server.cli(&["groups", "list", "acme"]).ok();
    assert_eq!(row(&listed, "NAME"), ["NAME", "UUID", "CREATED AT"]);
    let uuid = row(&listed, "eu")[1].to_owned();
    let got = server.cli(&["groups", "get", "acme", "eu"]).ok();
    assert_eq!(row(&got, "UUID")[1], uuid);

    let (secret, _) = server.mint(&[
        "pinned",
        "--organization",
        "acme",
        "--group",
        "eu",
        "--full-access",
    ]);
    server
        .cli(&["groups", "delete", "acme", "eu", "--yes"])
        .ok();
    server
        .cli(&["groups", "get", "acme", "eu"])
        .fails(1, "no group named 'eu'");
    let after = server.cli(&["tokens", "verify", &secret]).fails(1, "");
    assert_ne!(after.stdout.lines().next(), Some("VALID"));
}

#[test]
fn accounts_round_trip() {
    let server = Server::start();
    let created = server
        .cli(&["accounts", "create", "ci-bot", "--service"])
        .ok();
    assert_eq!(created.trim(), "Created service account ci-bot.");
    let listed = server.cli(&["accounts", "list"]).ok();
    assert_eq!(
        row(&listed, "USERNAME"),
        ["USERNAME", "EMAIL", "KIND", "ROOT", "CREATED AT", "ID"]
    );
    assert_eq!(row(&listed, "ci-bot")[1..4], ["—", "service", "false"]);
    assert_eq!(row(&listed, "root")[3], "true");

    // Root mints for the service account, which then acts as itself.
    let secret = server
        .cli(&[
            "tokens",
            "create",
            "deploy",
            "--owner",
            "ci-bot",
            "--all-rights",
        ])
        .ok();
    let me = server
        .cli_as(secret.trim(), &["accounts", "get", "ci-bot"])
        .ok();
    assert_eq!(row(&me, "KIND")[1], "service");

    server.cli(&["accounts", "delete", "ci-bot", "--yes"]).ok();
    server
        .cli(&["accounts", "get", "ci-bot"])
        .fails(1, "ci-bot");
    assert_ne!(server.cli(&["tokens", "verify", secret.trim()]).code, 0);
}

#[test]
fn the_root_email_is_the_creator_of_what_root_mints() {
    let server = Server::start_with(&["--root-email", "ops@example.com"]);
    let (_, id) = server.mint(&["deploy", "--scope", "tokens:read"]);
    let token = server.cli(&["tokens", "get", &id, "--json"]).json();
    assert_eq!(token["created_by"], "ops@example.com");
}
