-- Marks that find a numbered page deep inside a whole organization's list in creation order
-- without walking the tokens before it: an OFFSET walks every index entry it skips (half a
-- million for the middle page of a million tokens, about 140 ms), and SQLite's B-trees keep no
-- counts. A mark is a token id of the organization, how many of the organization's tokens
-- come before it in id order (its place) and how many from it up to the next mark (its
-- stretch): a page is found by one seek for the last mark placed at or before it, then a walk
-- of less than one stretch. Tokens are never deleted and never change organization, so only a
-- new token moves a mark. A trigger keeps them in step with every insert, in the writing
-- transaction, as 0003's counters; PostgreSQL's 0007 keeps the same marks by the same rules.
CREATE TABLE token_marks (
    org_id BLOB NOT NULL REFERENCES organizations (id),
    first_id BLOB NOT NULL,
    before INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    PRIMARY KEY (org_id, first_id)
) WITHOUT ROWID;
CREATE INDEX token_marks_place ON token_marks (org_id, before);

-- Every 500th token of each organization, in id order, starts a stretch.
INSERT INTO token_marks (org_id, first_id, before, tokens)
SELECT org_id, id, position, min(500, total - position)
FROM (
    SELECT org_id, id, row_number() OVER (PARTITION BY org_id ORDER BY id) - 1 AS position,
           count(*) OVER (PARTITION BY org_id) AS total
    FROM tokens
)
WHERE position % 500 = 0;

-- A new token moves the place of every mark after it and is counted in the stretch its id
-- falls in. Mints come in id order but for those racing each other, so they lengthen the last
-- stretch and move no place; an import in id order does the same, and one in any other order
-- moves the marks after each of its tokens. The organization's first token makes its first
-- mark, and an id before that mark moves it down (counting the token there). A stretch grown
-- to a thousand tokens is cut into stretches of 500 by a trigger of its own, so that a mint
-- runs its statement only then; it reads the stretch's thousand ids once per 500 tokens. The
-- places move first: the marks a cut makes are placed by the tokens they follow, this one
-- included.
CREATE TRIGGER token_marks_mint AFTER INSERT ON tokens
BEGIN
    UPDATE token_marks SET before = before + 1
    WHERE org_id = NEW.org_id AND first_id > NEW.id;
    INSERT INTO token_marks (org_id, first_id, before, tokens)
    SELECT NEW.org_id, NEW.id, 0, 1
    WHERE NOT EXISTS (SELECT 1 FROM token_marks WHERE org_id = NEW.org_id);
    UPDATE token_marks SET first_id = NEW.id, before = 0, tokens = tokens + 1
    WHERE org_id = NEW.org_id AND first_id > NEW.id
      AND first_id = (SELECT min(first_id) FROM token_marks WHERE org_id = NEW.org_id);
    UPDATE token_marks SET tokens = tokens + 1
    WHERE org_id = NEW.org_id
      AND first_id = (SELECT max(first_id) FROM token_marks
                      WHERE org_id = NEW.org_id AND first_id < NEW.id);
END;

CREATE TRIGGER token_marks_cut AFTER UPDATE OF tokens ON token_marks
WHEN NEW.tokens >= 1000
BEGIN
    INSERT INTO token_marks (org_id, first_id, before, tokens)
    SELECT NEW.org_id, id, NEW.before + position, min(500, total - position)
    FROM (
        SELECT t.id, row_number() OVER (ORDER BY t.id) - 1 AS position,
               count(*) OVER () AS total
        FROM tokens t
        -- Up to the next mark, or past every id (seventeen bytes sort after sixteen).
        WHERE t.org_id = NEW.org_id AND t.id >= NEW.first_id
          AND t.id < coalesce((SELECT min(first_id) FROM token_marks n
                               WHERE n.org_id = NEW.org_id AND n.first_id > NEW.first_id),
                              X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF')
    )
    WHERE position % 500 = 0
    ON CONFLICT (org_id, first_id) DO UPDATE SET tokens = excluded.tokens;
END;
