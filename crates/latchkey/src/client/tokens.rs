//! `latchkey tokens …`: the native API's `/v1/tokens`.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use latchkey_core::{ScopeCatalog, Timestamp, TokenId};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::http::{Client, Failure};
use super::output::{self, NONE, moment, strings, text};
use super::{Ctx, Yes, wire};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the tokens of an organization (by default your token's), oldest first.
    List(ListArgs),
    /// Mint a token. Prints only its secret on standard output, so `$(latchkey tokens create …)`
    /// captures it; the secret is shown this once.
    Create(CreateArgs),
    /// Show one token (revoked and expired ones too).
    Get(TokenRef),
    /// Give a token a new secret and print it; the old secret stops working at once.
    Rotate(TokenRef),
    /// Revoke a token: its secret stops working at once; the record stays.
    Revoke {
        #[command(flatten)]
        token: TokenRef,
        #[command(flatten)]
        yes: Yes,
    },
    /// Check a secret as a platform would. Exit code 0 only when it is VALID.
    Verify(VerifyArgs),
    /// Show the token you are acting with.
    #[command(name = "self")]
    Current,
}

#[derive(Args, Debug)]
pub struct TokenRef {
    /// tok_…, the 22-character id or the UUID.
    id: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// The organization's slug [default: your token's organization].
    #[arg(long)]
    organization: Option<String>,
    #[arg(long, value_enum)]
    status: Option<Status>,
    /// Only names containing this (case-insensitive).
    #[arg(long)]
    name: Option<String>,
    /// Only this owner's tokens (a username).
    #[arg(long, value_name = "USERNAME")]
    owner: Option<String>,
    /// Only tokens pinned to this group.
    #[arg(long)]
    group: Option<String>,
    /// Only tokens whose scopes include this one.
    #[arg(long)]
    scope: Option<String>,
    /// created_at (default), name, expires_at or last_used_at; `-` in front for descending.
    #[arg(long, allow_hyphen_values = true, value_name = "FIELD")]
    sort: Option<String>,
    /// Page number, from 1.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), conflicts_with_all = ["cursor", "all"])]
    page: Option<u32>,
    /// Tokens per page, 1 to 100 [default: 25; 100 with --all].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    per_page: Option<u32>,
    /// Continue where a listing's next cursor left off (with the same filters).
    #[arg(long, conflicts_with = "all")]
    cursor: Option<String>,
    /// Walk every page.
    #[arg(long)]
    all: bool,
    /// `turso`: Turso's table of your live tokens across all your organizations (NAME, SCOPE,
    /// PERMISSIONS, CREATED AT), from Turso's `GET /v1/auth/api-tokens`.
    #[arg(long, value_enum, default_value = "latchkey", conflicts_with_all = [
        "organization", "status", "name", "owner", "group", "scope", "sort", "page", "per_page", "cursor", "all",
    ])]
    format: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Latchkey,
    Turso,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Status {
    Active,
    Expired,
    Revoked,
}

