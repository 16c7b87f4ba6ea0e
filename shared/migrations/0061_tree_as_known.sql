-- The tree as the log held it at a past moment. A summary asked as of a moment (asOf) counted
-- the figures the log held then over today's tree: a move or merge recorded after the moment but
-- dated before it changed what the summary said then, so an auditor could not see what a report
-- said when it was read. The registry's projection rewrites its rows (unit_parents,
-- unit_closure) in place; now each row carries the time it is known from (known_from), and a
-- row replaced or deleted is kept in unit_parents_known or unit_closure_known with the time it
-- was known to (known_to). The reads asked as of a moment read the rows known then.
--
-- The time a row is known from is the recorded time of the registry event that wrote it: the
-- owner's thidua_registry_apply_known (below), the application's only way to apply registry
-- events now, sets thidua.known_at to it, read from the log itself, whatever the caller set;
-- the operator's rebuild (services/registry/projections.py, on the owner's connection) sets it
-- as it replays. Else (an owner's hand) the start of the writing transaction. The rows there
-- before this migration are taken as known from always: the tree's past before it was not kept.
SET LOCAL search_path = public;

-- The time a change to the tree is known from (above). Without SET (its names qualified
-- instead), so that it is inlined where it is the tree's columns' default: a call of a function
-- with SET for each of an import's 600,000 rows of the closure costs seconds.
CREATE FUNCTION thidua_tree_known_now() RETURNS timestamptz
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('thidua.known_at', true), '')
                        ::pg_catalog.timestamptz, pg_catalog.now())
$$;
REVOKE ALL ON FUNCTION thidua_tree_known_now() FROM PUBLIC;

-- (a constant default first: the rows there are not rewritten)
ALTER TABLE unit_parents ADD COLUMN known_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE unit_parents ALTER COLUMN known_from SET DEFAULT thidua_tree_known_now();
ALTER TABLE unit_closure ADD COLUMN known_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE unit_closure ALTER COLUMN known_from SET DEFAULT thidua_tree_known_now();

-- The rows replaced or deleted, each with the span it was known (known_from <= t < known_to).
CREATE TABLE unit_parents_known (LIKE unit_parents INCLUDING DEFAULTS);
ALTER TABLE unit_parents_known ALTER COLUMN known_from DROP DEFAULT,
                               ADD COLUMN known_to timestamptz NOT NULL;
CREATE INDEX unit_parents_known_tenant ON unit_parents_known (tenant_id, valid_from);
CREATE INDEX unit_parents_known_merged ON unit_parents_known (parent_id) WHERE kind = 'merged';
ALTER TABLE unit_parents_known ENABLE ROW LEVEL SECURITY;

CREATE TABLE unit_closure_known (LIKE unit_closure INCLUDING DEFAULTS);
ALTER TABLE unit_closure_known ALTER COLUMN known_from DROP DEFAULT,
                               ADD COLUMN known_to timestamptz NOT NULL;
CREATE INDEX unit_closure_known_ancestor ON unit_closure_known (ancestor, valid_from, descendant);
CREATE INDEX unit_closure_known_descendant ON unit_closure_known (descendant, ancestor);
ALTER TABLE unit_closure_known ENABLE ROW LEVEL SECURITY;

