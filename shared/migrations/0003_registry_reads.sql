-- Faster subtree reads (issue 3's benchmark: a province's subtree within 2x a plain index).
SET LOCAL search_path = public;

-- A subtree on a date reads only the index: valid_to and depth ride along in the primary key,
-- so the scan never visits the table's pages (a province's rows lie scattered over thousands).
ALTER TABLE unit_closure
    DROP CONSTRAINT unit_closure_pkey,
    ADD CONSTRAINT unit_closure_pkey PRIMARY KEY (ancestor, valid_from, descendant)
        INCLUDE (valid_to, depth);

-- The policies read the request's settings once per statement (a scalar subquery is an
-- initplan) instead of once per row, and a SELECT is checked by the read policy alone: the
-- writer's policies now name only the commands they are for.
DROP POLICY closure_read ON unit_closure;
DROP POLICY units_read ON units;
DROP POLICY parents_read ON unit_parents;
DROP POLICY units_write ON units;
DROP POLICY parents_write ON unit_parents;
DROP POLICY closure_write ON unit_closure;

CREATE FUNCTION thidua_registry_writer() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(current_setting('thidua.registry_writer', true) = 'on', false) $$;

CREATE POLICY closure_read ON unit_closure FOR SELECT TO thidua_app USING (
    (SELECT thidua_registry_writer())
    OR ancestor = (SELECT current_setting('thidua.tenant', true))
    OR descendant = (SELECT current_setting('thidua.tenant', true))
);
CREATE POLICY units_read ON units FOR SELECT TO thidua_app USING (
    (SELECT thidua_registry_writer())
    OR EXISTS (SELECT 1 FROM unit_closure c
                WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                  AND c.descendant = units.tenant_id)
);
CREATE POLICY parents_read ON unit_parents FOR SELECT TO thidua_app USING (
    (SELECT thidua_registry_writer())
    OR EXISTS (SELECT 1 FROM unit_closure c
                WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                  AND c.descendant = unit_parents.tenant_id)
);

CREATE POLICY units_insert ON units FOR INSERT TO thidua_app
    WITH CHECK ((SELECT thidua_registry_writer()));
CREATE POLICY units_update ON units FOR UPDATE TO thidua_app
    USING ((SELECT thidua_registry_writer())) WITH CHECK ((SELECT thidua_registry_writer()));
CREATE POLICY units_delete ON units FOR DELETE TO thidua_app
    USING ((SELECT thidua_registry_writer()));
CREATE POLICY parents_insert ON unit_parents FOR INSERT TO thidua_app
    WITH CHECK ((SELECT thidua_registry_writer()));
CREATE POLICY parents_update ON unit_parents FOR UPDATE TO thidua_app
    USING ((SELECT thidua_registry_writer())) WITH CHECK ((SELECT thidua_registry_writer()));
CREATE POLICY parents_delete ON unit_parents FOR DELETE TO thidua_app
    USING ((SELECT thidua_registry_writer()));
CREATE POLICY closure_insert ON unit_closure FOR INSERT TO thidua_app
    WITH CHECK ((SELECT thidua_registry_writer()));
CREATE POLICY closure_update ON unit_closure FOR UPDATE TO thidua_app
    USING ((SELECT thidua_registry_writer())) WITH CHECK ((SELECT thidua_registry_writer()));
CREATE POLICY closure_delete ON unit_closure FOR DELETE TO thidua_app
    USING ((SELECT thidua_registry_writer()));
