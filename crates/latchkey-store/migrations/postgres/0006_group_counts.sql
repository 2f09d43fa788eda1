-- Counters that give a group's numbered listing (all its tokens, or its revoked ones) a `total`
-- without counting the group's tokens, as 0004's do for a whole organization: a group of 10,000
-- tokens took milliseconds to count from its index. Kept per group and organization (a group's
-- tokens all belong to its organization; a listing that names another organization finds no
-- row and counts 0, as a count of the tokens would), spread over 16 slots like 0004's, and by
-- the same statement triggers, whose function now keeps both: one join of the transition
-- tables a statement, which every flush of use stamps runs.

-- Writes wait for this migration's commit, when other sessions start to use the new function:
-- a token written between the counts taken below and that moment would never be counted.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE group_token_counts (
    group_id uuid NOT NULL,
    org_id uuid NOT NULL,
    slot smallint NOT NULL,
    total bigint NOT NULL,
    revoked bigint NOT NULL,
    PRIMARY KEY (group_id, org_id, slot)
);

INSERT INTO group_token_counts (group_id, org_id, slot, total, revoked)
SELECT group_id, org_id, 0, count(*), count(revoked_at) FROM tokens WHERE group_id IS NOT NULL
GROUP BY group_id, org_id;

CREATE OR REPLACE FUNCTION token_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
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
        INSERT INTO group_token_counts (group_id, org_id, slot, total, revoked)
        SELECT group_id, org_id, pg_backend_pid() % 16, count(*), count(revoked_at)
        FROM new_tokens WHERE group_id IS NOT NULL GROUP BY group_id, org_id
        ON CONFLICT (group_id, org_id, slot) DO UPDATE
        SET total = group_token_counts.total + excluded.total,
            revoked = group_token_counts.revoked + excluded.revoked;
    ELSE
        WITH changed AS (
            SELECT n.org_id, n.group_id, n.expires_at / 86400 AS day,
                   CASE WHEN n.revoked_at IS NULL THEN -1 ELSE 1 END AS revoked
            FROM new_tokens n JOIN old_tokens o ON o.id = n.id
            WHERE (o.revoked_at IS NULL) <> (n.revoked_at IS NULL)
        ), by_org AS (
            INSERT INTO token_counts (org_id, slot, total, revoked)
            SELECT org_id, pg_backend_pid() % 16, 0, sum(revoked) FROM changed GROUP BY org_id
            ON CONFLICT (org_id, slot) DO UPDATE
            SET revoked = token_counts.revoked + excluded.revoked
        ), by_group AS (
            INSERT INTO group_token_counts (group_id, org_id, slot, total, revoked)
            SELECT group_id, org_id, pg_backend_pid() % 16, 0, sum(revoked) FROM changed
            WHERE group_id IS NOT NULL GROUP BY group_id, org_id
            ON CONFLICT (group_id, org_id, slot) DO UPDATE
            SET revoked = group_token_counts.revoked + excluded.revoked
        )
        INSERT INTO token_expiry_counts (org_id, day, slot, live)
        SELECT org_id, day, pg_backend_pid() % 16, -sum(revoked) FROM changed GROUP BY org_id, day
        ON CONFLICT (org_id, day, slot) DO UPDATE
        SET live = token_expiry_counts.live + excluded.live;
    END IF;
    RETURN NULL;
END
$$;
