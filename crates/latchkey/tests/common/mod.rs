//! The real binary: `latchkey serve` on a fresh data directory, and CLI runs against it.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

/// Settings from the environment that would leak into the processes under test.
const SCRUBBED: &[&str] = &[
    "LATCHKEY_URL",
    "LATCHKEY_TOKEN",
    "LATCHKEY_CONFIG",
    "LATCHKEY_LISTEN",
    "LATCHKEY_DATA_DIR",
    "LATCHKEY_DATABASE_URL",
    "LATCHKEY_ROOT_TOKEN",
    "LATCHKEY_ROOT_TOKEN_FILE",
    "LATCHKEY_SECRET_PREFIX",
    "LATCHKEY_SECRET_ENVIRONMENT",
];

pub fn command() -> Command {
    let mut command = Command::new(BIN);
    for name in SCRUBBED {
        command.env_remove(name);
    }
    command
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// `latchkey serve` on a fresh data directory (or the database its arguments name); killed
/// when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    /// The root token, when this server created the root account (empty when the database
    /// already had one: another node's, or a migrated store's).
    pub root: String,
    dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a CLI run gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Self {
        Self {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Asserts success and gives standard output.
    pub fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// Asserts the exit code and a piece of standard error, and gives the run.
    pub fn fails(self, code: i32, needle: &str) -> Self {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "wanted {needle:?} in:\n{}",
            self.stderr
        );
        self
    }

    pub fn json(self) -> Value {
        serde_json::from_str(&self.ok()).expect("JSON on stdout")
    }
}

/// Runs the CLI with these settings and standard input closed (not a terminal).
pub fn cli_with(url: &str, token: Option<&str>, args: &[&str]) -> Run {
    let mut command = command();
    command
        .args(args)
        .env("LATCHKEY_URL", url)
        .stdin(Stdio::null());
    if let Some(token) = token {
        command.env("LATCHKEY_TOKEN", token);
    }
    Run::from(command.output().expect("run latchkey"))
}

impl Server {
    pub fn start() -> Self {
        Self::start_logging("info")
    }

    /// Starts with these arguments too (`--database-url …`, `--cache-ttl …`).
    pub fn start_with(args: &[&str]) -> Self {
        Self::spawn("info", args)
    }

    /// Starts with `RUST_LOG` at `level`, standard output and error kept in the data directory
    /// (see `logs`).
    pub fn start_logging(level: &str) -> Self {
        Self::spawn(level, &[])
    }

    fn spawn(level: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).expect("a log file");
        let root_file = dir.path().join("root");
        let address = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut child = command()
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--listen")
            .arg(address.to_string())
            .arg("--root-token-file")
            .arg(&root_file)
            .args(args)
            .env("RUST_LOG", level)
            .stdin(Stdio::null())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"))
            .spawn()
            .expect("start latchkey serve");
        for _ in 0..200 {
            if TcpStream::connect(address).is_ok() {
                let root = read_root(&root_file);
                return Self {
                    child,
                    url: format!("http://{address}"),
                    root,
                    dir,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                let said = std::fs::read_to_string(dir.path().join("stderr.log"));
                panic!(
                    "latchkey serve exited early: {status}\n{}",
                    said.unwrap_or_default()
                );
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!("latchkey serve did not answer on {address} within 10 seconds");
    }

    /// What the server has logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).expect("a log file")
    }

    /// Stops the server and gives everything it wrote, standard output then standard error.
    pub fn logs(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        ["stdout.log", "stderr.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.dir.path().join(name)).expect("a log file"))
            .collect()
    }

    /// Runs the CLI as root.
    pub fn cli(&self, args: &[&str]) -> Run {
        cli_with(&self.url, Some(&self.root), args)
    }

    pub fn cli_as(&self, token: &str, args: &[&str]) -> Run {
        cli_with(&self.url, Some(token), args)
    }

    /// Mints a token as root and gives its secret and its id.
    pub fn mint(&self, args: &[&str]) -> (String, String) {
        let secret = self.cli(&[&["tokens", "create"], args].concat()).ok();
        let secret = secret.trim().to_owned();
        let verified = self.cli(&["tokens", "verify", &secret, "--json"]).json();
        let id = verified["token"]["id"].as_str().expect("an id").to_owned();
        (secret, id)
    }
}

/// The root token file is written before the server listens, if the server made the root.
fn read_root(path: &Path) -> String {
    std::fs::read_to_string(path)
        .map(|root| root.trim().to_owned())
        .unwrap_or_default()
}
