-- Counters that give a numbered page's `total` over a whole organization (Tooken's default
-- listing, by status or not) without counting its tokens: how many tokens each organization
-- holds and how many are revoked, and how many of its live tokens expire on each day (a token
-- expires without a write, so "expired now" is the days before today, summed, plus today's
-- tokens up to now, counted from the index). Triggers keep them in step with every write,
-- whichever code path makes it (mints, revocations one at a time or by the thousand, imports),
-- in the writing transaction. Days are whole multiples of 86,400 seconds since the epoch.
CREATE TABLE token_counts (
    org_id BLOB PRIMARY KEY REFERENCES organizations (id),
    total INTEGER NOT NULL,
    revoked INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE token_expiry_counts (
    org_id BLOB NOT NULL REFERENCES organizations (id),
    day INTEGER NOT NULL,
    live INTEGER NOT NULL,
    PRIMARY KEY (org_id, day)
) WITHOUT ROWID;

INSERT INTO token_counts (org_id, total, revoked)
SELECT org_id, count(*), count(revoked_at) FROM tokens GROUP BY org_id;

INSERT INTO token_expiry_counts (org_id, day, live)
SELECT org_id, expires_at / 86400, count(*) FROM tokens WHERE revoked_at IS NULL
GROUP BY org_id, expires_at / 86400;

CREATE TRIGGER token_counts_mint AFTER INSERT ON tokens
BEGIN
    INSERT INTO token_counts (org_id, total, revoked)
    VALUES (NEW.org_id, 1, NEW.revoked_at IS NOT NULL)
    ON CONFLICT (org_id) DO UPDATE SET total = total + 1, revoked = revoked + excluded.revoked;
    INSERT INTO token_expiry_counts (org_id, day, live)
    SELECT NEW.org_id, NEW.expires_at / 86400, 1 WHERE NEW.revoked_at IS NULL
    ON CONFLICT (org_id, day) DO UPDATE SET live = live + 1;
END;

CREATE TRIGGER token_counts_revoke AFTER UPDATE OF revoked_at ON tokens
WHEN (OLD.revoked_at IS NULL) != (NEW.revoked_at IS NULL)
BEGIN
    UPDATE token_counts
    SET revoked = revoked + CASE WHEN NEW.revoked_at IS NULL THEN -1 ELSE 1 END
    WHERE org_id = NEW.org_id;
    INSERT INTO token_expiry_counts (org_id, day, live)
    VALUES (NEW.org_id, NEW.expires_at / 86400, CASE WHEN NEW.revoked_at IS NULL THEN 1 ELSE -1 END)
    ON CONFLICT (org_id, day) DO UPDATE SET live = live + excluded.live;
END;
