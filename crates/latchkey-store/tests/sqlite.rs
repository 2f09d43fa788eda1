//! The conformance suite on the SQLite store: a fresh database file per test.

mod conformance;

use conformance::Harness;
use latchkey_store::SqliteStore;
use tempfile::TempDir;

/// A fresh database file, and a second handle on it as the races' other node.
fn sqlite() -> Harness {
    let dir = TempDir::new().expect("create a temporary directory");
    let path = dir.path().join("latchkey.db");
    let store = SqliteStore::open(&path).expect("open the store");
    let peer = SqliteStore::open(&path).expect("open the store again");
    Harness::new(store, peer, dir)
}

conformance::conformance_tests!(sqlite());
