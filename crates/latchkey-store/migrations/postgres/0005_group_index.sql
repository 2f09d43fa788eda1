-- A group's listing names its organization too: with the organization in the group's index,
-- its count and its pages read the index alone, not every token of the group.
DROP INDEX tokens_group;
CREATE INDEX tokens_group ON tokens (group_id, org_id, id) WHERE group_id IS NOT NULL;