#[derive(Args, Debug)]
#[command(group(
    ArgGroup::new("rights")
        .required(true)
        .args(["scopes", "read_only", "full_access", "all_rights"])
))]
pub struct CreateArgs {
    /// Unique among the owner's live tokens.
    name: String,
    /// A scope to grant (repeatable): read, db:create, tokens:read, … or a preset's name.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// The read-only preset (`read`).
    #[arg(long)]
    read_only: bool,
    /// The full-access preset (every platform scope).
    #[arg(long)]
    full_access: bool,
    /// Every right of the owner within the token's reach (sends `*`; not for group tokens).
    #[arg(long, conflicts_with = "group")]
    all_rights: bool,
    /// When the token expires: 2027-01-15T09:00:00Z or 2027-01-15 [default: never].
    #[arg(long, value_parser = expiry_date, value_name = "ISO 8601")]
    expires_at: Option<String>,
    /// Expire after this long: 30d, 12h, 45m, 90s or 2w.
    #[arg(long, value_parser = duration_seconds, conflicts_with = "expires_at", value_name = "DURATION")]
    expires_in: Option<i64>,
    /// The organization's slug [default: your token's organization].
    #[arg(long)]
    organization: Option<String>,
    /// Pin the token to this group of --organization (admins and owners; needs scopes).
    #[arg(long, requires = "organization")]
    group: Option<String>,
    /// Mint for this account (a service account of the organization, or anyone with root).
    #[arg(long, value_name = "USERNAME")]
    owner: Option<String>,
    /// Reach every organization of the owner instead of one.
    #[arg(long, conflicts_with_all = ["organization", "group"])]
    account_wide: bool,
    /// read_write, or read_scaling for read replicas (Turso) [default: read_write].
    #[arg(long, value_enum, value_name = "TYPE", hide_possible_values = true)]
    token_type: Option<TokenType>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum TokenType {
    #[value(name = "read_write")]
    ReadWrite,
    #[value(name = "read_scaling")]
    ReadScaling,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The secret to check; `-` reads it from standard input (out of your shell history).
    secret: String,
    /// A scope the token must grant (repeatable); otherwise the answer is FORBIDDEN.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// An organization the token must act in.
    #[arg(long)]
    organization: Option<String>,
}

pub async fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::List(args) => list(ctx, args).await,
        Command::Create(args) => create(ctx, args).await,
        Command::Get(token) => show(ctx, &["v1", "tokens", &token_id(&token.id)?]).await,
        Command::Current => show(ctx, &["v1", "tokens", "self"]).await,
        Command::Rotate(token) => {
            let id = token_id(&token.id)?;
            let url = ctx.client.url(&["v1", "tokens", &id, "rotate"]);
            let body = ctx.client.send(Method::POST, url, None).await?;
            Ok(reveal(
                ctx,
                &body,
                "Rotated",
                "the old secret no longer works; ",
            ))
        }
        Command::Revoke { token, yes } => revoke(ctx, &token_id(&token.id)?, yes.yes).await,
        Command::Verify(args) => verify(ctx, args).await,
    }
}

/// Checks an id here, so that a secret pasted by mistake is never sent in a URL nor echoed.
fn token_id(raw: &str) -> Result<String, Failure> {
    raw.parse::<TokenId>().map(|id| id.native()).map_err(|_| {
        Failure::Local(if raw.contains("_live_") || raw.contains("_test_") {
            "that looks like a secret, not a token id (tok_…): `latchkey tokens verify` shows a \
             secret's id"
                .to_owned()
        } else {
            let shown: String = raw.chars().take(40).collect();
            format!(
                "'{shown}' is not a token id: expected tok_ and 24 letters or digits, a \
                 22-character id or a UUID"
            )
        })
    })
}

// --- presets -----------------------------------------------------------------------------------

/// The server's presets, to name a token's permissions as Turso's CLI does.
struct Presets(BTreeMap<String, Vec<String>>);

impl Presets {
    /// The default catalog's presets, for a server without `GET /v1/scopes` or a caller
    /// without a token.
    fn fallback() -> Self {
        Self(ScopeCatalog::default().presets().clone())
    }

    /// Asks the server; falls back when it cannot say (they only serve display).
    async fn fetch(client: &Client) -> Result<Self, Failure> {
        if !client.has_token() {
            return Ok(Self::fallback());
        }
        match client.get(&["v1", "scopes"]).await {
            Ok(body) => Ok(body
                .get("presets")
                .and_then(|p| serde_json::from_value(p.clone()).ok())
                .map_or_else(Self::fallback, Self)),
            Err(Failure::Api { .. }) => Ok(Self::fallback()),
            Err(other) => Err(other),
        }
    }

    /// `—` for no scopes (every right of the owner), a preset's name when the scopes are
    /// exactly its expansion, else the scopes.
    fn permissions(&self, token: &Value) -> String {
        let scopes = strings(token, "scopes");
        if scopes.is_empty() {
            return NONE.to_owned();
        }
        let sorted = |list: &[String]| {
            let mut list = list.to_vec();
            list.sort();
            list.dedup();
            list
        };
        let wanted = sorted(&scopes);
        self.0
            .iter()
            .find(|(_, expansion)| sorted(expansion) == wanted)
            .map_or_else(|| scopes.join(", "), |(name, _)| name.clone())
    }
}

/// `all` for an account-wide token (Turso's lists name no organization for them), else `<org>`
/// or `<org>/<group>`.
fn reach(token: &Value) -> String {
    if token.get("account_wide").and_then(Value::as_bool) == Some(true)
        || token.get("organization").is_none()
    {
        return "all".to_owned();
    }
    match token.get("group").and_then(Value::as_str) {
        Some(group) => format!("{}/{group}", text(token, "organization")),
        None => text(token, "organization"),
    }
}

