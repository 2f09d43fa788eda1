//! `latchkey`: serves the token API, and talks to a server as its command-line client.

mod client;
mod config;
mod migrate;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "latchkey", version, about = "A self-hosted API token service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (on first start, create the root account and show its token once).
    Serve(config::ServeArgs),
    /// Create the database and the root account without serving; print the root token.
    Init(config::ServeArgs),
    /// Copy a whole store into an empty one (e.g. SQLite to PostgreSQL): every secret keeps
    /// working.
    MigrateStore(migrate::MigrateArgs),
    /// Print a fresh secret of this server's format (to set as LATCHKEY_ROOT_TOKEN).
    GenerateSecret(config::SecretArgs),
    #[command(flatten)]
    Client(client::Command),
}

/// A request builds and drops many small values (rows, views, JSON); mimalloc serves them
/// with less work than glibc's allocator: about a quarter more list pages a second over HTTP in
/// side-by-side runs (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args, serve::Mode::Serve).await,
            Command::Init(args) => serve::run(args, serve::Mode::InitOnly).await,
            Command::MigrateStore(args) => migrate::run(args).await,
            Command::GenerateSecret(args) => match args.format() {
                Ok(format) => {
                    println!("{}", latchkey_core::Secret::generate(&format).expose());
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::FAILURE
                }
            },
            Command::Client(command) => client::run(command).await,
        }
    })
}
