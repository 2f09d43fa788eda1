-- How many tokens each organization holds, and how many of them are revoked: a numbered page's
-- `total` over a whole organization (Tooken's default listing) sums a few rows instead of
-- counting every token. Triggers keep the rows in step with every write, whichever code path
-- makes it (mints, revocations one at a time or by the thousand, imports), in the writing
-- transaction. Expiry needs no counter: a token expires without a write, so "expired" is
-- counted from the index, over the expired tokens alone.
--
-- An organization's counts are spread over up to 16 rows (`slot`, from the writing session's
-- process id): a counter row stays locked until its transaction commits, so one row would
-- queue every mint of an organization behind the previous one's commit. The sum is the count.
CREATE TABLE token_counts (
    org_id uuid NOT NULL REFERENCES organizations (id),
    slot smallint NOT NULL,
    total bigint NOT NULL,
    revoked bigint NOT NULL,
    PRIMARY KEY (org_id, slot)
);

INSERT INTO token_counts (org_id, slot, total, revoked)
SELECT org_id, 0, count(*), count(revoked_at) FROM tokens GROUP BY org_id;

-- Statement triggers with transition tables: a bulk insert or a mass revocation adds its
-- counts once per organization, not once per row.
CREATE FUNCTION token_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO token_counts (org_id, slot, total, revoked)
        SELECT org_id, pg_backend_pid() % 16, count(*), count(revoked_at)
        FROM new_tokens GROUP BY org_id
        ON CONFLICT (org_id, slot) DO UPDATE
        SET total = token_counts.total + excluded.total,
            revoked = token_counts.revoked + excluded.revoked;
    ELSE
        INSERT INTO token_counts (org_id, slot, total, revoked)
        SELECT n.org_id, pg_backend_pid() % 16, 0,
               sum(CASE WHEN n.revoked_at IS NULL THEN -1 ELSE 1 END)
        FROM new_tokens n JOIN old_tokens o ON o.id = n.id
        WHERE (o.revoked_at IS NULL) <> (n.revoked_at IS NULL)
        GROUP BY n.org_id
        ON CONFLICT (org_id, slot) DO UPDATE
        SET revoked = token_counts.revoked + excluded.revoked;
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
