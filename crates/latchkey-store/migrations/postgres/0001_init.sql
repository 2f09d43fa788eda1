-- The same schema as SQLite's 0001_init.sql, in PostgreSQL's types. Timestamps are whole
-- seconds since the epoch. A token's expires_at is 253402300799 (the last second of year 9999)
-- when it never expires and its last_used_at is 0 when never used, so that both sort and index
-- without NULLs. Every name that is sorted or compared is COLLATE "C": byte order, as in SQLite,
-- whatever the database's own collation.

CREATE TABLE accounts (
    id uuid PRIMARY KEY,
    username text COLLATE "C" NOT NULL,
    email text,
    kind text NOT NULL CHECK (kind IN ('human', 'service')),
    is_root boolean NOT NULL DEFAULT false,
    created_at bigint NOT NULL,
    deleted_at bigint
);
CREATE UNIQUE INDEX accounts_username ON accounts (username) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX accounts_root ON accounts (is_root) WHERE is_root;

CREATE TABLE organizations (
    id uuid PRIMARY KEY,
    slug text COLLATE "C" NOT NULL,
    name text NOT NULL,
    personal boolean NOT NULL,
    created_at bigint NOT NULL,
    deleted_at bigint
);
CREATE UNIQUE INDEX organizations_slug ON organizations (slug) WHERE deleted_at IS NULL;

CREATE TABLE memberships (
    org_id uuid NOT NULL REFERENCES organizations (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at bigint NOT NULL,
    PRIMARY KEY (org_id, account_id)
);
CREATE INDEX memberships_account ON memberships (account_id);

CREATE TABLE groups (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organizations (id),
    name text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    deleted_at bigint
);
CREATE UNIQUE INDEX groups_name ON groups (org_id, name) WHERE deleted_at IS NULL;

CREATE TABLE tokens (
    id uuid PRIMARY KEY,
    hash bytea NOT NULL CHECK (length(hash) = 32),
    hint text NOT NULL,
    owner_id uuid NOT NULL REFERENCES accounts (id),
    created_by uuid NOT NULL REFERENCES accounts (id),
    org_id uuid NOT NULL REFERENCES organizations (id),
    account_wide boolean NOT NULL,
    group_id uuid REFERENCES groups (id),
    name text COLLATE "C" NOT NULL,
    -- The name in Unicode lower case, for the case-insensitive name filter.
    name_folded text COLLATE "C" NOT NULL,
    scopes text NOT NULL,
    token_type text NOT NULL CHECK (token_type IN ('read_write', 'read_scaling')),
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    last_used_at bigint NOT NULL,
    revoked_at bigint
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
    scope text COLLATE "C" NOT NULL,
    token_id uuid NOT NULL REFERENCES tokens (id),
    PRIMARY KEY (scope, token_id)
);
