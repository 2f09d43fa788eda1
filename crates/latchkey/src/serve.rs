//! `latchkey serve` and `latchkey init`.

use std::io::Write as _;
use std::num::NonZeroU32;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use latchkey_core::{Secret, SystemClock};
use latchkey_server::{App, bootstrap};
use latchkey_store::{PostgresStore, SqliteStore, Store, StoreError};
use tracing_subscriber::EnvFilter;

use crate::config::{Database, ServeArgs};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    InitOnly,
}

pub async fn run(args: ServeArgs, mode: Mode) -> ExitCode {
    init_logging("info");
    exit(serve(args, mode).await)
}

/// Logs to standard error, at `RUST_LOG`'s level or else `default`.
pub fn init_logging(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Success, or the error said on standard error and a failure.
pub fn exit(outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store `database` names, bringing its schema up to date. A SQLite file (and its
/// folder) is created when `create` is true, and must exist otherwise. A PostgreSQL store
/// opens up to `connections`.
pub async fn open_store(
    database: &Database,
    create: bool,
    connections: NonZeroU32,
) -> Result<Arc<dyn Store>, String> {
    let cannot = |error: StoreError| format!("cannot open {database}: {error}");
    let store: Arc<dyn Store> = match database {
        Database::Sqlite(path) => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            match parent {
                Some(parent) if create => std::fs::create_dir_all(parent).map_err(|e| {
                    format!("cannot create the data directory {}: {e}", parent.display())
                })?,
                _ if !create && !path.is_file() => {
                    return Err(format!("there is no SQLite database at {}", path.display()));
                }
                _ => {}
            }
            Arc::new(SqliteStore::open(path).map_err(cannot)?)
        }
        Database::Postgres(url) => {
            let store = PostgresStore::connect(url.expose(), connections).await;
            Arc::new(store.map_err(cannot)?)
        }
    };
    tracing::info!("opened {database}");
    Ok(store)
}

async fn serve(args: ServeArgs, mode: Mode) -> Result<(), String> {
    let resolved = args.resolve()?;
    let store = open_store(&resolved.database, true, resolved.database_connections).await?;
    let clock = Arc::new(SystemClock);
    let format = resolved.settings.format.clone();
    let given = resolved
        .root_token
        .as_deref()
        .map(|raw| Secret::parse(&format, raw))
        .transpose()
        .map_err(|_| {
            format!(
                "the given root token is not a secret of this server's format ({}_{}_…, with a valid checksum); `latchkey generate-secret` makes one",
                format.prefix.as_str(),
                format.environment.as_str()
            )
        })?;
    let was_given = given.is_some();
    match bootstrap(
        store.as_ref(),
        clock.as_ref(),
        &format,
        given,
        resolved.root_email.clone(),
    )
    .await
    .map_err(|e| format!("cannot create the root account: {e}"))?
    {
        Some(secret) => announce_root(&secret, resolved.root_token_file.as_deref(), was_given)?,
        None if mode == Mode::InitOnly => {
            println!(
                "latchkey is already initialised: the root token was shown when it was created."
            );
        }
        None => {}
    }
    if mode == Mode::InitOnly {
        return Ok(());
    }

    // Listening before serving: from its first answer on, the node hears every other node's
    // revocations (a store that only one node uses has none to hear).
    let heard = store
        .invalidations()
        .await
        .map_err(|e| format!("cannot listen for other nodes' revocations: {e}"))?;
    let app = App::new(store, clock, resolved.settings);
    if let Some(heard) = heard {
        app.state.service.verifier().follow(heard);
        tracing::info!("listening for other nodes' revocations");
    }
    let listener = tokio::net::TcpListener::bind(resolved.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", resolved.listen))?;
    tracing::info!(address = %resolved.listen, "latchkey is listening");
    axum::serve(listener, app.router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    // Stamps of the last second would otherwise be lost.
    if let Err(error) = app.state.service.verifier().flush_stamps().await {
        tracing::warn!(%error, "could not record the last token uses");
    }
    tracing::info!("latchkey stopped");
    Ok(())
}

/// Shows the new root token once: to a private file when asked, else on standard output,
/// never in the log.
fn announce_root(secret: &Secret, file: Option<&Path>, was_given: bool) -> Result<(), String> {
    if let Some(path) = file {
        write_private(path, secret.expose())
            .map_err(|e| format!("cannot write the root token to {}: {e}", path.display()))?;
        println!(
            "Created the root account; its token is in {} (readable by you only).",
            path.display()
        );
    } else if was_given {
        println!("Created the root account with the root token you gave.");
    } else {
        println!(
            "Created the root account. Its token is shown this once; keep it safe:\n\n    {}\n\n\
             Use it as LATCHKEY_TOKEN with the latchkey CLI, or as a Bearer token.",
            secret.expose()
        );
    }
    Ok(())
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
