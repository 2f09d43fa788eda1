//! Makes (or finds, already made) the seeded SQLite store the benchmarks share, and writes
//! beside it what a load generator needs: `sqlite-N.root` (the root token) and
//! `sqlite-N.secrets` (live secrets, one a line). Prints the database's path.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Seed (once) the SQLite store latchkey's benchmarks share")]
struct Args {
    /// The folder the seeded stores are kept in.
    #[arg(long, default_value = "target/latchkey-bench")]
    dir: PathBuf,
    #[arg(long, default_value_t = 1_000_000)]
    tokens: usize,
    /// How many live secrets to write for the load generator.
    #[arg(long, default_value_t = 10_000)]
    sample: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let started = std::time::Instant::now();
    let (db, seeded) = latchkey_bench::cached_sqlite(&args.dir, args.tokens).await?;
    let beside = |extension: &str| db.with_extension(extension);
    let write = |path: PathBuf, text: String| {
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(beside("root"), seeded.root.clone())?;
    let mut lines = seeded.secrets[..args.sample.min(seeded.secrets.len())].join("\n");
    lines.push('\n');
    write(beside("secrets"), lines)?;
    eprintln!(
        "a store of {} tokens ready in {:.1} s",
        seeded.tokens,
        started.elapsed().as_secs_f64()
    );
    println!("{}", db.display());
    Ok(())
}
