-- The name filter is a partial, case-insensitive match. A trigram index over the folded name
-- finds the tokens whose name holds any text of three characters or more without reading the
-- table. Keyed by the token's id, not its rowid, which VACUUM may renumber. Token names never
-- change and tokens are never deleted (revocation keeps the row), so inserts are all it follows:
-- the writer adds the names of a commit's new tokens at its end, in one statement (FTS5 writes
-- what it holds to disk at every statement that follows a change to it, so a row at a time, or
-- a trigger, would cost every mint a merge of the index).
CREATE VIRTUAL TABLE tokens_name_trigrams USING fts5(
    name_folded,
    token_id UNINDEXED,
    tokenize = 'trigram case_sensitive 1'
);
INSERT INTO tokens_name_trigrams (name_folded, token_id) SELECT name_folded, id FROM tokens;

-- No listing filters or sorts by creator: the index only cost every mint a page write.
DROP INDEX tokens_org_created_by;

-- Counting a status (live tokens before or past their expiry) reads only this index.
DROP INDEX tokens_org_revoked;
CREATE INDEX tokens_org_revoked ON tokens (org_id, revoked_at, expires_at, id);
