//! Moving a whole store into another (`latchkey migrate-store`): every row of every table,
//! deleted records included, as plain values, so that what arrives is what left: ids, secrets'
//! hashes, last-use stamps, revocations and soft deletions alike.
//!
//! The copy is by column, not by record type, on purpose: it carries every column (derived ones
//! such as a token's folded name too) without parsing anything that could refuse old data, and
//! each export first checks that the database's columns are exactly the ones listed here, so a
//! later migration that adds a column cannot be copied without it unnoticed.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::sql::Dialect;
use crate::{Result, StoreError};

/// Rows in one exported batch at most (and so in one imported transaction): large enough that
/// a batch's fixed costs (a commit, a round trip) are small beside its rows.
pub const BATCH_ROWS: usize = 5_000;
/// Exported batches that wait for a slow importer before the export waits too.
const QUEUE: usize = 4;

/// A table of the store, in the order a copy follows: what a row refers to comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Accounts,
    Organizations,
    Memberships,
    Groups,
    Tokens,
    TokenScopes,
}

/// How a column's values are stored and read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Id,
    Text,
    Int,
    Bool,
    Bytes,
}

use Kind::{Bool, Bytes, Id, Int, Text};

const ACCOUNTS: &[(&str, Kind)] = &[
    ("id", Id),
    ("username", Text),
    ("email", Text),
    ("kind", Text),
    ("is_root", Bool),
    ("created_at", Int),
    ("deleted_at", Int),
];
const ORGANIZATIONS: &[(&str, Kind)] = &[
    ("id", Id),
    ("slug", Text),
    ("name", Text),
    ("personal", Bool),
    ("created_at", Int),
    ("deleted_at", Int),
];
const MEMBERSHIPS: &[(&str, Kind)] = &[
    ("org_id", Id),
    ("account_id", Id),
    ("role", Text),
    ("created_at", Int),
];
const GROUPS: &[(&str, Kind)] = &[
    ("id", Id),
    ("org_id", Id),
    ("name", Text),
    ("created_at", Int),
    ("deleted_at", Int),
];
const TOKENS: &[(&str, Kind)] = &[
    ("id", Id),
    ("hash", Bytes),
    ("hint", Text),
    ("owner_id", Id),
    ("created_by", Id),
    ("org_id", Id),
    ("account_wide", Bool),
    ("group_id", Id),
    ("name", Text),
    ("name_folded", Text),
    ("scopes", Text),
    ("token_type", Text),
    ("created_at", Int),
    ("expires_at", Int),
    ("last_used_at", Int),
    ("revoked_at", Int),
];
const TOKEN_SCOPES: &[(&str, Kind)] = &[("scope", Text), ("token_id", Id)];

impl Table {
    /// Every table, in the order a copy follows.
    pub const ALL: [Table; 6] = [
        Table::Accounts,
        Table::Organizations,
        Table::Memberships,
        Table::Groups,
        Table::Tokens,
        Table::TokenScopes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Accounts => "accounts",
            Table::Organizations => "organizations",
            Table::Memberships => "memberships",
            Table::Groups => "groups",
            Table::Tokens => "tokens",
            Table::TokenScopes => "token_scopes",
        }
    }

    pub(crate) fn columns(self) -> &'static [(&'static str, Kind)] {
        match self {
            Table::Accounts => ACCOUNTS,
            Table::Organizations => ORGANIZATIONS,
            Table::Memberships => MEMBERSHIPS,
            Table::Groups => GROUPS,
            Table::Tokens => TOKENS,
            Table::TokenScopes => TOKEN_SCOPES,
        }
    }

    /// The primary key, for a stable export order.
    fn key(self) -> &'static str {
        match self {
            Table::Memberships => "org_id, account_id",
            Table::TokenScopes => "scope, token_id",
            _ => "id",
        }
    }

    fn column_list(self) -> String {
        let names: Vec<&str> = self.columns().iter().map(|(name, _)| *name).collect();
        names.join(", ")
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One stored value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Id(Uuid),
    Text(String),
    Int(i64),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl Value {
    fn fits(&self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (Value::Null, _)
                | (Value::Id(_), Id)
                | (Value::Text(_), Text)
                | (Value::Int(_), Int)
                | (Value::Bool(_), Bool)
                | (Value::Bytes(_), Bytes)
        )
    }
}

/// Rows of one table, each with the table's columns in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub table: Table,
    pub rows: Vec<Vec<Value>>,
}

impl Batch {
    /// Refuses a batch whose rows do not have the table's columns, before any of it is written.
    pub(crate) fn check(&self) -> Result<()> {
        let columns = self.table.columns();
        for row in &self.rows {
            let fits = row.len() == columns.len()
                && row
                    .iter()
                    .zip(columns)
                    .all(|(value, (_, kind))| value.fits(*kind));
            if !fits {
                return Err(StoreError::Backend(format!(
                    "a row to import into {} does not have its columns: {row:?}",
                    self.table
                )));
            }
        }
        Ok(())
    }
}