-- The application's way to apply registry events already in the log (thidua_registry_apply,
-- 0023, no longer its to call): each run of events recorded at the same time applied with
-- thidua.known_at set to that time, read from the log, so that the tree's rows are known from
-- when the log held their events, whoever calls and whatever it set (a time set by the caller
-- could date a change before its event, or drop the rows it replaced). An import's batch is one
-- run (its logs are opened together).
CREATE FUNCTION thidua_registry_apply_known(p_tenants text[], p_seqs bigint[], p_keys text[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    IF cardinality(p_tenants) IS DISTINCT FROM cardinality(p_seqs)
       OR cardinality(p_tenants) IS DISTINCT FROM cardinality(p_keys) THEN
        RAISE EXCEPTION 'tenants, seqs and keys differ in number' USING ERRCODE = 'TD003';
    END IF;
    FOR r IN
        WITH placed AS (
            SELECT w.i, w.tenant_id, w.seq, w.key, e.recorded_at AS at
              FROM unnest(p_tenants, p_seqs, p_keys) WITH ORDINALITY AS w (tenant_id, seq, key, i)
              LEFT JOIN public.events e ON e.tenant_id = w.tenant_id AND e.seq = w.seq),
        runs AS (
            SELECT p.*, count(*) FILTER (WHERE p.at IS DISTINCT FROM p.before)
                        OVER (ORDER BY p.i) AS run
              FROM (SELECT q.*, lag(q.at) OVER (ORDER BY q.i) AS before FROM placed q) p)
        SELECT min(at) AS at, array_agg(tenant_id ORDER BY i) AS tenants,
               array_agg(seq ORDER BY i) AS seqs, array_agg(key ORDER BY i) AS keys
          FROM runs GROUP BY run ORDER BY run
    LOOP
        PERFORM set_config('thidua.known_at', coalesce(
            to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''), true);
        n := n + public.thidua_registry_apply(r.tenants, r.seqs, r.keys);
    END LOOP;
    PERFORM set_config('thidua.known_at', '', true);
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION thidua_registry_apply_known(text[], bigint[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_registry_apply_known(text[], bigint[], text[]) TO thidua_app;
REVOKE EXECUTE ON FUNCTION thidua_registry_apply(text[], bigint[], text[]) FROM thidua_app;

-- A row updated is a new row, known from now (one the update leaves as it was keeps its time).
CREATE FUNCTION thidua_tree_row_renewed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.known_from := OLD.known_from;
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.known_from := public.thidua_tree_known_now();
    END IF;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION thidua_tree_row_renewed() FROM PUBLIC;

-- The rows a statement replaced (an update's old rows other than those it left as they were)
-- or deleted, kept as known until now. A row gone in the moment it came was never known. (The
-- registry deletes a subtree's closure and writes it again: the rows written again are known
-- from now, those deleted until now, and no moment sees neither.)
CREATE FUNCTION thidua_tree_rows_gone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (the table's own side table: unit_parents_known, unit_closure_known)
    EXECUTE format('INSERT INTO public.%I SELECT o.*, $1 FROM (%s) o WHERE o.known_from < $1',
                   TG_TABLE_NAME || '_known',
                   CASE TG_OP WHEN 'UPDATE' THEN 'SELECT * FROM gone EXCEPT ALL SELECT * FROM came'
                              ELSE 'SELECT * FROM gone' END)
      USING public.thidua_tree_known_now();
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION thidua_tree_rows_gone() FROM PUBLIC;

-- A TRUNCATE (before it: the rows are still there to keep).
CREATE FUNCTION thidua_tree_all_gone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('INSERT INTO public.%I SELECT t.*, $1 FROM public.%I t WHERE t.known_from < $1',
                   TG_TABLE_NAME || '_known', TG_TABLE_NAME)
      USING public.thidua_tree_known_now();
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION thidua_tree_all_gone() FROM PUBLIC;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['unit_parents', 'unit_closure'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_renewed BEFORE UPDATE ON %1$I FOR EACH ROW '
                       'EXECUTE FUNCTION thidua_tree_row_renewed()', t);
        EXECUTE format('CREATE TRIGGER %1$s_known_replaced AFTER UPDATE ON %1$I REFERENCING OLD '
                       'TABLE AS gone NEW TABLE AS came FOR EACH STATEMENT '
                       'EXECUTE FUNCTION thidua_tree_rows_gone()', t);
        EXECUTE format('CREATE TRIGGER %1$s_known_deleted AFTER DELETE ON %1$I REFERENCING OLD '
                       'TABLE AS gone FOR EACH STATEMENT '
                       'EXECUTE FUNCTION thidua_tree_rows_gone()', t);
        EXECUTE format('CREATE TRIGGER %1$s_known_truncated BEFORE TRUNCATE ON %1$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION thidua_tree_all_gone()', t);
    END LOOP;
END $$;

-- The tree's rows known at p_known (NULL: today's rows). Plain SQL, neither SECURITY DEFINER
-- nor SET, so that the planner inlines them into the caller's statement: the caller's
-- conditions reach each branch's index, and the branches not asked for are never run (a
-- condition on the parameter alone). Today's branch names no known_from: the indexes cover it,
-- and a subtree is read from the index alone. Called by the owner's functions only (the tables
-- are the owner's).
CREATE FUNCTION thidua_tree_parents(p_known timestamptz)
RETURNS TABLE (tenant_id text, parent_id text, kind text, valid_from date, valid_to date)
LANGUAGE sql STABLE
AS $$
    SELECT p.tenant_id, p.parent_id, p.kind, p.valid_from, p.valid_to
      FROM public.unit_parents p WHERE p_known IS NULL
    UNION ALL
    SELECT p.tenant_id, p.parent_id, p.kind, p.valid_from, p.valid_to
      FROM public.unit_parents p WHERE p_known IS NOT NULL AND p.known_from <= p_known
    UNION ALL
    SELECT h.tenant_id, h.parent_id, h.kind, h.valid_from, h.valid_to
      FROM public.unit_parents_known h
     WHERE p_known IS NOT NULL AND h.known_from <= p_known AND h.known_to > p_known
$$;
REVOKE ALL ON FUNCTION thidua_tree_parents(timestamptz) FROM PUBLIC;

CREATE FUNCTION thidua_tree_closure(p_known timestamptz)
RETURNS TABLE (ancestor text, descendant text, depth integer, valid_from date, valid_to date)
LANGUAGE sql STABLE
AS $$
    SELECT c.ancestor, c.descendant, c.depth, c.valid_from, c.valid_to
      FROM public.unit_closure c WHERE p_known IS NULL
    UNION ALL
    SELECT c.ancestor, c.descendant, c.depth, c.valid_from, c.valid_to
      FROM public.unit_closure c WHERE p_known IS NOT NULL AND c.known_from <= p_known
    UNION ALL
    SELECT h.ancestor, h.descendant, h.depth, h.valid_from, h.valid_to
      FROM public.unit_closure_known h
     WHERE p_known IS NOT NULL AND h.known_from <= p_known AND h.known_to > p_known
$$;
REVOKE ALL ON FUNCTION thidua_tree_closure(timestamptz) FROM PUBLIC;

DROP FUNCTION thidua_report_members(text, integer, integer, text[]);

-- The units whose figures count in p_unit's of p_first..p_last (0059's), over the tree as known
-- at p_known (NULL: today's); and a merged unit's history that reaches a survivor below p_unit
-- through a unit merged before the period is found whatever the period (0059 stopped at such a
-- unit: a year's figures differed from that year's in a longer period).
CREATE FUNCTION thidua_report_members(p_unit text, p_first integer, p_last integer,
                                      p_only text[] DEFAULT NULL,
                                      p_known timestamptz DEFAULT NULL)
RETURNS TABLE (unit text, whole boolean, days datemultirange)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE
    period AS (
        SELECT daterange(make_date(p_first, 1, 1), make_date(p_last + 1, 1, 1)) AS days),
    -- p_only, and the survivors each was merged into (its history counts where they stand)
    asked (unit) AS (
        SELECT u FROM unnest(p_only) AS u
        UNION
        SELECT m.parent_id FROM asked a
          JOIN public.thidua_tree_parents(p_known) m ON m.tenant_id = a.unit AND m.kind = 'merged'),
    edges AS (
        SELECT c.descendant, c.valid_from, c.valid_to FROM public.thidua_tree_closure(p_known) c
         WHERE p_only IS NULL AND c.ancestor = p_unit
        UNION ALL
        SELECT c.descendant, c.valid_from, c.valid_to FROM asked a
          JOIN public.thidua_tree_closure(p_known) c ON c.descendant = a.unit AND c.ancestor = p_unit
         WHERE p_only IS NOT NULL),
    below AS MATERIALIZED (
        SELECT c.descendant AS unit, c.valid_from, c.valid_to FROM edges c
         WHERE c.descendant <> p_unit
           AND c.valid_from < make_date(p_last + 1, 1, 1)
           AND (c.valid_to IS NULL OR c.valid_to > make_date(p_first, 1, 1))),
    -- (merged unit, a survivor of it, the day its own history ends), survivors of survivors too.
    -- Merges before the period too: a unit merged before it may have absorbed, by a merge dated
    -- later (recorded before its own), a unit whose history in the period runs through it to its
    -- survivors (its own days in the period: none, but the chain's).
    heirs (unit, survivor, until) AS (
        SELECT m.tenant_id, m.parent_id, m.valid_from FROM public.thidua_tree_parents(p_known) m
         WHERE m.kind = 'merged'
           AND (m.parent_id = p_unit OR m.parent_id IN (SELECT unit FROM below))
        UNION
        SELECT m.tenant_id, h.survivor, m.valid_from FROM heirs h
          JOIN public.thidua_tree_parents(p_known) m ON m.kind = 'merged' AND m.parent_id = h.unit),
    -- p_unit, and each unit below it by one edge the whole period through and not the heir of
    -- anything (nearly every unit)
    whole AS (
        SELECT p_unit AS unit
        UNION ALL
        SELECT b.unit FROM below b
         WHERE b.valid_from <= make_date(p_first, 1, 1)
           AND (b.valid_to IS NULL OR b.valid_to >= make_date(p_last + 1, 1, 1))
           AND NOT EXISTS (SELECT 1 FROM heirs h WHERE h.unit = b.unit)),
    -- the others: the days each stood below p_unit, its own and as an absorbed unit's history
    spans AS (
        SELECT b.unit, daterange(b.valid_from, b.valid_to) AS days FROM below b
         WHERE NOT EXISTS (SELECT 1 FROM whole w WHERE w.unit = b.unit)
        UNION ALL
        SELECT h.unit, CASE WHEN h.survivor = p_unit THEN daterange(NULL, h.until)
                            ELSE daterange(b.valid_from, b.valid_to) * daterange(NULL, h.until) END
          FROM heirs h LEFT JOIN below b ON b.unit = h.survivor
         WHERE (h.survivor = p_unit OR b.unit IS NOT NULL) AND h.unit <> p_unit),
    cover AS (
        SELECT s.unit, range_agg(s.days) * datemultirange((SELECT days FROM period)) AS days
          FROM spans s GROUP BY s.unit)
    SELECT unit, true, NULL::datemultirange FROM whole
    UNION ALL
    SELECT unit, days @> (SELECT days FROM period), days FROM cover WHERE NOT isempty(days)
$$;
REVOKE ALL ON FUNCTION thidua_report_members(text, integer, integer, text[], timestamptz)
    FROM PUBLIC;

-- 0059's, with the members as the tree was known at p_as_of.
CREATE OR REPLACE FUNCTION thidua_report_sums(p_unit text, p_first integer, p_last integer,
                                   p_as_of timestamptz, p_written pg_snapshot, p_many boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lo date := make_date(p_first, 1, 1);
    hi date := make_date(p_last + 1, 1, 1);
    found jsonb;
BEGIN
    IF p_written IS NOT NULL THEN
        WITH since AS MATERIALIZED (
            SELECT w.unit_id, w.day, w.metric, w.dim, w.delta FROM public.report_changes w
             WHERE w.written >= pg_snapshot_xmin(p_written)
               AND NOT pg_visible_in_snapshot(w.written, p_written)
               AND w.day >= lo AND w.day < hi)
        SELECT coalesce(jsonb_agg(jsonb_build_array(y, metric, dim, v)), '[]') INTO found FROM (
            SELECT extract(year FROM c.day)::integer AS y, c.metric, c.dim, sum(c.delta) AS v
              FROM since c
              JOIN public.thidua_report_members(
                       p_unit, p_first, p_last,
                       coalesce((SELECT array_agg(DISTINCT unit_id) FROM since), '{}')) m
                ON m.unit = c.unit_id
             WHERE m.whole OR m.days @> c.day
             GROUP BY 1, 2, 3) s;
    ELSIF p_many THEN
        SELECT coalesce(jsonb_agg(jsonb_build_array(y, metric, dim, v)), '[]') INTO found FROM (
            SELECT extract(year FROM c.day)::integer AS y, c.metric, c.dim, sum(c.delta) AS v
              FROM public.report_changes c
              JOIN (SELECT * FROM public.thidua_report_members(p_unit, p_first, p_last, NULL,
                                                               p_as_of)
                    OFFSET 0) m ON m.unit = c.unit_id
             WHERE c.day >= lo AND c.day < hi AND (m.whole OR m.days @> c.day)
               AND (p_as_of IS NULL OR c.known_at <= p_as_of)
             GROUP BY 1, 2, 3 HAVING sum(c.delta) <> 0) s;
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_array(y, metric, dim, v)), '[]') INTO found FROM (
            SELECT extract(year FROM c.day)::integer AS y, c.metric, c.dim, sum(c.delta) AS v
              FROM public.thidua_report_members(p_unit, p_first, p_last, NULL, p_as_of) m
              JOIN public.report_changes c ON c.unit_id = m.unit AND c.day >= lo AND c.day < hi
             WHERE (m.whole OR m.days @> c.day)
               AND (p_as_of IS NULL OR c.known_at <= p_as_of)
             GROUP BY 1, 2, 3 HAVING sum(c.delta) <> 0) s;
    END IF;
    RETURN found;
END $$;
REVOKE ALL ON FUNCTION thidua_report_sums(text, integer, integer, timestamptz, pg_snapshot,
                                          boolean) FROM PUBLIC;

-- p_unit and each unit below it on the last day of p_last that has passed (0058's), over the
-- tree as the log held it at p_as_of: a unit merged by then is no longer one of the units
-- counted (a dissolved unit stands below no unit from its end).
CREATE OR REPLACE FUNCTION thidua_report_units(p_unit text, p_first integer, p_last integer,
                                               p_metrics text[], p_as_of timestamptz)
RETURNS TABLE (unit text, level text, metric text, value numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH asked AS (
        SELECT least(make_date(p_last, 12, 31), public.thidua_today()) AS day),
    below AS (
        SELECT DISTINCT c.descendant AS unit
          FROM public.thidua_tree_closure(p_as_of) c, asked a
         WHERE c.ancestor = p_unit AND c.valid_from <= a.day
           AND (c.valid_to IS NULL OR c.valid_to > a.day)
           AND public.thidua_report_allowed(p_unit, p_first, p_last, NULL)),
    own AS (
        SELECT c.unit_id, c.metric, sum(c.delta) AS value
          FROM below b JOIN public.report_changes c ON c.unit_id = b.unit
         WHERE c.day >= make_date(p_first, 1, 1) AND c.day < make_date(p_last + 1, 1, 1)
           AND c.metric = ANY (p_metrics) AND (p_as_of IS NULL OR c.known_at <= p_as_of)
         GROUP BY c.unit_id, c.metric HAVING sum(c.delta) <> 0)
    SELECT b.unit, u.level, o.metric, o.value
      FROM below b JOIN public.units u ON u.tenant_id = b.unit
      LEFT JOIN own o ON o.unit_id = b.unit
     WHERE NOT EXISTS (SELECT 1 FROM public.thidua_tree_parents(p_as_of) m
                        WHERE m.tenant_id = b.unit AND m.kind = 'merged'
                          AND m.valid_from <= (SELECT day FROM asked))
$$;
