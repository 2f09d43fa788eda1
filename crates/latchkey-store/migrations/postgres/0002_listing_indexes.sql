-- The name filter is a partial, case-insensitive match (a LIKE over the folded name): a trigram
-- index answers it without reading the table. pg_trgm is a trusted extension: the database's
-- owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tokens_name_trigrams ON tokens USING gin (name_folded gin_trgm_ops);

-- No listing filters or sorts by creator: the index only cost every mint a page write.
DROP INDEX tokens_org_created_by;

-- Counting a status (live tokens before or past their expiry) reads only this index.
DROP INDEX tokens_org_revoked;
CREATE INDEX tokens_org_revoked ON tokens (org_id, revoked_at, expires_at, id);
