-- A period's figures from the kept roll-ups that together enclose its years
-- (thidua_report_figures, 0062's): the union's 2024–2028, when its 2020–2025 and 2025–2030 are
-- kept (0064 keeps the terms of this year and the last), is 2024 from the one and 2025–2028
-- from the other, each rolled forward as it would be, rather than a read of all 130,755 units'
-- rows of five years (8.3 s at 5 million events). 0062 took a period from one kept roll-up
-- enclosing it all, and read every other period in full. It holds for the same reason: every
-- figure is counted by its day, the tree as it stood that day, whatever the period around it,
-- so a period's years are the years' own figures, whichever roll-up they are taken from.
--
-- The roll-ups a period is taken from are rolled forward in one statement, so the figures of
-- one call are still of one moment (a change moving an item from one year to the next is seen
-- in both roll-ups or in neither), and each is kept anew with that statement's snapshot, as a
-- single roll-up was. A period one of whose years no kept roll-up encloses is read in full and
-- kept as its own, as before.
--
-- And a large subtree's figures as the log held them at a past moment (an auditor's asOf) from
-- the same kept roll-ups: today's figures less what the log came to hold since, rather than every
-- unit's rows read again (2.1–2.6 s for the union's year at 5 million events). What it came to
-- hold since is the changes known after the moment (report_changes.known_at, indexed here), and
-- the tree's rows written or let go since (unit_closure, unit_parents and their _known tables,
-- 0061): a unit whose rows changed since, and every unit merged into it, has all its changes as
-- counted today taken back and those known at the moment counted over the tree as known then
-- (thidua_report_members with p_known). Every other unit counts the same days under the subtree
-- in both trees (a unit neither under the subtree in any row nor merged is left out). More than
-- 100,000 changes since, or more than 2,000 units to read again, and it is read in full, as
-- before. The property test checks it against a walk over the log at each moment. A read as of a
-- moment keeps nothing (an auditor's read writes no row and holds no roll-up's lock); the next
-- read of today's figures rolls the kept ones forward.
SET LOCAL search_path = public;

CREATE INDEX report_changes_by_known_at ON report_changes (known_at);
CREATE INDEX unit_closure_by_known_from ON unit_closure (known_from);
CREATE INDEX unit_parents_by_known_from ON unit_parents (known_from);
CREATE INDEX unit_closure_known_by_known_to ON unit_closure_known (known_to);
CREATE INDEX unit_parents_known_by_known_to ON unit_parents_known (known_to);

