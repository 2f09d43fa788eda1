-- An owner's tokens carry their expiry and revocation in the owner indexes, so that an owner's
-- list sorted by expiry, or filtered by status, reads the index alone: the index holds the
-- owner's entries side by side, where the table has each of them on a page of its own. The
-- same indexes are rebuilt wider rather than new ones added: a mint writes no more pages. Last
-- use stays out: it changes with every use (the flusher's stamps), and each index that held it
-- would be rewritten with it.
DROP INDEX tokens_org_owner;
CREATE INDEX tokens_org_owner ON tokens (org_id, owner_id, id, expires_at, revoked_at);
DROP INDEX tokens_owner;
CREATE INDEX tokens_owner ON tokens (owner_id, id, expires_at, revoked_at);
