-- A period's figures from a kept roll-up of a period enclosing it (thidua_report_figures, 0059):
-- a year of 2020–2025, when the union's 2020–2025 is kept (services/reporting/rollups.py keeps
-- the periods of the reports asked for), is that roll-up's year, rolled forward as it would be,
-- rather than a read of all 130,755 units' rows of the year (5 s at 5 million events). Every
-- figure is counted by its day, the tree as it stood that day, whatever the period around it,
-- so a period's years are the years' own figures (0061 made that hold for a merged unit's
-- history running through a unit merged before the period; the property test checks each year
-- of a period against that year's own walk over the log). A roll-up read in full is the asked
-- period's (an enclosing one would read more rows), and kept as such.
SET LOCAL search_path = public;

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
    kept public.report_rollups;
    pending bigint;  -- changes written since the kept snapshot
    tree_changed boolean;
    fresh jsonb;
    seen pg_snapshot;
    k_first integer := p_first;  -- the period kept: the one asked, or one enclosing it
    k_last integer := p_last;
    own xid8;
    may_keep boolean := true;
BEGIN
    IF NOT public.thidua_report_allowed(p_unit, p_first, p_last, p_as_of) THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT NULL::integer, NULL::text, NULL::text, NULL::numeric;
    -- a report as sent, to its unit or the unit it was sent to: the figures it carried
    IF p_as_of IS NOT NULL THEN
        SELECT r.figures INTO fresh FROM public.reports r
         WHERE r.unit_id = p_unit AND r.first_year = p_first AND r.last_year = p_last
           AND r.submitted_at = p_as_of AND r.figures IS NOT NULL
           AND current_setting('thidua.tenant', true) IN (r.unit_id, r.to_unit)
         LIMIT 1;
        IF fresh IS NOT NULL THEN
            RETURN QUERY SELECT * FROM public.thidua_report_rows(fresh);
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
    IF p_as_of IS NOT NULL OR below < rollup_units THEN
        RETURN QUERY SELECT * FROM public.thidua_report_rows(
            public.thidua_report_sums(p_unit, p_first, p_last, p_as_of, NULL, many));
        RETURN;
    END IF;
    -- the period's own roll-up, else the shortest kept that encloses it: its years are the
    -- asked period's (every figure is counted by its day, whatever the period around it)
    SELECT * INTO kept FROM public.report_rollups r
     WHERE r.unit_id = p_unit AND r.first_year <= p_first AND r.last_year >= p_last
     ORDER BY r.last_year - r.first_year, r.first_year LIMIT 1;
    IF kept.seen IS NOT NULL THEN
        k_first := kept.first_year;
        k_last := kept.last_year;
        SELECT (SELECT count(*) FROM (
                    SELECT 1 FROM public.report_changes w
                     WHERE w.written >= pg_snapshot_xmin(kept.seen)
                       AND NOT pg_visible_in_snapshot(w.written, kept.seen) LIMIT 100001) x),
               public.thidua_report_tree_changed_since(kept.seen)
          INTO pending, tree_changed;
        IF pending = 0 AND NOT tree_changed THEN
            RETURN QUERY SELECT * FROM public.thidua_report_rows(kept.figures) f
                          WHERE f.year BETWEEN p_first AND p_last;
            RETURN;
        END IF;
        IF pending <= 100000 AND NOT tree_changed THEN
            -- One statement, one snapshot: the changes added are exactly those the kept
            -- snapshot did not see and this one does, and the tree this one sees is the kept
            -- one's (a change committed since the statement above: NULL, read anew).
            SELECT pg_current_snapshot(), CASE
                   WHEN public.thidua_report_tree_changed_since(kept.seen) THEN NULL
                   ELSE (SELECT coalesce(jsonb_agg(jsonb_build_array(y, m, d, v)), '[]') FROM (
                       SELECT (f->>0)::integer AS y, f->>1 AS m, f->>2 AS d,
                              sum((f->>3)::numeric) AS v
                         FROM (SELECT jsonb_array_elements(kept.figures) AS f
                               UNION ALL
                               SELECT jsonb_array_elements(public.thidua_report_sums(
                                   p_unit, k_first, k_last, NULL, kept.seen, false))) x
                        GROUP BY 1, 2, 3 HAVING sum((f->>3)::numeric) <> 0) s) END
              INTO seen, fresh;
        END IF;
    END IF;
    IF fresh IS NULL THEN
        -- read in full: the period asked (not one enclosing it, which would read more rows)
        k_first := p_first;
        k_last := p_last;
        SELECT pg_current_snapshot(), public.thidua_report_sums(p_unit, p_first, p_last, NULL,
                                                                NULL, many)
          INTO seen, fresh;
    END IF;
    -- A transaction that has written before (its id assigned) sees its own writes, which
    -- pg_current_snapshot() does not list as in progress: what it wrote to the figures or the
    -- tree is in `fresh` but would not be seen as written since, nor what it writes after this.
    -- Such a snapshot is kept with the transaction's own id in progress, so that what it writes
    -- next is added by the next read; one that has written figures or the tree keeps nothing.
    own := pg_current_xact_id_if_assigned();
    IF own IS NOT NULL AND (
           EXISTS (SELECT 1 FROM public.report_changes w WHERE w.written = own)
           OR EXISTS (SELECT 1 FROM public.report_tree_changes t WHERE t.written = own)) THEN
        may_keep := false;
    ELSIF own < pg_snapshot_xmax(seen) THEN  -- (one at or past xmax is in progress to it)
        seen := (least(pg_snapshot_xmin(seen), own) || ':' || pg_snapshot_xmax(seen) || ':'
                 || array_to_string(ARRAY(SELECT x FROM pg_snapshot_xip(seen) AS x
                                          UNION SELECT own ORDER BY 1), ','))::pg_snapshot;
    END IF;
    IF may_keep AND current_setting('transaction_read_only') = 'off'
       AND current_setting('transaction_isolation') = 'read committed'
       AND pg_try_advisory_xact_lock(public.thidua_report_rollup_key(p_unit, k_first, k_last))
    THEN
        INSERT INTO public.report_rollups (unit_id, first_year, last_year, seen, figures)
        VALUES (p_unit, k_first, k_last, seen, fresh)
        ON CONFLICT (unit_id, first_year, last_year) DO UPDATE
           SET seen = EXCLUDED.seen, kept_at = EXCLUDED.kept_at, figures = EXCLUDED.figures;
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
    RETURN QUERY SELECT * FROM public.thidua_report_rows(fresh) f
                  WHERE f.year BETWEEN p_first AND p_last;
END $$;
REVOKE ALL ON FUNCTION thidua_report_figures(text, integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_figures(text, integer, integer, timestamptz)
    TO thidua_app;
