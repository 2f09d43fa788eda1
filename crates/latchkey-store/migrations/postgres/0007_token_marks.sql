-- Marks that find a numbered page deep inside a whole organization's list in creation order
-- without walking the tokens before it: an OFFSET walks every index entry it skips (half a
-- million for the middle page of a million tokens), and PostgreSQL's B-trees keep no counts. A
-- mark is a token id of the organization, how many of the organization's tokens come before it
-- in id order (its place) and how many from it up to the next mark (its stretch): a page is
-- found by one seek for the last mark placed at or before it, then a walk of less than one
-- stretch. Tokens are never deleted and never change organization, so only a new token moves a
-- mark. The same marks, by the same rules, as SQLite's 0007.

-- Writes wait for this migration's commit, when other sessions start to use the trigger: a
-- token written between the marks taken below and that moment would never be counted.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE token_marks (
    org_id uuid NOT NULL REFERENCES organizations (id),
    first_id uuid NOT NULL,
    before bigint NOT NULL,
    tokens bigint NOT NULL,
    PRIMARY KEY (org_id, first_id)
);
CREATE INDEX token_marks_place ON token_marks (org_id, before);

-- Every 500th token of each organization, in id order, starts a stretch.
INSERT INTO token_marks (org_id, first_id, before, tokens)
SELECT org_id, id, position, least(500, total - position)
FROM (
    SELECT org_id, id, row_number() OVER (PARTITION BY org_id ORDER BY id) - 1 AS position,
           count(*) OVER (PARTITION BY org_id) AS total
    FROM tokens
) numbered
WHERE position % 500 = 0;

-- A statement's new tokens are counted in the stretches their ids fall in, and move the place of
-- every mark after them. Mints come in id order but for those racing each other, so they
-- lengthen the last stretch and move no place; an import in id order does the same, and one in
-- any other order moves the marks after its tokens. The organization's first token makes its
-- first mark, and an id before that mark moves it down. A stretch grown to a thousand tokens is
-- cut into stretches of 500 (which reads its thousand ids once per 500 tokens).
--
-- Unlike the counters, which any number of writers add to apart (0004), a stretch's count is
-- only right if its writer sees every token before it and every mark: so the writers of one
-- organization's marks take turns, each holding the organization's advisory lock (class
-- 0x6d61726b, "mark") from its count to its commit, and each statement after the lock, in READ
-- COMMITTED, sees what the writer before committed. It is taken at the end of the inserting
-- statement, after every row lock of a mint (PostgreSQL fires a table's triggers for one event
-- in the order of their names, 0004's `token_counts_mint` first), one organization after
-- another in id order, as the store's bulk insert orders its statements: see the store's
-- module on the order of locks.
CREATE FUNCTION token_marks_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org uuid;
    first_new uuid;
    last_mark uuid;
    long_stretches uuid[];
BEGIN
    FOR org IN SELECT DISTINCT org_id FROM new_tokens ORDER BY org_id LOOP
        PERFORM pg_advisory_xact_lock(x'6d61726b'::int, hashtext(org::text));
        -- (uuid has no min() or max(): the first or last of an order stands for them.)
        SELECT id INTO first_new FROM new_tokens WHERE org_id = org ORDER BY id LIMIT 1;
        SELECT first_id INTO last_mark FROM token_marks WHERE org_id = org
        ORDER BY first_id DESC LIMIT 1;
        IF first_new > last_mark THEN
            -- Every new token in the last stretch: the mint's usual case, one update.
            UPDATE token_marks
            SET tokens = tokens + (SELECT count(*) FROM new_tokens WHERE org_id = org)
            WHERE org_id = org AND first_id = last_mark
            RETURNING CASE WHEN tokens >= 1000 THEN ARRAY[first_id] END INTO long_stretches;
        ELSE
            INSERT INTO token_marks (org_id, first_id, before, tokens)
            SELECT org, first_new, 0, 0 WHERE last_mark IS NULL;
            UPDATE token_marks m SET first_id = first_new
            WHERE m.org_id = org AND m.first_id > first_new
              AND m.first_id = (SELECT first_id FROM token_marks WHERE org_id = org
                                ORDER BY first_id LIMIT 1);
            WITH counted AS (
                UPDATE token_marks m SET tokens = m.tokens + c.tokens
                FROM (
                    SELECT (SELECT k.first_id FROM token_marks k
                            WHERE k.org_id = org AND k.first_id <= n.id
                            ORDER BY k.first_id DESC LIMIT 1) AS first_id,
                           count(*) AS tokens
                    FROM new_tokens n WHERE n.org_id = org GROUP BY 1
                ) c
                WHERE m.org_id = org AND m.first_id = c.first_id
                RETURNING m.first_id, m.tokens
            )
            SELECT array_agg(first_id) INTO long_stretches FROM counted WHERE tokens >= 1000;
            UPDATE token_marks m
            SET before = m.before + (SELECT count(*) FROM new_tokens n
                                     WHERE n.org_id = org AND n.id < m.first_id)
            WHERE m.org_id = org AND m.first_id > first_new;
        END IF;
        IF long_stretches IS NOT NULL THEN
            INSERT INTO token_marks (org_id, first_id, before, tokens)
            SELECT org, id, before + position, least(500, total - position)
            FROM (
                SELECT t.id, s.before,
                       row_number() OVER (PARTITION BY s.first_id ORDER BY t.id) - 1 AS position,
                       count(*) OVER (PARTITION BY s.first_id) AS total
                FROM token_marks s
                -- Up to the next mark, or to the largest uuid, which no minted id is (a
                -- version 7 id's version bits are never all ones).
                JOIN tokens t ON t.org_id = org AND t.id >= s.first_id
                  AND t.id < coalesce((SELECT n.first_id FROM token_marks n
                                       WHERE n.org_id = org AND n.first_id > s.first_id
                                       ORDER BY n.first_id LIMIT 1),
                                      'ffffffff-ffff-ffff-ffff-ffffffffffff')
                WHERE s.org_id = org AND s.first_id = ANY (long_stretches)
            ) cut
            WHERE position % 500 = 0
            ON CONFLICT (org_id, first_id) DO UPDATE SET tokens = excluded.tokens;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER token_marks_mint AFTER INSERT ON tokens
REFERENCING NEW TABLE AS new_tokens
FOR EACH STATEMENT EXECUTE FUNCTION token_marks_add();
