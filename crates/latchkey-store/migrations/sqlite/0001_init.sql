-- Timestamps are whole seconds since the epoch. A token's expires_at is 253402300799 (the last
-- second of year 9999) when it never expires and its last_used_at is 0 when never used, so that
-- both sort and index without NULLs.

CREATE TABLE accounts (
    id BLOB PRIMARY KEY,
    username TEXT NOT NULL,
    email TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('human', 'service')),
    is_root INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE UNIQUE INDEX accounts_username ON accounts (username) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX accounts_root ON accounts (is_root) WHERE is_root = 1;

CREATE TABLE organizations (
    id BLOB PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    personal INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE UNIQUE INDEX organizations_slug ON organizations (slug) WHERE deleted_at IS NULL;

CREATE TABLE memberships (
    org_id BLOB NOT NULL REFERENCES organizations (id),
    account_id BLOB NOT NULL REFERENCES accounts (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, account_id)
) WITHOUT ROWID;
CREATE INDEX memberships_account ON memberships (account_id);

CREATE TABLE groups (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE UNIQUE INDEX groups_name ON groups (org_id, name) WHERE deleted_at IS NULL;

CREATE TABLE tokens (
    id BLOB PRIMARY KEY,
    hash BLOB NOT NULL,
    hint TEXT NOT NULL,
    owner_id BLOB NOT NULL REFERENCES accounts (id),
    created_by BLOB NOT NULL REFERENCES accounts (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    account_wide INTEGER NOT NULL,
    group_id BLOB,
    name TEXT NOT NULL,
    -- The name in Unicode lower case, for the case-insensitive name filter.
    name_folded TEXT NOT NULL,
    scopes TEXT NOT NULL,
    token_type TEXT NOT NULL CHECK (token_type IN ('read_write', 'read_scaling')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);
-- A name is unique among its owner's live tokens.
CREATE UNIQUE INDEX tokens_live_name ON tokens (owner_id, name) WHERE revoked_at IS NULL;
CREATE INDEX tokens_org ON tokens (org_id, id);
CREATE INDEX tokens_org_owner ON tokens (org_id, owner_id, id);
CREATE INDEX tokens_owner ON tokens (owner_id, id);
CREATE INDEX tokens_group ON tokens (group_id, id) WHERE group_id IS NOT NULL;
CREATE INDEX tokens_org_revoked ON tokens (org_id, revoked_at, id);
CREATE INDEX tokens_org_expires ON tokens (org_id, expires_at, id);
CREATE INDEX tokens_org_last_used ON tokens (org_id, last_used_at, id);
CREATE INDEX tokens_org_name ON tokens (org_id, name, id);
CREATE INDEX tokens_org_created_by ON tokens (org_id, created_by, id);

-- One row per (scope, token), so the scope filter is an index seek.
CREATE TABLE token_scopes (
    scope TEXT NOT NULL,
    token_id BLOB NOT NULL REFERENCES tokens (id),
    PRIMARY KEY (scope, token_id)
) WITHOUT ROWID;
