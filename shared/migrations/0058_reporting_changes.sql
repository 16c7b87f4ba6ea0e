-- Reporting's figures as changes, and the roll-ups of large subtrees kept between reads.
--
-- 0057 kept each figure in versions (a row per append that changed it, the one before closed
-- there): every change read the figure's current row, closed it and wrote the next, at two
-- grains; a rebuild ran at about 4,500 events/s. Now each append's change to a unit's figure on
-- a day is one row, never updated (report_changes): a figure as the log held it at a moment is
-- the sum of its changes known by then, today's the sum of them all.
--
-- A roll-up over thousands of units (a province, the whole union: 130,755) read every unit's
-- rows at each request, seconds for the union. report_rollups keeps the last roll-up of each
-- (unit, years) asked with the snapshot it was read in; the next read adds only the changes
-- written by transactions that snapshot did not see (report_changes.written). A change to the
-- tree (unit_parents) since that snapshot, or a registry rebuilt since, makes it read anew.
SET LOCAL search_path = public;

DROP FUNCTION thidua_report_figures(text, integer, integer, timestamptz);
DROP FUNCTION thidua_report_units(text, integer, integer, text[], timestamptz);

-- A rebuild of reporting under way builds 0057's tables: given up (`thidua reports rebuild`
-- begins it again).
DO $$
DECLARE
    b record;
BEGIN
    FOR b IN SELECT version, schema_name FROM projection_versions
              WHERE name = 'reporting' AND state = 'building' LOOP
        EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', b.schema_name);
        DELETE FROM projection_checkpoints WHERE name = 'reporting' AND version = b.version;
        DELETE FROM projection_versions WHERE name = 'reporting' AND version = b.version;
    END LOOP;
END $$;

CREATE TABLE report_changes (
    unit_id  text        NOT NULL,
    day      date        NOT NULL,
    metric   text        NOT NULL,
    dim      text        NOT NULL,
    known_at timestamptz NOT NULL,  -- the recorded_at of the append (never before an earlier
                                    -- change of the same item: services/reporting/projections)
    delta    bigint      NOT NULL,
    written  xid8        NOT NULL DEFAULT pg_current_xact_id()
);
-- Each version of 0057 becomes the change it made, known from the same moment.
INSERT INTO report_changes (unit_id, day, metric, dim, known_at, delta)
SELECT unit_id, day, metric, dim, known_from, delta FROM (
    SELECT unit_id, day, metric, dim, known_from,
           value - coalesce(lag(value) OVER (PARTITION BY unit_id, day, metric, dim
                                             ORDER BY known_from), 0) AS delta
      FROM report_day) v
 WHERE delta <> 0;
DROP TABLE report_year;
DROP TABLE report_day;

CREATE INDEX report_changes_unit ON report_changes (unit_id, day)
    INCLUDE (known_at, metric, dim, delta);
CREATE INDEX report_changes_written ON report_changes (written);

-- When an item last changed: its next change is never known before it.
ALTER TABLE report_items ADD COLUMN known_at timestamptz;