-- What p_unit's figures of p_first..p_last counted now (in the caller's snapshot) and did not as
-- the log held them at p_as_of, as the figures to add to today's to have the moment's
-- ([[year, metric, dim, value], ...]); NULL when more than p_most changes are known since, or
-- more than p_units units' rows must be read again (a full read then costs less).
CREATE FUNCTION thidua_report_undone(p_unit text, p_first integer, p_last integer,
                                     p_as_of timestamptz, p_most integer, p_units integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lo date := make_date(p_first, 1, 1);
    hi date := make_date(p_last + 1, 1, 1);
    since bigint;
    redo text[];
    found jsonb;
BEGIN
    SELECT count(*) INTO since FROM (
        SELECT 1 FROM public.report_changes w WHERE w.known_at > p_as_of LIMIT p_most + 1) x;
    IF since > p_most THEN
        RETURN NULL;
    END IF;
    -- The units whose days under p_unit may differ between the two trees: those whose rows
    -- were written or let go since, and that stood under p_unit in some row or were merged
    -- (their history counts under their survivors); and every unit merged into one of them.
    WITH RECURSIVE
    changed (unit) AS (
        SELECT c.descendant FROM public.unit_closure c WHERE c.known_from > p_as_of
        UNION
        SELECT h.descendant FROM public.unit_closure_known h WHERE h.known_to > p_as_of
        UNION
        SELECT p.tenant_id FROM public.unit_parents p WHERE p.known_from > p_as_of
        UNION
        SELECT h.tenant_id FROM public.unit_parents_known h WHERE h.known_to > p_as_of),
    concerned (unit) AS (
        SELECT c.unit FROM changed c
         WHERE c.unit <> p_unit AND (
               EXISTS (SELECT 1 FROM public.unit_closure u
                        WHERE u.descendant = c.unit AND u.ancestor = p_unit)
            OR EXISTS (SELECT 1 FROM public.unit_closure_known u
                        WHERE u.descendant = c.unit AND u.ancestor = p_unit)
            OR EXISTS (SELECT 1 FROM public.unit_parents m
                        WHERE m.tenant_id = c.unit AND m.kind = 'merged')
            OR EXISTS (SELECT 1 FROM public.unit_parents_known m
                        WHERE m.tenant_id = c.unit AND m.kind = 'merged'))),
    redone (unit) AS (
        SELECT unit FROM concerned
        UNION
        SELECT m.tenant_id FROM redone r
          JOIN (SELECT * FROM public.thidua_tree_parents(NULL)
                UNION ALL
                SELECT * FROM public.thidua_tree_parents(p_as_of)) m
            ON m.kind = 'merged' AND m.parent_id = r.unit)
    SELECT coalesce(array_agg(unit), '{}') INTO redo
      FROM (SELECT unit FROM redone LIMIT p_units + 1) x;
    IF cardinality(redo) > p_units THEN
        RETURN NULL;
    END IF;
    WITH after AS MATERIALIZED (
        SELECT w.unit_id, w.day, w.metric, w.dim, w.delta FROM public.report_changes w
         WHERE w.known_at > p_as_of AND w.day >= lo AND w.day < hi
           AND w.unit_id <> ALL (redo))
    SELECT coalesce(jsonb_agg(jsonb_build_array(y, metric, dim, v)), '[]') INTO found FROM (
        SELECT y, metric, dim, sum(v) AS v FROM (
            -- the changes known since, of the units counted alike in both trees
            SELECT extract(year FROM c.day)::integer AS y, c.metric, c.dim, -c.delta AS v
              FROM after c
              JOIN public.thidua_report_members(
                       p_unit, p_first, p_last,
                       coalesce((SELECT array_agg(DISTINCT unit_id) FROM after), '{}')) m
                ON m.unit = c.unit_id
             WHERE m.whole OR m.days @> c.day
            UNION ALL
            -- the others: all theirs as counted today taken back...
            SELECT extract(year FROM c.day)::integer, c.metric, c.dim, -c.delta
              FROM public.thidua_report_members(p_unit, p_first, p_last, redo) m
              JOIN public.report_changes c ON c.unit_id = m.unit AND c.day >= lo AND c.day < hi
             WHERE m.unit = ANY (redo) AND (m.whole OR m.days @> c.day)
            UNION ALL
            -- ...and what the log held of theirs at the moment, over the tree as known then
            SELECT extract(year FROM c.day)::integer, c.metric, c.dim, c.delta
              FROM public.thidua_report_members(p_unit, p_first, p_last, redo, p_as_of) m
              JOIN public.report_changes c ON c.unit_id = m.unit AND c.day >= lo AND c.day < hi
             WHERE m.unit = ANY (redo) AND (m.whole OR m.days @> c.day)
               AND c.known_at <= p_as_of) x
         GROUP BY 1, 2, 3 HAVING sum(v) <> 0) s;
    RETURN found;
END $$;
REVOKE ALL ON FUNCTION thidua_report_undone(text, integer, integer, timestamptz, integer,
                                            integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION thidua_report_figures(p_unit text, p_first integer, p_last integer,
                                      p_as_of timestamptz)
RETURNS TABLE (year integer, metric text, dim text, value numeric)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rollup_units integer;
    many_units integer;
    kept_periods integer;
    below bigint;
    many boolean;
    k_first integer;
    k_last integer;
    -- the kept roll-ups the period is taken from (c_*), and each year's (pick_*: the year
    -- p_first + i - 1 is the i-th)
    c_first integer[];
    c_last integer[];
    pick_first integer[];
    pick_last integer[];
    kept_figures jsonb[];
    kept_seen pg_snapshot[];
    found_n integer := 0;
    pending bigint;  -- changes written since a kept snapshot (the most of any roll-up's)
    tree_changed boolean;
    freshes jsonb[];
    undone jsonb;  -- asOf: what today's figures count that the moment's did not
    seen pg_snapshot;
    own xid8;
    -- an auditor's read writes nothing (the next read of today's figures rolls them on); nor
    -- does one that found the kept roll-ups current
    may_keep boolean := p_as_of IS NULL;
    kept_any boolean := false;
BEGIN
    IF NOT public.thidua_report_allowed(p_unit, p_first, p_last, p_as_of) THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT NULL::integer, NULL::text, NULL::text, NULL::numeric;
    IF p_last < p_first THEN
        RETURN;
    END IF;
    -- a report as sent, to its unit or the unit it was sent to: the figures it carried
    IF p_as_of IS NOT NULL THEN
        SELECT ARRAY[r.figures] INTO freshes FROM public.reports r
         WHERE r.unit_id = p_unit AND r.first_year = p_first AND r.last_year = p_last
           AND r.submitted_at = p_as_of AND r.figures IS NOT NULL
           AND current_setting('thidua.tenant', true) IN (r.unit_id, r.to_unit)
         LIMIT 1;
        IF freshes IS NOT NULL THEN
            RETURN QUERY SELECT * FROM public.thidua_report_rows(freshes[1]);
            RETURN;
        END IF;
    END IF;
    SELECT max(s.value) FILTER (WHERE s.name = 'rollup_units'),
           max(s.value) FILTER (WHERE s.name = 'many_units'),
           max(s.value) FILTER (WHERE s.name = 'kept_periods')
      INTO rollup_units, many_units, kept_periods FROM public.report_settings s;
    SELECT count(*) INTO below FROM (
        SELECT 1 FROM public.unit_closure c
         WHERE c.ancestor = p_unit AND c.valid_from < make_date(p_last + 1, 1, 1)
           AND (c.valid_to IS NULL OR c.valid_to > make_date(p_first, 1, 1))
         LIMIT greatest(rollup_units, many_units) + 1) x;
    many := below > many_units;
    IF below < rollup_units THEN
        RETURN QUERY SELECT * FROM public.thidua_report_rows(
            public.thidua_report_sums(p_unit, p_first, p_last, p_as_of, NULL, many));
        RETURN;
    END IF;
    -- the period's own roll-up, else the shortest kept that encloses it; else the shortest
    -- kept that encloses each of its years
    SELECT r.first_year, r.last_year INTO k_first, k_last FROM public.report_rollups r
     WHERE r.unit_id = p_unit AND r.first_year <= p_first AND r.last_year >= p_last
     ORDER BY r.last_year - r.first_year, r.first_year LIMIT 1;
    IF k_first IS NOT NULL THEN
        pick_first := array_fill(k_first, ARRAY[p_last - p_first + 1]);
        pick_last := array_fill(k_last, ARRAY[p_last - p_first + 1]);
    ELSE
        SELECT array_agg(k.first_year ORDER BY y), array_agg(k.last_year ORDER BY y)
          INTO pick_first, pick_last
          FROM generate_series(p_first, p_last) y
          LEFT JOIN LATERAL (
              SELECT r.first_year, r.last_year FROM public.report_rollups r
               WHERE r.unit_id = p_unit AND r.first_year <= y AND r.last_year >= y
               ORDER BY r.last_year - r.first_year, r.first_year LIMIT 1) k ON true;
    END IF;
    IF array_position(pick_first, NULL) IS NULL THEN  -- every year enclosed
        SELECT array_agg(p.f ORDER BY p.f, p.l), array_agg(p.l ORDER BY p.f, p.l)
          INTO c_first, c_last
          FROM (SELECT DISTINCT f, l FROM unnest(pick_first, pick_last) AS u (f, l)) p;
        SELECT count(*), array_agg(r.figures ORDER BY c.n), array_agg(r.seen ORDER BY c.n),
               max((SELECT count(*) FROM (
                        SELECT 1 FROM public.report_changes w
                         WHERE w.written >= pg_snapshot_xmin(r.seen)
                           AND NOT pg_visible_in_snapshot(w.written, r.seen) LIMIT 100001) x)),
               bool_or(public.thidua_report_tree_changed_since(r.seen))
          INTO found_n, kept_figures, kept_seen, pending, tree_changed
          FROM unnest(c_first, c_last) WITH ORDINALITY AS c (f, l, n)
          JOIN public.report_rollups r
            ON r.unit_id = p_unit AND r.first_year = c.f AND r.last_year = c.l;
    END IF;
    IF found_n > 0 AND found_n = cardinality(c_first) AND NOT tree_changed THEN
        IF pending = 0 AND p_as_of IS NULL THEN  -- current: answered as kept, kept as is
            freshes := kept_figures;
            may_keep := false;
        ELSIF pending <= 100000 THEN
            -- One statement, one snapshot: the changes added to each are exactly those its
            -- kept snapshot did not see and this one does, and the tree this one sees is the
            -- kept ones' (a change committed since the statement above: NULL, read anew).
            SELECT t.snapshot, CASE WHEN t.changed THEN NULL
                   ELSE (SELECT array_agg((
                       SELECT coalesce(jsonb_agg(jsonb_build_array(y, m, d, v)), '[]') FROM (
                           SELECT (f->>0)::integer AS y, f->>1 AS m, f->>2 AS d,
                                  sum((f->>3)::numeric) AS v
                             FROM (SELECT jsonb_array_elements(c.fig) AS f
                                   UNION ALL
                                   SELECT jsonb_array_elements(public.thidua_report_sums(
                                       p_unit, c.cf, c.cl, NULL, c.sn, false))) x
                            GROUP BY 1, 2, 3 HAVING sum((f->>3)::numeric) <> 0) s) ORDER BY c.n)
                     FROM unnest(c_first, c_last, kept_figures, kept_seen) WITH ORDINALITY
                          AS c (cf, cl, fig, sn, n)) END,
                   CASE WHEN p_as_of IS NOT NULL AND NOT t.changed
                   THEN public.thidua_report_undone(p_unit, p_first, p_last, p_as_of, 100000,
                                                    2000) END
              INTO seen, freshes, undone
              FROM (SELECT pg_current_snapshot() AS snapshot,
                           EXISTS (SELECT 1 FROM unnest(kept_seen) s
                                    WHERE public.thidua_report_tree_changed_since(s)) AS changed
                   ) t;
        END IF;
    END IF;
    IF p_as_of IS NOT NULL AND (freshes IS NULL OR undone IS NULL) THEN
        -- read in full as the log held it then (nothing is kept for a moment)
        RETURN QUERY SELECT * FROM public.thidua_report_rows(
            public.thidua_report_sums(p_unit, p_first, p_last, p_as_of, NULL, many));
        RETURN;
    END IF;
    IF freshes IS NULL THEN
        -- read in full: the period asked (not one enclosing it, which would read more rows)
        c_first := ARRAY[p_first];
        c_last := ARRAY[p_last];
        pick_first := array_fill(p_first, ARRAY[p_last - p_first + 1]);
        pick_last := array_fill(p_last, ARRAY[p_last - p_first + 1]);
        SELECT pg_current_snapshot(), ARRAY[public.thidua_report_sums(p_unit, p_first, p_last,
                                                                      NULL, NULL, many)]
          INTO seen, freshes;
    END IF;
    -- A transaction that has written before (its id assigned) sees its own writes, which
    -- pg_current_snapshot() does not list as in progress: what it wrote to the figures or the
    -- tree is in `freshes` but would not be seen as written since, nor what it writes after
    -- this. Such a snapshot is kept with the transaction's own id in progress, so that what it
    -- writes next is added by the next read; one that has written figures or the tree keeps
    -- nothing.
    own := pg_current_xact_id_if_assigned();
    IF NOT may_keep THEN
        NULL;
    ELSIF own IS NOT NULL AND (
           EXISTS (SELECT 1 FROM public.report_changes w WHERE w.written = own)
           OR EXISTS (SELECT 1 FROM public.report_tree_changes t WHERE t.written = own)) THEN
        may_keep := false;
    ELSIF own < pg_snapshot_xmax(seen) THEN  -- (one at or past xmax is in progress to it)
        seen := (least(pg_snapshot_xmin(seen), own) || ':' || pg_snapshot_xmax(seen) || ':'
                 || array_to_string(ARRAY(SELECT x FROM pg_snapshot_xip(seen) AS x
                                          UNION SELECT own ORDER BY 1), ','))::pg_snapshot;
    END IF;
    IF may_keep AND current_setting('transaction_read_only') = 'off'
       AND current_setting('transaction_isolation') = 'read committed' THEN
        FOR i IN 1 .. cardinality(c_first) LOOP
            CONTINUE WHEN NOT pg_try_advisory_xact_lock(
                public.thidua_report_rollup_key(p_unit, c_first[i], c_last[i]));
            INSERT INTO public.report_rollups (unit_id, first_year, last_year, seen, figures)
            VALUES (p_unit, c_first[i], c_last[i], seen, freshes[i])
            ON CONFLICT (unit_id, first_year, last_year) DO UPDATE
               SET seen = EXCLUDED.seen, kept_at = EXCLUDED.kept_at, figures = EXCLUDED.figures;
            kept_any := true;
        END LOOP;
    END IF;
    IF kept_any THEN
        -- The unit's periods kept longest ago let go, each under its own lock (one another
        -- reader is keeping: later), so that no keeper ever waits on a row another deletes.
        WITH old AS MATERIALIZED (
            SELECT o.ctid AS at, o.first_year, o.last_year FROM public.report_rollups o
             WHERE o.unit_id = p_unit ORDER BY o.kept_at DESC OFFSET kept_periods),
        mine AS MATERIALIZED (
            SELECT at FROM old WHERE pg_try_advisory_xact_lock(
                public.thidua_report_rollup_key(p_unit, old.first_year, old.last_year)))
        DELETE FROM public.report_rollups r WHERE r.ctid IN (SELECT at FROM mine);
        PERFORM public.thidua_report_tree_prune();
    END IF;
    RETURN QUERY SELECT f.year, f.metric, f.dim, sum(f.value) FROM (
        SELECT f.* FROM unnest(c_first, c_last, freshes) AS c (cf, cl, fig)
         CROSS JOIN LATERAL public.thidua_report_rows(c.fig) f
         WHERE f.year BETWEEN p_first AND p_last
           AND pick_first[f.year - p_first + 1] = c.cf
           AND pick_last[f.year - p_first + 1] = c.cl
        UNION ALL
        SELECT * FROM public.thidua_report_rows(undone)) f
     GROUP BY 1, 2, 3 HAVING sum(f.value) <> 0;
END $$;
