-- Counters that give a numbered page's `total` over a whole organization (Tooken's default
-- listing, by status or not) without counting its tokens: how many tokens each organization
-- holds and how many are revoked, and how many of its live tokens expire on each day (a token
-- expires without a write, so "expired now" is the days before today, summed, plus today's
-- tokens up to now, counted from the index). Triggers keep them in step with every write,
-- whichever code path makes it (mints, revocations one at a time or by the thousand, imports),
-- in the writing transaction. Days are whole multiples of 86,400 seconds since the epoch.
--
-- Each count is spread over up to 16 rows (`slot`, from the writing session's process id): a
-- counter row stays locked until its transaction commits, so one row would queue every mint
-- of an organization behind the previous one's commit. The sum is the count.
CREATE TABLE token_counts (
    org_id uuid NOT NULL REFERENCES organizations (id),
    slot smallint NOT NULL,
    total bigint NOT NULL,
    revoked bigint NOT NULL,
    PRIMARY KEY (org_id, slot)
);

CREATE TABLE token_expiry_counts (
    org_id uuid NOT NULL REFERENCES organizations (id),
    day bigint NOT NULL,
    slot smallint NOT NULL,
    live bigint NOT NULL,
    PRIMARY KEY (org_id, day, slot)
);

INSERT INTO token_counts (org_id, slot, total, revoked)
SELECT org_id, 0, count(*), count(revoked_at) FROM tokens GROUP BY org_id;

INSERT INTO token_expiry_counts (org_id, day, slot, live)
SELECT org_id, expires_at / 86400, 0, count(*) FROM tokens WHERE revoked_at IS NULL
GROUP BY org_id, expires_at / 86400;

-- Statement triggers with transition tables: a bulk insert or a mass revocation adds its
-- counts once per organization and day, not once per row.
CREATE FUNCTION token_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO token_counts (org_id, slot, total, revoked)
        SELECT org_id, pg_backend_pid() % 16, count(*), count(revoked_at)
        FROM new_tokens GROUP BY org_id
        ON CONFLICT (org_id, slot) DO UPDATE
        SET total = token_counts.total + excluded.total,
            revoked = token_counts.revoked + excluded.revoked;
        INSERT INTO token_expiry_counts (org_id, day, slot, live)
        SELECT org_id, expires_at / 86400, pg_backend_pid() % 16, count(*)
        FROM new_tokens WHERE revoked_at IS NULL GROUP BY org_id, expires_at / 86400
        ON CONFLICT (org_id, day, slot) DO UPDATE
        SET live = token_expiry_counts.live + excluded.live;
    ELSE
        WITH changed AS (
            SELECT n.org_id, n.expires_at / 86400 AS day,
                   CASE WHEN n.revoked_at IS NULL THEN -1 ELSE 1 END AS revoked
            FROM new_tokens n JOIN old_tokens o ON o.id = n.id
            WHERE (o.revoked_at IS NULL) <> (n.revoked_at IS NULL)
        ), by_org AS (
            INSERT INTO token_counts (org_id, slot, total, revoked)
            SELECT org_id, pg_backend_pid() % 16, 0, sum(revoked) FROM changed GROUP BY org_id
            ON CONFLICT (org_id, slot) DO UPDATE
            SET revoked = token_counts.revoked + excluded.revoked
        )
        INSERT INTO token_expiry_counts (org_id, day, slot, live)
        SELECT org_id, day, pg_backend_pid() % 16, -sum(revoked) FROM changed GROUP BY org_id, day
        ON CONFLICT (org_id, day, slot) DO UPDATE
        SET live = token_expiry_counts.live + excluded.live;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER token_counts_mint AFTER INSERT ON tokens
REFERENCING NEW TABLE AS new_tokens
FOR EACH STATEMENT EXECUTE FUNCTION token_counts_add();

CREATE TRIGGER token_counts_change AFTER UPDATE ON tokens
REFERENCING OLD TABLE AS old_tokens NEW TABLE AS new_tokens
FOR EACH STATEMENT EXECUTE FUNCTION token_counts_add();