/// How many rows each table holds, deleted records included.
pub type Counts = BTreeMap<Table, u64>;

/// What an export hands over: batches, table by table, until the channel closes (or an error,
/// which ends it).
pub type Export = mpsc::Receiver<Result<Batch>>;

/// Runs an export on a task of its own: `export` sends batches to the sender it is given; its
/// error, if any, is the last thing sent.
pub(crate) fn spawn_export<F, Fut>(export: F) -> Export
where
    F: FnOnce(mpsc::Sender<Result<Batch>>) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(QUEUE);
    let failed = sender.clone();
    let work = export(sender);
    tokio::spawn(async move {
        if let Err(error) = work.await {
            let _ = failed.send(Err(error)).await;
        }
    });
    receiver
}

/// Gathers a table's rows into batches of [`BATCH_ROWS`].
pub(crate) struct Batcher {
    table: Table,
    rows: Vec<Vec<Value>>,
}

impl Batcher {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            rows: Vec::with_capacity(BATCH_ROWS),
        }
    }

    /// Adds a row; gives a full batch when this one fills it.
    pub(crate) fn push(&mut self, row: Vec<Value>) -> Option<Batch> {
        self.rows.push(row);
        (self.rows.len() == BATCH_ROWS).then(|| self.take())
    }

    /// What is left, if anything.
    pub(crate) fn finish(mut self) -> Option<Batch> {
        (!self.rows.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Batch {
        Batch {
            table: self.table,
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(BATCH_ROWS)),
        }
    }
}

/// Refuses to export a table whose columns (`found`, as the database lists them) are not
/// exactly those this module copies.
pub(crate) fn check_columns(table: Table, mut found: Vec<String>) -> Result<()> {
    let mut known: Vec<&str> = table.columns().iter().map(|(name, _)| *name).collect();
    found.sort();
    known.sort_unstable();
    if found != known {
        return Err(StoreError::Backend(format!(
            "the {table} table has the columns {found:?}, but a store copy knows {known:?}: \
             this latchkey cannot copy it faithfully"
        )));
    }
    Ok(())
}

/// Every row of `table`, in key order.
pub(crate) fn select_sql(table: Table) -> String {
    format!(
        "SELECT {} FROM {table} ORDER BY {}",
        table.column_list(),
        table.key()
    )
}

/// One row into `table` (SQLite: PostgreSQL binds a batch's columns as arrays).
pub(crate) fn insert_sql(table: Table, dialect: Dialect) -> String {
    let params: Vec<String> = (1..=table.columns().len())
        .map(|n| dialect.param(n))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        table.column_list(),
        params.join(", ")
    )
}

/// Every table's row count, in one statement (and so one snapshot).
pub(crate) fn counts_sql() -> String {
    let counts: Vec<String> = Table::ALL
        .iter()
        .map(|table| format!("(SELECT count(*) FROM {table})"))
        .collect();
    format!("SELECT {}", counts.join(", "))
}

/// Pairs [`counts_sql`]'s answers with their tables.
pub(crate) fn counts_from(values: impl IntoIterator<Item = i64>) -> Result<Counts> {
    Table::ALL
        .into_iter()
        .zip(values)
        .map(|(table, count)| {
            u64::try_from(count)
                .map(|count| (table, count))
                .map_err(|error| StoreError::Backend(error.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_every_column_and_parameter() {
        assert_eq!(
            insert_sql(Table::TokenScopes, Dialect::Sqlite),
            "INSERT INTO token_scopes (scope, token_id) VALUES (?1, ?2)"
        );
        assert_eq!(
            select_sql(Table::Memberships),
            "SELECT org_id, account_id, role, created_at FROM memberships ORDER BY org_id, account_id"
        );
        assert!(counts_sql().starts_with("SELECT (SELECT count(*) FROM accounts), "));
    }

    #[test]
    fn batches_fill_to_the_limit_and_rows_must_fit_their_columns() {
        let mut batcher = Batcher::new(Table::TokenScopes);
        let row = vec![Value::Text("read".to_owned()), Value::Id(Uuid::nil())];
        let full: Vec<Batch> = (0..BATCH_ROWS + 1)
            .filter_map(|_| batcher.push(row.clone()))
            .collect();
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].rows.len(), BATCH_ROWS);
        full[0].check().unwrap();
        let rest = batcher.finish().unwrap();
        assert_eq!(rest.rows.len(), 1);

        let wrong = Batch {
            table: Table::TokenScopes,
            rows: vec![vec![Value::Int(1), Value::Null]],
        };
        assert!(wrong.check().is_err());
        assert!(check_columns(Table::TokenScopes, vec!["token_id".into()]).is_err());
        check_columns(Table::TokenScopes, vec!["token_id".into(), "scope".into()]).unwrap();
    }
}
