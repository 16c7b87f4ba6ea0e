-- The periods the keeper keeps of a large subtree and finds not kept at all, read in ONE full read
-- of the years they span (thidua_report_keep), each then kept from its own years of it: after a
-- rebuild's swap nothing is kept, and the keeper read the union's this year, last year and every
-- term one by one, each in full, so that its changes of this year were read three times (the
-- keeper took 12.5 s of an 80 s rebuild of 5 million events; the union's reads 13.7 s of the
-- database's time, about twice its changes). It holds for the reason 0065's periods taken from
-- kept years do: every figure is counted by its day, the tree as it stood that day, whatever
-- the period around it, so a period's figures are its own years' of any read that spans them;
-- and all of them are of the one snapshot that read them, kept with each as thidua_report_figures
-- keeps its own.
SET LOCAL search_path = public;

-- How many of p_periods (p_firsts[i]..p_lasts[i]) were kept. A period each of whose years a kept
-- roll-up encloses (itself, current or not, or others: 0065) is left to thidua_report_figures,
-- which rolls them forward or answers a lookup, and keeps nothing for a period it takes from
-- others; one whose subtree is too small to keep (fewer than rollup_units units stood in it) is
-- not kept, as there; one another reader is keeping (its lock taken) is left to it.
CREATE FUNCTION thidua_report_keep(p_unit text, p_firsts integer[], p_lasts integer[])
RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rollup_units integer;
    many_units integer;
    kept_periods integer;
    firsts integer[];
    lasts integer[];
    span_first integer;
    span_last integer;
    below bigint;
    seen pg_snapshot;
    spanned jsonb;
    kept integer := 0;
BEGIN
    -- (a transaction that has written may not keep what it reads: see thidua_report_figures;
    -- the keeper's never has)
    IF pg_current_xact_id_if_assigned() IS NOT NULL
       OR current_setting('transaction_read_only') = 'on'
       OR current_setting('transaction_isolation') <> 'read committed'
       OR cardinality(p_firsts) IS DISTINCT FROM cardinality(p_lasts)
       OR NOT public.thidua_report_allowed(p_unit, p_firsts[1], p_lasts[1], NULL)
    THEN
        RETURN 0;
    END IF;
    SELECT max(s.value) FILTER (WHERE s.name = 'rollup_units'),
           max(s.value) FILTER (WHERE s.name = 'many_units'),
           max(s.value) FILTER (WHERE s.name = 'kept_periods')
      INTO rollup_units, many_units, kept_periods FROM public.report_settings s;
    SELECT array_agg(p.f ORDER BY p.n), array_agg(p.l ORDER BY p.n) INTO firsts, lasts
      FROM unnest(p_firsts, p_lasts) WITH ORDINALITY AS p (f, l, n)
     WHERE p.f <= p.l
       AND EXISTS (SELECT 1 FROM generate_series(p.f, p.l) AS y (year)
                    WHERE NOT EXISTS (SELECT 1 FROM public.report_rollups r
                                       WHERE r.unit_id = p_unit AND r.first_year <= y.year
                                         AND r.last_year >= y.year))
       AND (SELECT count(*) FROM (
                SELECT 1 FROM public.unit_closure c
                 WHERE c.ancestor = p_unit AND c.valid_from < make_date(p.l + 1, 1, 1)
                   AND (c.valid_to IS NULL OR c.valid_to > make_date(p.f, 1, 1))
                 LIMIT rollup_units) x) >= rollup_units;
    IF firsts IS NULL THEN
        RETURN 0;
    END IF;
    SELECT min(f), max(l) INTO span_first, span_last FROM unnest(firsts, lasts) AS p (f, l);
    SELECT count(*) INTO below FROM (
        SELECT 1 FROM public.unit_closure c
         WHERE c.ancestor = p_unit AND c.valid_from < make_date(span_last + 1, 1, 1)
           AND (c.valid_to IS NULL OR c.valid_to > make_date(span_first, 1, 1))
         LIMIT many_units + 1) x;
    SELECT pg_current_snapshot(),
           public.thidua_report_sums(p_unit, span_first, span_last, NULL, NULL,
                                     below > many_units)
      INTO seen, spanned;
    FOR i IN 1 .. cardinality(firsts) LOOP
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(
            public.thidua_report_rollup_key(p_unit, firsts[i], lasts[i]));
        INSERT INTO public.report_rollups (unit_id, first_year, last_year, seen, figures)
        SELECT p_unit, firsts[i], lasts[i], seen, coalesce(jsonb_agg(f ORDER BY n), '[]')
          FROM jsonb_array_elements(spanned) WITH ORDINALITY AS x (f, n)
         WHERE (f->>0)::integer BETWEEN firsts[i] AND lasts[i]
        ON CONFLICT (unit_id, first_year, last_year) DO UPDATE
           SET seen = EXCLUDED.seen, kept_at = EXCLUDED.kept_at, figures = EXCLUDED.figures;
        kept := kept + 1;
    END LOOP;
    IF kept > 0 THEN
        -- as thidua_report_figures lets the unit's periods kept longest ago go
        WITH old AS MATERIALIZED (
            SELECT o.ctid AS at, o.first_year, o.last_year FROM public.report_rollups o
             WHERE o.unit_id = p_unit ORDER BY o.kept_at DESC OFFSET kept_periods),
        mine AS MATERIALIZED (
            SELECT at FROM old WHERE pg_try_advisory_xact_lock(
                public.thidua_report_rollup_key(p_unit, old.first_year, old.last_year)))
        DELETE FROM public.report_rollups r WHERE r.ctid IN (SELECT at FROM mine);
        PERFORM public.thidua_report_tree_prune();
    END IF;
    RETURN kept;
END $$;
REVOKE ALL ON FUNCTION thidua_report_keep(text, integer[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_keep(text, integer[], integer[]) TO thidua_app;
