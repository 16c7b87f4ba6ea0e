-- A move or a merge of a unit with a history makes every large subtree's kept roll-up that may
-- have counted it read in full again (thidua_report_tree_changed_since, 0059): 5-8 s for the
-- union at 5 million events. The keeper read them again at its next round, up to a minute later
-- (report_keep_interval_s), and meanwhile every reader of the union read in full. It now looks
-- every few seconds for a change to the tree newer than its round's, and keeps them then.
SET LOCAL search_path = public;

-- The newest change to the tree recorded (none: NULL), as a text the keeper compares.
CREATE FUNCTION thidua_report_tree_changed_last() RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT max(t.written)::text FROM public.report_tree_changes t
$$;
REVOKE ALL ON FUNCTION thidua_report_tree_changed_last() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_tree_changed_last() TO thidua_app;
