-- An initiative registered and not yet recognised that a runner before the commits of 2026-12-04
-- at 17:37 counted (they left its registration to the database) has an item with no day and no
-- figures. Its recognition straight after its registration is now counted in the database (its
-- item written unless one is there): such a row would stand, so that a withdrawal or an amendment
-- after it took back nothing, or was lost. No reader asks for an initiative's item before its
-- recognition (the typical individuals read recognised ones), and an event that sets one anew
-- reads it from the log where there is none: these rows go, and so do those of initiatives
-- withdrawn before their recognition (no event can follow a withdrawal).
SET LOCAL search_path = public;

-- No runner of the code before writes such a row between the delete and the commit.
LOCK TABLE report_items IN SHARE MODE;

DELETE FROM report_items WHERE item LIKE 'initiative:%' AND day IS NULL;