fn details(token: &Value, presets: &Presets) -> Vec<(&'static str, String)> {
    let scopes = strings(token, "scopes");
    vec![
        ("ID", text(token, "id")),
        ("NAME", text(token, "name")),
        ("STATUS", text(token, "status")),
        ("OWNER", text(token, "owner")),
        ("ORGANIZATION", text(token, "organization")),
        ("SCOPE", reach(token)),
        ("PERMISSIONS", presets.permissions(token)),
        (
            "SCOPES",
            if scopes.is_empty() {
                "every right of the owner".to_owned()
            } else {
                scopes.join(" ")
            },
        ),
        ("TOKEN TYPE", text(token, "token_type")),
        ("READ ONLY", text(token, "read_only")),
        ("CREATED BY", text(token, "created_by")),
        ("CREATED AT", moment(token, "created_at", NONE)),
        ("EXPIRES AT", moment(token, "expires_at", "never")),
        ("LAST USED", moment(token, "last_used_at", "never")),
        ("HINT", text(token, "hint")),
    ]
}

// --- commands ----------------------------------------------------------------------------------

async fn show(ctx: &Ctx, segments: &[&str]) -> Result<ExitCode, Failure> {
    let (presets, token) = tokio::try_join!(Presets::fetch(&ctx.client), ctx.client.get(segments))?;
    if ctx.json {
        output::print_json(&token);
    } else {
        output::print_details(&details(&token, &presets));
    }
    Ok(ExitCode::SUCCESS)
}

impl ListArgs {
    fn query(&self) -> Vec<(&'static str, String)> {
        let filters = [
            ("organization", self.organization.clone()),
            ("status", self.status.as_ref().map(wire)),
            ("name", self.name.clone()),
            ("owner", self.owner.clone()),
            ("group", self.group.clone()),
            ("scope", self.scope.clone()),
            ("sort", self.sort.clone()),
            ("page", self.page.map(|n| n.to_string())),
            (
                "per_page",
                self.per_page
                    .or(self.all.then_some(100))
                    .map(|n| n.to_string()),
            ),
            ("cursor", self.cursor.clone()),
        ];
        filters
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| (key, v)))
            .collect()
    }
}

async fn list_page(client: &Client, query: &[(&str, String)]) -> Result<Value, Failure> {
    let mut url = client.url(&["v1", "tokens"]);
    url.query_pairs_mut().extend_pairs(query);
    client.send(Method::GET, url, None).await
}

/// Turso's four columns, then latchkey's.
const HEADERS: &[&str] = &[
    "NAME",
    "SCOPE",
    "PERMISSIONS",
    "CREATED AT",
    "ID",
    "STATUS",
    "LAST USED",
];

