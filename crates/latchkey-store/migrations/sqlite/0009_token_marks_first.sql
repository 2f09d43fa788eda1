-- 0007's mint trigger, its second statement changed: an organization's first token makes its
-- first mark, and that is now asked of the tokens (is there another of this organization?)
-- rather than of the marks (are there none yet?). The answer is the same: an organization has
-- a mark exactly when it has a token, since 0007 made one for each organization with tokens,
-- this statement makes one at each organization's first token, marks are made from tokens
-- alone, and tokens never change organization, nor are tokens or marks ever deleted. An
-- INSERT whose SELECT reads the table it writes copies the rows it selects into a temporary
-- table first, opened at every run even when it selects nothing: a few microseconds of the
-- writer's time a mint (BENCHMARKS.md). The other statements are 0007's.
DROP TRIGGER token_marks_mint;

CREATE TRIGGER token_marks_mint AFTER INSERT ON tokens
BEGIN
    UPDATE token_marks SET before = before + 1
    WHERE org_id = NEW.org_id AND first_id > NEW.id;
    INSERT INTO token_marks (org_id, first_id, before, tokens)
    SELECT NEW.org_id, NEW.id, 0, 1
    WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE org_id = NEW.org_id AND id != NEW.id);
    UPDATE token_marks SET first_id = NEW.id, before = 0, tokens = tokens + 1
    WHERE org_id = NEW.org_id AND first_id > NEW.id
      AND first_id = (SELECT min(first_id) FROM token_marks WHERE org_id = NEW.org_id);
    UPDATE token_marks SET tokens = tokens + 1
    WHERE org_id = NEW.org_id
      AND first_id = (SELECT max(first_id) FROM token_marks
                      WHERE org_id = NEW.org_id AND first_id < NEW.id);
END;
