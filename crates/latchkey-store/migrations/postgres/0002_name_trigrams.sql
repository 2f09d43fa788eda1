-- The name filter is a partial, case-insensitive match (a LIKE over the folded name): a trigram
-- index answers it without reading the table. pg_trgm is a trusted extension: the database's
-- owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tokens_name_trigrams ON tokens USING gin (name_folded gin_trgm_ops);