/// Turso's own listing, printed as `turso auth api-tokens list` does.
async fn list_turso(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let (presets, body) = tokio::try_join!(
        Presets::fetch(&ctx.client),
        ctx.client.get(&["v1", "auth", "api-tokens"])
    )?;
    if ctx.json {
        output::print_json(&body);
        return Ok(ExitCode::SUCCESS);
    }
    let tokens = body["tokens"].as_array().cloned().unwrap_or_default();
    output::print_table(
        &HEADERS[..4],
        tokens.iter().map(|token| {
            vec![
                text(token, "name"),
                reach(token),
                presets.permissions(token),
                text(token, "created_at"),
            ]
        }),
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(ctx: &Ctx, args: ListArgs) -> Result<ExitCode, Failure> {
    if args.format == Format::Turso {
        return list_turso(ctx).await;
    }
    let query = args.query();
    let (presets, mut body) =
        tokio::try_join!(Presets::fetch(&ctx.client), list_page(&ctx.client, &query))?;
    if args.all {
        // Every further page continues from the last one's cursor, with the same filters.
        let mut tokens = body["data"].as_array().cloned().unwrap_or_default();
        while let Some(cursor) = body["meta"]["next_cursor"].as_str().map(str::to_owned) {
            let mut next = query.clone();
            next.push(("cursor", cursor));
            body = list_page(&ctx.client, &next).await?;
            tokens.extend(body["data"].as_array().cloned().unwrap_or_default());
        }
        let count = tokens.len();
        body["data"] = Value::Array(tokens);
        if let Some(meta) = body["meta"].as_object_mut() {
            meta.remove("page");
            // Keyset pages are not counted; the walk counted everything it gathered.
            meta.insert("total".to_owned(), count.into());
        }
    }
    if ctx.json {
        output::print_json(&body);
        return Ok(ExitCode::SUCCESS);
    }
    let tokens = body["data"].as_array().cloned().unwrap_or_default();
    output::print_table(
        HEADERS,
        tokens.iter().map(|token| {
            vec![
                text(token, "name"),
                reach(token),
                presets.permissions(token),
                output::date(token, "created_at"),
                text(token, "id"),
                text(token, "status"),
                moment(token, "last_used_at", "never"),
            ]
        }),
    );
    let shown = tokens.len() as u64;
    let noun = |n: u64| if n == 1 { "token" } else { "tokens" };
    // A keyset page (--cursor) is not counted: it says only what it shows.
    let mut footer = match body["meta"]["total"].as_u64() {
        Some(total) if total != shown => format!("{shown} of {total} {}", noun(total)),
        _ => format!("{shown} {}", noun(shown)),
    };
    if let Some(cursor) = body["meta"]["next_cursor"].as_str() {
        footer.push_str(&format!(
            "; next page: --cursor {cursor} (same filters), or --all"
        ));
    }
    println!("{footer}");
    Ok(ExitCode::SUCCESS)
}

async fn create(ctx: &Ctx, args: CreateArgs) -> Result<ExitCode, Failure> {
    let scopes = if args.read_only {
        vec!["read-only".to_owned()]
    } else if args.full_access {
        vec!["full-access".to_owned()]
    } else if args.all_rights {
        vec!["*".to_owned()]
    } else {
        args.scopes
    };
    let expires_at = match (args.expires_at, args.expires_in) {
        (Some(at), _) => Some(at),
        (None, Some(seconds)) => {
            Some(Timestamp::from_unix(now().saturating_add(seconds)).rfc3339())
        }
        (None, None) => None,
    };
    let mut body = Map::new();
    body.insert("name".to_owned(), json!(args.name));
    body.insert("scopes".to_owned(), json!(scopes));
    let optional = [
        ("expires_at", expires_at),
        ("organization", args.organization),
        ("group", args.group),
        ("owner", args.owner),
        ("token_type", args.token_type.as_ref().map(wire)),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            body.insert(key.to_owned(), json!(value));
        }
    }
    if args.account_wide {
        body.insert("account_wide".to_owned(), json!(true));
    }
    let url = ctx.client.url(&["v1", "tokens"]);
    let minted = ctx
        .client
        .send(Method::POST, url, Some(&Value::Object(body)))
        .await?;
    Ok(reveal(ctx, &minted, "Created", ""))
}

/// Prints a new secret alone on standard output (the whole body with `--json`), and what it
/// is on standard error.
fn reveal(ctx: &Ctx, minted: &Value, verb: &str, note: &str) -> ExitCode {
    if ctx.json {
        output::print_json(minted);
    } else {
        println!("{}", text(minted, "token"));
    }
    eprintln!(
        "{verb} token {} ({}, {}): {note}copy the secret now, it is not shown again.",
        text(minted, "name"),
        text(minted, "id"),
        reach(minted),
    );
    ExitCode::SUCCESS
}

async fn revoke(ctx: &Ctx, id: &str, yes: bool) -> Result<ExitCode, Failure> {
    output::can_ask(yes, &format!("revoke token {id}"))?;
    let mut label = id.to_owned();
    if !yes {
        // Name it in the question; a token that may revoke but not read is asked for by id.
        match ctx.client.get(&["v1", "tokens", id]).await {
            Ok(token) => label = format!("{} ({id})", text(&token, "name")),
            Err(failure) if failure.status() == Some(StatusCode::FORBIDDEN) => {}
            Err(failure) => return Err(failure),
        }
        output::ask(false, &format!("Revoke token {label}?"))?;
    }
    let url = ctx.client.url(&["v1", "tokens", id]);
    let body = ctx.client.send(Method::DELETE, url, None).await?;
    Ok(ctx.done(
        &body,
        format_args!("Revoked token {label}: its secret no longer works."),
    ))
}

async fn verify(ctx: &Ctx, args: VerifyArgs) -> Result<ExitCode, Failure> {
    let secret = if args.secret == "-" {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::Local(format!("cannot read the secret: {e}")))?;
        line.trim().to_owned()
    } else {
        args.secret
    };
    let mut body = json!({ "token": secret, "scopes": args.scopes });
    if let Some(organization) = args.organization {
        body["organization"] = json!(organization);
    }
    let url = ctx.client.url(&["v1", "tokens", "verify"]);
    let (presets, answer) = tokio::try_join!(
        Presets::fetch(&ctx.client),
        ctx.client.send(Method::POST, url, Some(&body))
    )?;
    if ctx.json {
        output::print_json(&answer);
    } else {
        println!("{}", text(&answer, "code"));
        if let Some(token) = answer.get("token").filter(|t| t.is_object()) {
            let mut pairs = details(token, &presets);
            if let Some(role) = answer.get("role").and_then(Value::as_str) {
                pairs.push(("ROLE", role.to_owned()));
            }
            output::print_details(&pairs);
        }
    }
    Ok(
        if answer.get("valid").and_then(Value::as_bool) == Some(true) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

// --- flag parsers ------------------------------------------------------------------------------

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2027-01-15T09:00:00Z` (any offset) or a bare date, as RFC 3339 in UTC.
fn expiry_date(raw: &str) -> Result<String, String> {
    let full = if raw.len() == 10 && !raw.contains('T') {
        format!("{raw}T00:00:00Z")
    } else {
        raw.to_owned()
    };
    Timestamp::parse("expires_at", &full)
        .map(Timestamp::rfc3339)
        .map_err(|_| "expected an ISO 8601 datetime such as 2027-01-15T09:00:00Z, or a date such as 2027-01-15".to_owned())
}

/// `30d`, `12h`, `45m`, `90s`, `2w` in seconds.
fn duration_seconds(raw: &str) -> Result<i64, String> {
    let invalid = || "expected a number and a unit: 90s, 45m, 12h, 30d or 2w".to_owned();
    let split = raw
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(invalid)?;
    let (number, unit) = raw.split_at(split);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(invalid()),
    };
    match number.checked_mul(unit) {
        Some(0) => Err("must be longer than zero".to_owned()),
        Some(seconds) => Ok(seconds),
        None => Err("too long".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_dates() {
        assert_eq!(duration_seconds("30d"), Ok(30 * 86_400));
        assert_eq!(duration_seconds("12h"), Ok(43_200));
        assert_eq!(duration_seconds("2w"), Ok(1_209_600));
        assert!(duration_seconds("0s").is_err());
        assert!(duration_seconds("12").is_err());
        assert!(duration_seconds("h").is_err());
        assert!(duration_seconds("3y").is_err());
        assert_eq!(expiry_date("2027-01-15").unwrap(), "2027-01-15T00:00:00Z");
        assert_eq!(
            expiry_date("2027-01-15T10:00:00+01:00").unwrap(),
            "2027-01-15T09:00:00Z"
        );
        assert!(expiry_date("soon").is_err());
    }

    #[test]
    fn scope_and_permissions_as_turso_shows_them() {
        let presets = Presets::fallback();
        let token = |scopes: Value, extra: Value| {
            let mut token =
                json!({"organization": "acme", "account_wide": false, "scopes": scopes});
            token
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            token
        };
        let wide = token(json!([]), json!({"account_wide": true}));
        assert_eq!(
            (reach(&wide).as_str(), presets.permissions(&wide).as_str()),
            ("all", NONE)
        );
        let read = token(json!(["read"]), json!({"group": "eu"}));
        assert_eq!(
            (reach(&read).as_str(), presets.permissions(&read).as_str()),
            ("acme/eu", "read-only")
        );
        let full = json!([
            "db:configure",
            "db:create",
            "db:delete",
            "db:mint-token",
            "db:rotate-creds",
            "group:configure",
            "group:mint-token",
            "group:rotate-creds",
            "read"
        ]);
        assert_eq!(presets.permissions(&token(full, json!({}))), "full-access");
        let mixed = token(json!(["read", "tokens:read"]), json!({}));
        assert_eq!(
            (reach(&mixed).as_str(), presets.permissions(&mixed).as_str()),
            ("acme", "read, tokens:read")
        );
    }

    #[test]
    fn ids_are_checked_without_echoing_secrets() {
        assert!(token_id("tok_01yh2rvlmaeoa5lyg9nckg3x").is_ok());
        assert!(token_id("01890a5d-ac96-774b-bcce-b302099a8057").is_ok());
        let Err(Failure::Local(message)) = token_id("lk_live_OnyEcnMwpnh887slwFZ76PcCV3DWqr2hRoRL")
        else {
            panic!("refused")
        };
        assert!(!message.contains("OnyEcn"), "{message}");
        assert!(matches!(token_id("nope"), Err(Failure::Local(m)) if m.contains("'nope'")));
    }
}
