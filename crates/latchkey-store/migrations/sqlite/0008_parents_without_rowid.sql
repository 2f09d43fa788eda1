-- Accounts, organizations and groups keyed by their ids alone (WITHOUT ROWID). In a table with
-- rowids, a read by id descends the primary key's index for the rowid, then the table for the
-- row; keyed by the id, one descent finds the row. A verification that misses the cache reads
-- the token's owner and organization (and group) this way, and every listing reads them for its
-- page (BENCHMARKS.md). SQLite cannot change a table's kind in place: each is rebuilt under its
-- own name, its rows and indexes as they were. The store runs migrations with foreign keys off
-- and checks them before each commits, as SQLite's procedure for a rebuild asks.

CREATE TABLE accounts_rebuilt (
    id BLOB PRIMARY KEY,
    username TEXT NOT NULL,
    email TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('human', 'service')),
    is_root INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
) WITHOUT ROWID;
INSERT INTO accounts_rebuilt (id, username, email, kind, is_root, created_at, deleted_at)
SELECT id, username, email, kind, is_root, created_at, deleted_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_rebuilt RENAME TO accounts;
CREATE UNIQUE INDEX accounts_username ON accounts (username) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX accounts_root ON accounts (is_root) WHERE is_root = 1;

CREATE TABLE organizations_rebuilt (
    id BLOB PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    personal INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
) WITHOUT ROWID;
INSERT INTO organizations_rebuilt (id, slug, name, personal, created_at, deleted_at)
SELECT id, slug, name, personal, created_at, deleted_at FROM organizations;
DROP TABLE organizations;
ALTER TABLE organizations_rebuilt RENAME TO organizations;
CREATE UNIQUE INDEX organizations_slug ON organizations (slug) WHERE deleted_at IS NULL;

CREATE TABLE groups_rebuilt (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
) WITHOUT ROWID;
INSERT INTO groups_rebuilt (id, org_id, name, created_at, deleted_at)
SELECT id, org_id, name, created_at, deleted_at FROM groups;
DROP TABLE groups;
ALTER TABLE groups_rebuilt RENAME TO groups;
CREATE UNIQUE INDEX groups_name ON groups (org_id, name) WHERE deleted_at IS NULL;
