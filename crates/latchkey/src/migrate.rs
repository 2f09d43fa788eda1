//! `latchkey migrate-store`: copies a whole store into an empty one (SQLite to PostgreSQL, or
//! any other way round), hashes, stamps and deleted records included, so that every secret
//! keeps working; then checks that each table holds as many rows as were read.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use latchkey_store::postgres::DEFAULT_CONNECTIONS;
use latchkey_store::{Counts, Store, Table};

use crate::config::parse_database_url;
use crate::serve::{exit, init_logging, open_store};

/// Rows of a table between two progress lines.
const PROGRESS_EVERY: u64 = 10_000;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The store to copy: sqlite:///path/to/latchkey.db or postgres://… (it is only read).
    #[arg(long)]
    from: String,
    /// The store to fill, which must be empty: postgres://user:password@host/database or
    /// sqlite:///path/to/new.db. Stop every node on the source first.
    #[arg(long)]
    to: String,
}

pub async fn run(args: MigrateArgs) -> ExitCode {
    init_logging("warn");
    exit(migrate(args).await)
}

async fn migrate(args: MigrateArgs) -> Result<(), String> {
    let from = parse_database_url(&args.from).map_err(|e| format!("--from: {e}"))?;
    let to = parse_database_url(&args.to).map_err(|e| format!("--to: {e}"))?;
    if from == to {
        return Err("--from and --to name the same database".to_owned());
    }
    let source = open_store(&from, false, DEFAULT_CONNECTIONS).await?;
    let target = open_store(&to, true, DEFAULT_CONNECTIONS).await?;
    let held = target.counts().await.map_err(|e| e.to_string())?;
    if held.values().any(|count| *count > 0) {
        return Err(format!(
            "{to} is not empty (it holds {}): migrate-store copies into an empty database only",
            describe(&held)
        ));
    }
    let expected = source.counts().await.map_err(|e| e.to_string())?;
    eprintln!("copying {} from {from} to {to}", describe(&expected));

    let started = Instant::now();
    let copied = copy(source.as_ref(), target.as_ref(), &expected).await?;
    eprintln!(
        "copied in {:.1} s; readying the target (its counters, statistics and free space)",
        started.elapsed().as_secs_f64()
    );
    target
        .finish_import()
        .await
        .map_err(|e| format!("readying the target: {e}"))?;
    eprintln!("checking the counts");
    verify(&copied, &expected, source.as_ref(), target.as_ref()).await?;
    println!(
        "Copied {} from {from} to {to}; every table's count matches.",
        describe(&copied)
    );
    Ok(())
}

/// Every batch of the source's export into the target; gives how many rows of each table went.
async fn copy(source: &dyn Store, target: &dyn Store, expected: &Counts) -> Result<Counts, String> {
    let mut copied: Counts = Table::ALL.iter().map(|table| (*table, 0)).collect();
    let started = Instant::now();
    let mut export = source.export();
    while let Some(batch) = export.recv().await {
        let batch = batch.map_err(|e| format!("reading the source: {e}"))?;
        let table = batch.table;
        let rows = batch.rows.len() as u64;
        target
            .import(batch)
            .await
            .map_err(|e| format!("writing {table} into the target: {e}"))?;
        let done = copied.entry(table).or_default();
        let before = *done;
        *done += rows;
        if *done / PROGRESS_EVERY > before / PROGRESS_EVERY {
            let total = expected.get(&table).copied().unwrap_or_default();
            let seconds = started.elapsed().as_secs_f64();
            eprintln!("  {table}: {done} of {total} ({seconds:.1} s)");
        }
    }
    Ok(copied)
}

/// The target holds exactly what was read, and the source did not change meanwhile.
async fn verify(
    copied: &Counts,
    expected: &Counts,
    source: &dyn Store,
    target: &dyn Store,
) -> Result<(), String> {
    let now_in_target = target.counts().await.map_err(|e| e.to_string())?;
    let now_in_source = source.counts().await.map_err(|e| e.to_string())?;
    let mut mismatches = Vec::new();
    for table in Table::ALL {
        let read = copied.get(&table).copied().unwrap_or_default();
        let counts = [
            ("in the source before", expected.get(&table)),
            ("in the source now", now_in_source.get(&table)),
            ("in the target", now_in_target.get(&table)),
        ];
        for (place, count) in counts {
            let count = count.copied().unwrap_or_default();
            if count != read {
                mismatches.push(format!("{table}: {read} copied, {count} {place}"));
            }
        }
    }
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the counts do not match:\n  {}\nIf the source changed during the copy, stop every node \
         on it, empty the target and migrate again.",
        mismatches.join("\n  ")
    ))
}

/// "3 accounts, 4 organizations, …".
fn describe(counts: &Counts) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(table, count)| format!("{count} {}", table.name().replace('_', " ")))
        .collect();
    parts.join(", ")
}
