//! The command-line client. (Being written.)

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {}

pub async fn run(command: Command) -> ExitCode {
    match command {}
}