CREATE TABLE report_rollups (
    unit_id    text        NOT NULL,
    first_year integer     NOT NULL,
    last_year  integer     NOT NULL,
    seen       pg_snapshot NOT NULL,  -- what the figures were read in
    tree       oid         NOT NULL,  -- unit_parents then (a registry rebuild swaps it)
    figures    jsonb       NOT NULL,  -- [[year, metric, dim, value], ...]
    PRIMARY KEY (unit_id, first_year, last_year)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['report_changes', 'report_rollups'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON %1$I FOR ALL TO thidua_projector '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;

-- Every statement that changes the tree leaves a row: a roll-up read before it is read anew.
CREATE TABLE report_tree_changes (written xid8 NOT NULL DEFAULT pg_current_xact_id());
CREATE INDEX report_tree_changes_written ON report_tree_changes (written);
ALTER TABLE report_tree_changes ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION thidua_report_tree_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.report_tree_changes DEFAULT VALUES;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION thidua_report_tree_changed() FROM PUBLIC;

CREATE TRIGGER unit_parents_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON unit_parents
    FOR EACH STATEMENT EXECUTE FUNCTION thidua_report_tree_changed();

-- Whether the caller may read p_unit's figures of p_first..p_last as at p_as_of: its own unit,
-- a unit below it today to a reader of its subtree, or the unit a report was sent to, as sent.
CREATE FUNCTION thidua_report_allowed(p_unit text, p_first integer, p_last integer,
                                      p_as_of timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_unit = current_setting('thidua.tenant', true)
        OR (coalesce(current_setting('thidua.reach', true) IN ('subtree', 'audit'), false)
            AND EXISTS (SELECT 1 FROM public.unit_closure c
                         WHERE c.ancestor = current_setting('thidua.tenant', true)
                           AND c.descendant = p_unit
                           AND c.valid_from <= public.thidua_today()
                           AND (c.valid_to IS NULL OR c.valid_to > public.thidua_today())))
        OR (p_as_of IS NOT NULL AND EXISTS (
            SELECT 1 FROM public.reports r
             WHERE r.unit_id = p_unit AND r.to_unit = current_setting('thidua.tenant', true)
               AND r.first_year = p_first AND r.last_year = p_last
               AND r.submitted_at = p_as_of))
$$;
REVOKE ALL ON FUNCTION thidua_report_allowed(text, integer, integer, timestamptz) FROM PUBLIC;

-- The units whose figures count in p_unit's of p_first..p_last, each with the days they count
-- (whole: the whole period): p_unit itself (its own figures, whatever their day); each unit
-- below it for the days it stood below (unit_closure's dated edges: a unit moved on 1 July
-- counts under its old parent before that day and under the new one from it); a merged unit's
-- own history before its merge also under its survivor (and the survivor's survivors), for the
-- days the survivor stood below p_unit. Each unit once, however many ways it stands below.
-- No reach check: the callers check it.
CREATE FUNCTION thidua_report_members(p_unit text, p_first integer, p_last integer)
RETURNS TABLE (unit text, whole boolean, days datemultirange)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE
    period AS (
        SELECT daterange(make_date(p_first, 1, 1), make_date(p_last + 1, 1, 1)) AS days),
    below AS MATERIALIZED (
        SELECT c.descendant AS unit, c.valid_from, c.valid_to FROM public.unit_closure c
         WHERE c.ancestor = p_unit AND c.descendant <> p_unit
           AND c.valid_from < make_date(p_last + 1, 1, 1)
           AND (c.valid_to IS NULL OR c.valid_to > make_date(p_first, 1, 1))),
    -- (merged unit, a survivor of it, the day its own history ends), survivors of survivors too
    heirs (unit, survivor, until) AS (
        SELECT m.tenant_id, m.parent_id, m.valid_from FROM public.unit_parents m
         WHERE m.kind = 'merged' AND m.valid_from > make_date(p_first, 1, 1)
           AND (m.parent_id = p_unit OR m.parent_id IN (SELECT unit FROM below))
        UNION
        SELECT m.tenant_id, h.survivor, m.valid_from FROM heirs h
          JOIN public.unit_parents m ON m.kind = 'merged' AND m.parent_id = h.unit
         WHERE m.valid_from > make_date(p_first, 1, 1)),
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
REVOKE ALL ON FUNCTION thidua_report_members(text, integer, integer) FROM PUBLIC;

-- The sums of p_unit's members' changes in p_first..p_last known at p_as_of (NULL: all), as
-- [[year, metric, dim, value], ...]; with p_written (a snapshot), only the changes written by
-- transactions it did not see. p_many: the members are many (a province of provinces, the
-- union): the period's rows are read once and matched in memory, not looked up unit by unit
-- (130,755 units were 1.1 s of index probes).
CREATE FUNCTION thidua_report_sums(p_unit text, p_first integer, p_last integer,
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
        SELECT coalesce(jsonb_agg(jsonb_build_array(y, metric, dim, v)), '[]') INTO found FROM (
            SELECT extract(year FROM c.day)::integer AS y, c.metric, c.dim, sum(c.delta) AS v
              FROM (SELECT * FROM public.report_changes w
                     WHERE w.written >= pg_snapshot_xmin(p_written)
                       AND NOT pg_visible_in_snapshot(w.written, p_written)
                       AND w.day >= lo AND w.day < hi
                    OFFSET 0) c
              JOIN public.thidua_report_members(p_unit, p_first, p_last) m ON m.unit = c.unit_id
             WHERE m.whole OR m.days @> c.day
             GROUP BY 1, 2, 3) s;
    ELSIF p_many THEN
        SELECT coalesce(jsonb_agg(jsonb_build_array(y, metric, dim, v)), '[]') INTO found FROM (
            SELECT extract(year FROM c.day)::integer AS y, c.metric, c.dim, sum(c.delta) AS v
              FROM public.report_changes c
              JOIN (SELECT * FROM public.thidua_report_members(p_unit, p_first, p_last)
                    OFFSET 0) m ON m.unit = c.unit_id
             WHERE c.day >= lo AND c.day < hi AND (m.whole OR m.days @> c.day)
               AND (p_as_of IS NULL OR c.known_at <= p_as_of)
             GROUP BY 1, 2, 3) s;
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_array(y, metric, dim, v)), '[]') INTO found FROM (
            SELECT extract(year FROM c.day)::integer AS y, c.metric, c.dim, sum(c.delta) AS v
              FROM public.thidua_report_members(p_unit, p_first, p_last) m
              JOIN public.report_changes c ON c.unit_id = m.unit AND c.day >= lo AND c.day < hi
             WHERE (m.whole OR m.days @> c.day)
               AND (p_as_of IS NULL OR c.known_at <= p_as_of)
             GROUP BY 1, 2, 3) s;
    END IF;
    RETURN found;
END $$;
REVOKE ALL ON FUNCTION thidua_report_sums(text, integer, integer, timestamptz, pg_snapshot,
                                          boolean) FROM PUBLIC;

-- The figures of p_unit and every unit below it (thidua_report_members), years p_first..p_last,
-- as the log held them at p_as_of (NULL: now). Answers only what thidua_report_allowed allows,
-- with a row of nulls first when it does (none: it may not), so a summary of zeros and one out
-- of reach differ without asking twice.
--
-- Today's figures of a subtree of at least thidua.report_rollup_units units below (default
-- 500) are kept in report_rollups with the snapshot they were read in: a read adds the changes
-- written since (more than 100,000: read anew) and keeps the sum with its own snapshot. Keeping
-- is skipped in a read-only transaction, and when another reader is keeping the same roll-up
-- (never waited for: two readers keeping two roll-ups in turn would wait on each other).
CREATE FUNCTION thidua_report_figures(p_unit text, p_first integer, p_last integer,
                                      p_as_of timestamptz)
RETURNS TABLE (year integer, metric text, dim text, value numeric)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    below bigint;
    kept public.report_rollups;
    tree oid := 'public.unit_parents'::regclass::oid;
    fresh jsonb;
    seen pg_snapshot;
    many boolean;
    pending bigint;  -- changes written since the kept snapshot (NULL: nothing kept to add to)
BEGIN
    IF NOT public.thidua_report_allowed(p_unit, p_first, p_last, p_as_of) THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT NULL::integer, NULL::text, NULL::text, NULL::numeric;
    SELECT count(*) INTO below FROM public.unit_closure c
     WHERE c.ancestor = p_unit AND c.valid_from < make_date(p_last + 1, 1, 1)
       AND (c.valid_to IS NULL OR c.valid_to > make_date(p_first, 1, 1));
    many := below > coalesce(nullif(current_setting('thidua.report_many_units', true), '')::integer,
                             20000);
    IF p_as_of IS NOT NULL OR below < coalesce(
            nullif(current_setting('thidua.report_rollup_units', true), '')::integer, 500) THEN
        RETURN QUERY SELECT (f->>0)::integer, f->>1, f->>2, (f->>3)::numeric
          FROM jsonb_array_elements(public.thidua_report_sums(p_unit, p_first, p_last, p_as_of,
                                                               NULL, many)) f;
        RETURN;
    END IF;
    SELECT * INTO kept FROM public.report_rollups r
     WHERE r.unit_id = p_unit AND r.first_year = p_first AND r.last_year = p_last;
    IF kept.seen IS NOT NULL AND kept.tree = tree
       AND NOT EXISTS (SELECT 1 FROM public.report_tree_changes t
                        WHERE t.written >= pg_snapshot_xmin(kept.seen)
                          AND NOT pg_visible_in_snapshot(t.written, kept.seen)) THEN
        SELECT count(*) INTO pending FROM (
            SELECT 1 FROM public.report_changes w
             WHERE w.written >= pg_snapshot_xmin(kept.seen)
               AND NOT pg_visible_in_snapshot(w.written, kept.seen) LIMIT 100001) x;
    END IF;
    IF pending = 0 THEN
        fresh := kept.figures;
    ELSIF pending <= 100000 THEN
        -- One statement, one snapshot: the changes added are exactly those the kept snapshot
        -- did not see and this one does.
        SELECT pg_current_snapshot(), (
                   SELECT coalesce(jsonb_agg(jsonb_build_array(y, m, d, v)), '[]') FROM (
                       SELECT (f->>0)::integer AS y, f->>1 AS m, f->>2 AS d,
                              sum((f->>3)::numeric) AS v
                         FROM (SELECT jsonb_array_elements(kept.figures) AS f
                               UNION ALL
                               SELECT jsonb_array_elements(public.thidua_report_sums(
                                   p_unit, p_first, p_last, NULL, kept.seen, false))) x
                        GROUP BY 1, 2, 3 HAVING sum((f->>3)::numeric) <> 0) s)
          INTO seen, fresh;
    ELSE
        SELECT pg_current_snapshot(), public.thidua_report_sums(p_unit, p_first, p_last, NULL,
                                                                NULL, many)
          INTO seen, fresh;
    END IF;
    IF seen IS NOT NULL AND current_setting('transaction_read_only') = 'off'
       AND pg_try_advisory_xact_lock(hashtextextended(
               'report_rollups:' || p_unit || ':' || p_first || ':' || p_last, 0)) THEN
        INSERT INTO public.report_rollups (unit_id, first_year, last_year, seen, tree, figures)
        VALUES (p_unit, p_first, p_last, seen, tree, fresh)
        ON CONFLICT (unit_id, first_year, last_year) DO UPDATE
           SET seen = EXCLUDED.seen, tree = EXCLUDED.tree, figures = EXCLUDED.figures;
    END IF;
    RETURN QUERY SELECT (f->>0)::integer, f->>1, f->>2, (f->>3)::numeric
      FROM jsonb_array_elements(fresh) f;
END $$;
REVOKE ALL ON FUNCTION thidua_report_figures(text, integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_figures(text, integer, integer, timestamptz)
    TO thidua_app;

-- p_unit and each unit below it on the last day of p_last that has passed (today, in the year
-- under way), with its level and its own figures of p_first..p_last for p_metrics (summed over
-- their dims and years), as the log held them at p_as_of (NULL: now): what a share of units
-- counts (seed 000) and what ranks the typical collectives of a period. A unit with none of
-- them has one row with a NULL metric. The same reach as thidua_report_figures.
CREATE FUNCTION thidua_report_units(p_unit text, p_first integer, p_last integer,
                                    p_metrics text[], p_as_of timestamptz)
RETURNS TABLE (unit text, level text, metric text, value numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH asked AS (
        SELECT least(make_date(p_last, 12, 31), public.thidua_today()) AS day),
    below AS (
        SELECT DISTINCT c.descendant AS unit FROM public.unit_closure c, asked a
         WHERE c.ancestor = p_unit AND c.valid_from <= a.day
           AND (c.valid_to IS NULL OR c.valid_to > a.day)
           AND public.thidua_report_allowed(p_unit, p_first, p_last, NULL)),
    own AS (
        SELECT c.unit_id, c.metric, sum(c.delta) AS value
          FROM below b JOIN public.report_changes c ON c.unit_id = b.unit
         WHERE c.day >= make_date(p_first, 1, 1) AND c.day < make_date(p_last + 1, 1, 1)
           AND c.metric = ANY (p_metrics) AND (p_as_of IS NULL OR c.known_at <= p_as_of)
         GROUP BY c.unit_id, c.metric HAVING sum(c.delta) <> 0)
    -- a merged or dissolved unit is no longer one of the units counted
    SELECT b.unit, u.level, o.metric, o.value
      FROM below b JOIN public.units u ON u.tenant_id = b.unit
           AND (u.ended_on IS NULL OR u.ended_on > (SELECT day FROM asked))
      LEFT JOIN own o ON o.unit_id = b.unit
$$;
REVOKE ALL ON FUNCTION thidua_report_units(text, integer, integer, text[], timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_units(text, integer, integer, text[], timestamptz)
    TO thidua_app;

-- The typical individuals of a period (seed 002's 5-year report): the authors of the initiatives
-- recognised in those years by p_unit's members (thidua_report_members: the units below as the
-- tree stood on each day, and a merged unit's history under its survivor, as every figure
-- counts), each with how many, their benefit and where applied, the largest benefit first.
-- Only their ids: the names are read by the caller under its own reach. The same reach as
-- thidua_report_figures.
CREATE OR REPLACE FUNCTION thidua_report_exemplars(p_unit text, p_first integer, p_last integer,
                                                   p_limit integer)
RETURNS TABLE (person_id text, initiatives bigint, benefit numeric, applied_at text[])
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH allowed AS (
        SELECT 1 WHERE public.thidua_report_allowed(p_unit, p_first, p_last, NULL)),
    recognised AS (
        SELECT i.facts
          FROM public.thidua_report_members(p_unit, p_first, p_last) m
          JOIN public.report_items i ON i.unit_id = m.unit
         WHERE EXISTS (SELECT 1 FROM allowed)
           AND i.item LIKE 'initiative:%' AND i.figures <> '[]' AND i.facts ? 'authors'
           AND i.day >= make_date(p_first, 1, 1) AND i.day < make_date(p_last + 1, 1, 1)
           AND (m.whole OR m.days @> i.day)),
    top AS (
        SELECT a.person, count(*) AS n, sum((r.facts->>'benefit')::bigint) AS benefit,
               array(SELECT DISTINCT p FROM unnest(array_agg(x.applied)) AS p
                      WHERE p IS NOT NULL ORDER BY p) AS applied
          FROM recognised r
         CROSS JOIN LATERAL jsonb_array_elements_text(r.facts->'authors') AS a (person)
          LEFT JOIN LATERAL (SELECT string_agg(v, '; ') AS applied
                               FROM jsonb_array_elements_text(r.facts->'applied_at') v) x ON true
         GROUP BY a.person
         ORDER BY sum((r.facts->>'benefit')::bigint) DESC, a.person
         LIMIT p_limit)
    SELECT person, n, benefit, applied FROM top
    -- a row of nulls when the caller may read p_unit at all (none: it may not)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM allowed)
$$;
