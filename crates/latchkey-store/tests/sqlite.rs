//! The conformance suite on the SQLite store: a fresh database file per test.

mod conformance;

use conformance::Harness;
use latchkey_store::SqliteStore;
use tempfile::TempDir;

fn sqlite() -> Harness {
    let dir = TempDir::new().expect("create a temporary directory");
    let store = SqliteStore::open(dir.path().join("latchkey.db")).expect("open the store");
    Harness::new(store, dir)
}

conformance::conformance_tests!(sqlite());
