//! The command-line client: `latchkey tokens|orgs|members|groups|accounts …` against a running
//! server. Tables for people, `--json` for scripts; errors on standard error with exit code 1
//! (2 stays clap's, for usage errors); a secret is printed only by the commands that exist to
//! show one (`tokens create`, `tokens rotate`).

mod admin;
mod http;
mod output;
mod tokens;

use std::fmt::Display;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use self::http::{Client, Failure};

/// Where the server is, who is asking, and how to answer. Every client command takes these.
#[derive(Args, Debug, Clone)]
pub struct Conn {
    /// The latchkey server's base URL.
    #[arg(
        long,
        env = "LATCHKEY_URL",
        default_value = "http://127.0.0.1:8080",
        global = true,
        help_heading = "Connection"
    )]
    url: String,
    /// The API token to act with (root's, or any account's).
    #[arg(
        long,
        env = "LATCHKEY_TOKEN",
        hide_env_values = true,
        global = true,
        help_heading = "Connection"
    )]
    token: Option<String>,
    /// Print the server's JSON instead of a table or a line.
    #[arg(long, global = true, help_heading = "Connection")]
    json: bool,
}

/// `--yes`, for the commands that destroy something.
#[derive(Args, Debug, Clone, Copy)]
pub struct Yes {
    /// Do not ask for confirmation.
    #[arg(long, short)]
    yes: bool,
}

/// A group of commands, with the connection flags they share.
#[derive(Args, Debug)]
pub struct With<C: Subcommand> {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: C,
}

impl<C: Subcommand> With<C> {
    /// For the commands that act with a token (all but verify).
    fn ctx(&self) -> Result<Ctx, Failure> {
        Ctx::new(&self.conn, true)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Mint, list, show, rotate, revoke and verify API tokens.
    Tokens(With<tokens::Command>),
    /// Organizations: list, create, rename, delete.
    Orgs(With<admin::OrgCommand>),
    /// The members of an organization and their roles.
    Members(With<admin::MemberCommand>),
    /// The groups of an organization (group tokens are pinned to one).
    Groups(With<admin::GroupCommand>),
    /// Accounts: humans and services (the root token manages them all).
    Accounts(With<admin::AccountCommand>),
}

pub async fn run(command: Command) -> ExitCode {
    match dispatch(command).await {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

async fn dispatch(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Tokens(With { conn, command }) => {
            // Verifying needs no token: whoever holds a secret may check it.
            let ctx = Ctx::new(&conn, !matches!(command, tokens::Command::Verify(_)))?;
            tokens::run(&ctx, command).await
        }
        Command::Orgs(with) => admin::orgs(&with.ctx()?, with.command).await,
        Command::Members(with) => admin::members(&with.ctx()?, with.command).await,
        Command::Groups(with) => admin::groups(&with.ctx()?, with.command).await,
        Command::Accounts(with) => admin::accounts(&with.ctx()?, with.command).await,
    }
}

/// What a command runs with.
pub struct Ctx {
    client: Client,
    json: bool,
}

impl Ctx {
    fn new(conn: &Conn, needs_token: bool) -> Result<Self, Failure> {
        let client = Client::new(&conn.url, conn.token.as_deref())?;
        if needs_token && !client.has_token() {
            return Err(Failure::Local(
                "no API token: pass --token or set LATCHKEY_TOKEN".to_owned(),
            ));
        }
        Ok(Self {
            client,
            json: conn.json,
        })
    }

    /// Ends a command that changed something: the server's body with `--json` (nothing when
    /// it sent none), else `message`.
    fn done(&self, body: &Value, message: impl Display) -> ExitCode {
        if self.json {
            if !body.is_null() {
                output::print_json(body);
            }
        } else {
            println!("{message}");
        }
        ExitCode::SUCCESS
    }
}

/// The wire spelling of a value-enum flag (`read_write`, `viewer`, …).
fn wire<T: clap::ValueEnum>(value: &T) -> String {
    value
        .to_possible_value()
        .expect("no variant is skipped")
        .get_name()
        .to_owned()
}
