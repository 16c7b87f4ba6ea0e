-- A member's votes stored as they are cast: one row for each list of items voted alike (the
-- event's), not one for each item. A council of 10,000 items cost its projection 10,000 rows for
-- each member, 80 ms of each member's castVotes waiting for them; the readers unnest the lists
-- (how many have voted on each item of an open session; who voted on one item).
-- The table is kept, so are its grants and policies; its rows are merged into lists.
SET LOCAL search_path = public;

ALTER TABLE council_votes DROP CONSTRAINT council_votes_pkey;
ALTER TABLE council_votes ADD COLUMN items text[];
WITH single AS (DELETE FROM council_votes RETURNING *)
INSERT INTO council_votes (tenant_id, session_id, item_id, voter, choice, items)
SELECT tenant_id, session_id, '', voter, choice, array_agg(item_id ORDER BY item_id)
  FROM single GROUP BY tenant_id, session_id, voter, choice;
ALTER TABLE council_votes DROP COLUMN item_id;
ALTER TABLE council_votes ALTER COLUMN items SET NOT NULL;
CREATE INDEX council_votes_session ON council_votes (tenant_id, session_id);
