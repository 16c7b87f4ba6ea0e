-- The projection runner writes read models in bulk: a 10,000-nominee proposal's rows at each
-- step of its chain, a bulk pledge's 100,000. PostgreSQL refuses COPY into a table under
-- row-level security, and the runner's role is under it on every projection table, though each
-- of its policies there lets it reach every row (USING (true) WITH CHECK (true), a test holds
-- them to it): the wall keeps the application's readers apart, not the runner's writes. So
-- bypassing row-level security gives the runner no row it could not reach before, and lets it
-- COPY: 10,000 recipients in 180 ms instead of 290 (shared/db.py, insert_rows).
-- A server whose migrating role may not give the attribute (it takes a superuser, or a role
-- that has it) keeps the INSERT path: the runner asks row_security_active before each bulk.
DO $$
BEGIN
    ALTER ROLE thidua_projector BYPASSRLS;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'thidua_projector stays under row-level security: no COPY for the runner';
END $$;
