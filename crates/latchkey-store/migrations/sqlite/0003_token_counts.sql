-- How many tokens each organization holds, and how many of them are revoked: a numbered page's
-- `total` over a whole organization (Tooken's default listing) reads one row instead of counting
-- every token. Triggers keep the row in step with every write, whichever code path makes it
-- (mints, revocations one at a time or by the thousand, imports), in the writing transaction.
-- Expiry needs no counter: a token expires without a write, so "expired" is counted from the
-- index, over the expired tokens alone.
CREATE TABLE token_counts (
    org_id BLOB PRIMARY KEY REFERENCES organizations (id),
    total INTEGER NOT NULL,
    revoked INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO token_counts (org_id, total, revoked)
SELECT org_id, count(*), count(revoked_at) FROM tokens GROUP BY org_id;

CREATE TRIGGER token_counts_mint AFTER INSERT ON tokens
BEGIN
    INSERT INTO token_counts (org_id, total, revoked)
    VALUES (NEW.org_id, 1, NEW.revoked_at IS NOT NULL)
    ON CONFLICT (org_id) DO UPDATE SET total = total + 1, revoked = revoked + excluded.revoked;
END;

CREATE TRIGGER token_counts_revoke AFTER UPDATE OF revoked_at ON tokens
WHEN (OLD.revoked_at IS NULL) != (NEW.revoked_at IS NULL)
BEGIN
    UPDATE token_counts
    SET revoked = revoked + CASE WHEN NEW.revoked_at IS NULL THEN -1 ELSE 1 END
    WHERE org_id = NEW.org_id;
END;
