-- A council's items by their place: the projection asked for the count of a session's items
-- before each listed run of them (a hundred runs for 10,000 nominees: 75 ms, growing with the
-- square of the list), and the readers sort by it.
SET LOCAL search_path = public;

CREATE INDEX council_items_position ON council_items (tenant_id, session_id, position);
