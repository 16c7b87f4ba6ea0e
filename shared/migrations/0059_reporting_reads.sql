-- Reporting's reads, corrected after a review of 0058.
--
-- * thidua_report_allowed answered NULL to a session that set no unit (thidua.tenant), and
--   thidua_report_figures' `IF NOT allowed` let a NULL through: such a session read any unit's
--   figures. Now never NULL; the deadline compliance takes the same check (it had a copy).
-- * A kept roll-up was checked for a change to the tree in one statement and rolled forward in
--   the next: a change committing between them left a sum of two trees kept as the new one.
--   The check is now inside the statement that rolls forward.
-- * The thresholds were session settings (thidua.report_rollup_units...) a session could set to
--   keep a row for any unit; now the owner's report_settings, and each unit keeps its latest
--   16 periods only. Keeping is skipped in a transaction stricter than read committed (its
--   update of a row kept since would fail it).
-- * Rolling forward found every member of the subtree (the union's 130,755: 300 ms) to add the
--   few units whose figures changed: now it looks up those units only.
-- * The tree trigger fired on statements that changed no row (every batch of the registry),
--   and any change to the tree made every kept roll-up read anew (the union's: 5.7 s at 5
--   million events), a registration of a new unit too. Now each unit whose rows of the tree
--   changed (unit_parents, unit_closure) is recorded, and only a change to a unit with a history
--   (changes already counted, or units merged into it) makes the roll-ups read anew: a unit that
--   had none is counted where it stands now by the changes written since, as any other. The
--   changes to the tree no kept roll-up needs any more are let go as roll-ups are kept, up to
--   a horizon (report_tree_horizon) before which a roll-up kept is read anew.
-- * The roll-forward dropped figures summing to zero, a full read kept them: both drop them.
-- * Letting a unit's old periods go deleted rows other readers could be keeping, without their
--   lock: two readers could wait on each other (a deadlock). Now under each period's lock.
-- * A transaction that had written before keeping took its own later writes as seen (its id
--   is not in pg_current_snapshot()'s list): now kept as in progress, or nothing kept.
-- * Deadline compliance counts a merged unit's deadlines under its survivor too, as the figures.
-- * An item's last change (report_items.known_at) was not carried over from 0057's versions.
-- * A report read as sent was its unit's figures as the log held them then, over today's tree:
--   a unit merged into the sender (or moved under it, dated back) after the sending counted in
--   what the level above read. A sending now carries its figures (ReportSubmitted.figures,
--   kept in reports.figures), and the report as sent is read from them.
SET LOCAL search_path = public;

ALTER TABLE reports ADD COLUMN figures jsonb;  -- as sent: [[year, metric, dim, value], ...]

-- what was kept may be a sum of two trees (above): read anew
TRUNCATE report_rollups;
ALTER TABLE report_rollups DROP COLUMN tree,
    ADD COLUMN kept_at timestamptz NOT NULL DEFAULT now();
-- Only the reading functions (their owner's) touch it: no role is granted it.
DROP POLICY report_rollups_projector ON report_rollups;
REVOKE ALL ON report_rollups FROM thidua_projector;
REVOKE UPDATE ON report_changes FROM thidua_projector;

UPDATE report_items i SET known_at = c.last
  FROM (SELECT unit_id, max(known_at) AS last FROM report_changes GROUP BY unit_id) c
 WHERE i.known_at IS NULL AND c.unit_id = i.unit_id;

-- How the reading functions go about a subtree, set by an operator (the owner), never by a
-- session: rollup_units, the units below from which a roll-up is kept; many_units, from which
-- the period's rows are read at once rather than unit by unit; kept_periods, how many periods'
-- roll-ups a unit keeps (the latest kept), so the table stays as small as the units that need it.
CREATE TABLE report_settings (name text PRIMARY KEY, value integer NOT NULL CHECK (value >= 0));
INSERT INTO report_settings VALUES ('rollup_units', 500), ('many_units', 20000),
                                   ('kept_periods', 16);
ALTER TABLE report_settings ENABLE ROW LEVEL SECURITY;

-- Each unit whose rows of the tree a statement changes (a move: the unit and those below it;
-- a merge: the merged unit; a registration: the new unit) is recorded with the transaction
-- (unit_id NULL: the whole tree, after a TRUNCATE). A statement that changes no row records none.
DROP TRIGGER unit_parents_changed ON unit_parents;
ALTER TABLE report_tree_changes ADD COLUMN unit_id text;
CREATE OR REPLACE FUNCTION thidua_report_tree_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'unit_closure' THEN
        INSERT INTO public.report_tree_changes (unit_id) SELECT DISTINCT descendant FROM changed;
    ELSE
        INSERT INTO public.report_tree_changes (unit_id) SELECT DISTINCT tenant_id FROM changed;
    END IF;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION thidua_report_tree_changed() FROM PUBLIC;

CREATE FUNCTION thidua_report_tree_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.report_tree_changes DEFAULT VALUES;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION thidua_report_tree_truncated() FROM PUBLIC;

-- Changes to the tree older than this were let go (thidua_report_tree_prune): a roll-up kept
-- in a snapshot older than it cannot tell what changed since, and is read anew.
CREATE TABLE report_tree_horizon (horizon xid8 NOT NULL);
INSERT INTO report_tree_horizon VALUES ('0');
ALTER TABLE report_tree_horizon ENABLE ROW LEVEL SECURITY;

-- Whether the tree changed since p_seen for a roll-up kept then: a unit whose rows of the tree
-- changed since has a history that roll-up may have counted where it stood then (changes of
-- its own visible in p_seen, or units merged into it, whose history stands where it stands).
CREATE FUNCTION thidua_report_tree_changed_since(p_seen pg_snapshot) RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_snapshot_xmin(p_seen) < (SELECT h.horizon FROM public.report_tree_horizon h)
        OR EXISTS (
        SELECT 1 FROM public.report_tree_changes t
         WHERE t.written >= pg_snapshot_xmin(p_seen)
           AND NOT pg_visible_in_snapshot(t.written, p_seen)
           AND (t.unit_id IS NULL
                OR EXISTS (SELECT 1 FROM public.report_changes c
                            WHERE c.unit_id = t.unit_id
                              AND pg_visible_in_snapshot(c.written, p_seen))
                OR EXISTS (SELECT 1 FROM public.unit_parents m
                            WHERE m.parent_id = t.unit_id AND m.kind = 'merged')))
$$;
REVOKE ALL ON FUNCTION thidua_report_tree_changed_since(pg_snapshot) FROM PUBLIC;

-- The changes to the tree no kept roll-up needs let go: those of transactions finished before
-- every roll-up kept was read (and before every transaction still running), with the horizon
-- moved past them in the same transaction. A reader holding a roll-up it read before another
-- kept a newer one reads anew, by the horizon. Never waits: another pruning is left to it.
-- How many it let go.
CREATE FUNCTION thidua_report_tree_prune() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h xid8 := pg_snapshot_xmin(pg_current_snapshot());
    n bigint;
BEGIN
    SELECT least(h, min(pg_snapshot_xmin(r.seen))) INTO h FROM public.report_rollups r;
    IF NOT EXISTS (SELECT 1 FROM public.report_tree_changes t WHERE t.written < h)
       OR NOT pg_try_advisory_xact_lock(public.thidua_report_rollup_key('', 0, 0)) THEN
        RETURN 0;
    END IF;
    UPDATE public.report_tree_horizon SET horizon = greatest(horizon, h);
    DELETE FROM public.report_tree_changes t WHERE t.written < h;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION thidua_report_tree_prune() FROM PUBLIC;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['unit_parents', 'unit_closure'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_inserted AFTER INSERT ON %1$I REFERENCING NEW TABLE '
                       'AS changed FOR EACH STATEMENT '
                       'EXECUTE FUNCTION thidua_report_tree_changed()', t);
        EXECUTE format('CREATE TRIGGER %1$s_updated AFTER UPDATE ON %1$I REFERENCING NEW TABLE '
                       'AS changed FOR EACH STATEMENT '
                       'EXECUTE FUNCTION thidua_report_tree_changed()', t);
        EXECUTE format('CREATE TRIGGER %1$s_deleted AFTER DELETE ON %1$I REFERENCING OLD TABLE '
                       'AS changed FOR EACH STATEMENT '
                       'EXECUTE FUNCTION thidua_report_tree_changed()', t);
        EXECUTE format('CREATE TRIGGER %1$s_truncated AFTER TRUNCATE ON %1$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION thidua_report_tree_truncated()', t);
    END LOOP;
END $$;

-- Whether the caller may read p_unit's figures of p_first..p_last as at p_as_of: its own unit,
-- a unit below it today to a reader of its subtree, or the unit a report was sent to, as sent.
CREATE OR REPLACE FUNCTION thidua_report_allowed(p_unit text, p_first integer, p_last integer,
                                      p_as_of timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    -- never NULL: a session with no unit set may read nothing
    SELECT coalesce(p_unit = current_setting('thidua.tenant', true)
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
               AND r.submitted_at = p_as_of)), false)
$$;
REVOKE ALL ON FUNCTION thidua_report_allowed(text, integer, integer, timestamptz) FROM PUBLIC;

DROP FUNCTION thidua_report_members(text, integer, integer);

-- The units whose figures count in p_unit's of p_first..p_last, each with the days they count
-- (whole: the whole period): p_unit itself (its own figures, whatever their day); each unit
-- below it for the days it stood below (unit_closure's dated edges: a unit moved on 1 July
-- counts under its old parent before that day and under the new one from it); a merged unit's
-- own history before its merge also under its survivor (and the survivor's survivors), for the
-- days the survivor stood below p_unit. Each unit once, however many ways it stands below.
-- p_only: only these of them (and p_unit), looked up by their own edges (a roll-up kept adds
-- the few units whose figures changed since; finding all 130,755 of the union's took 300 ms).
-- No reach check: the callers check it.
CREATE FUNCTION thidua_report_members(p_unit text, p_first integer, p_last integer,
                                      p_only text[] DEFAULT NULL)
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
          JOIN public.unit_parents m ON m.tenant_id = a.unit AND m.kind = 'merged'),
    edges AS (
        SELECT c.descendant, c.valid_from, c.valid_to FROM public.unit_closure c
         WHERE p_only IS NULL AND c.ancestor = p_unit
        UNION ALL
        SELECT c.descendant, c.valid_from, c.valid_to FROM asked a
          JOIN public.unit_closure c ON c.descendant = a.unit AND c.ancestor = p_unit
         WHERE p_only IS NOT NULL),
    below AS MATERIALIZED (
        SELECT c.descendant AS unit, c.valid_from, c.valid_to FROM edges c
         WHERE c.descendant <> p_unit
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
REVOKE ALL ON FUNCTION thidua_report_members(text, integer, integer, text[]) FROM PUBLIC;

-- The sums of p_unit's members' changes in p_first..p_last known at p_as_of (NULL: all), as
-- [[year, metric, dim, value], ...] (none that sum to nothing); with p_written (a snapshot),
-- only the changes written by transactions it did not see, summing to nothing or not, among
-- the units they belong to only. p_many: the members are many (a province of provinces, the
-- union): the period's rows are read once and matched in memory, not looked up unit by unit
-- (130,755 units were 1.1 s of index probes).
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
              JOIN (SELECT * FROM public.thidua_report_members(p_unit, p_first, p_last)
                    OFFSET 0) m ON m.unit = c.unit_id
             WHERE c.day >= lo AND c.day < hi AND (m.whole OR m.days @> c.day)
               AND (p_as_of IS NULL OR c.known_at <= p_as_of)
             GROUP BY 1, 2, 3 HAVING sum(c.delta) <> 0) s;
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_array(y, metric, dim, v)), '[]') INTO found FROM (
            SELECT extract(year FROM c.day)::integer AS y, c.metric, c.dim, sum(c.delta) AS v
              FROM public.thidua_report_members(p_unit, p_first, p_last) m
              JOIN public.report_changes c ON c.unit_id = m.unit AND c.day >= lo AND c.day < hi
             WHERE (m.whole OR m.days @> c.day)
               AND (p_as_of IS NULL OR c.known_at <= p_as_of)
             GROUP BY 1, 2, 3 HAVING sum(c.delta) <> 0) s;
    END IF;
    RETURN found;
END $$;
REVOKE ALL ON FUNCTION thidua_report_sums(text, integer, integer, timestamptz, pg_snapshot,
                                          boolean) FROM PUBLIC;

-- The advisory lock under which a roll-up is kept or let go: shared.db.lock_key's for
-- 'report_rollups:UNIT:FIRST:LAST' (SHA-256's first 8 bytes); the unit '' and the years 0:
-- the pruning of the tree's changes.
CREATE FUNCTION thidua_report_rollup_key(p_unit text, p_first integer, p_last integer)
RETURNS bigint
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ('x' || left(encode(sha256(convert_to(
               'report_rollups:' || p_unit || ':' || p_first || ':' || p_last, 'UTF8')), 'hex'),
               16))::bit(64)::bigint
$$;

-- Figures kept as JSON ([[year, metric, dim, value], ...]) as the rows the readers get.
CREATE FUNCTION thidua_report_rows(p_figures jsonb)
RETURNS TABLE (year integer, metric text, dim text, value numeric)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (f->>0)::integer, f->>1, f->>2, (f->>3)::numeric FROM jsonb_array_elements(p_figures) f
$$;

-- The figures of p_unit and every unit below it (thidua_report_members), years p_first..p_last,
-- as the log held them at p_as_of (NULL: now). Answers only what thidua_report_allowed allows,
-- with a row of nulls first when it does (none: it may not), so a summary of zeros and one out
-- of reach differ without asking twice.
--
-- Today's figures of a subtree with at least rollup_units units below (report_settings) are
-- kept in report_rollups with the snapshot they were read in: a read adds the changes written
-- since (more than 100,000, or a change to the tree: read anew) and keeps the sum with its own
-- snapshot. Each statement of a read committed transaction has its own snapshot, so the
-- figures of one call are of one moment, and two calls in one statement may be of two moments
-- a few milliseconds apart. Keeping is skipped in a read-only transaction or one of a stricter
-- isolation (its update of a row another kept since would fail it), and when another reader is
-- keeping the same roll-up (never waited for: two readers keeping two roll-ups in turn would
-- wait on each other).
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
    SELECT * INTO kept FROM public.report_rollups r
     WHERE r.unit_id = p_unit AND r.first_year = p_first AND r.last_year = p_last;
    IF kept.seen IS NOT NULL THEN
        SELECT (SELECT count(*) FROM (
                    SELECT 1 FROM public.report_changes w
                     WHERE w.written >= pg_snapshot_xmin(kept.seen)
                       AND NOT pg_visible_in_snapshot(w.written, kept.seen) LIMIT 100001) x),
               public.thidua_report_tree_changed_since(kept.seen)
          INTO pending, tree_changed;
        IF pending = 0 AND NOT tree_changed THEN
            RETURN QUERY SELECT * FROM public.thidua_report_rows(kept.figures);
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
                                   p_unit, p_first, p_last, NULL, kept.seen, false))) x
                        GROUP BY 1, 2, 3 HAVING sum((f->>3)::numeric) <> 0) s) END
              INTO seen, fresh;
        END IF;
    END IF;
    IF fresh IS NULL THEN
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
       AND pg_try_advisory_xact_lock(public.thidua_report_rollup_key(p_unit, p_first, p_last))
    THEN
        INSERT INTO public.report_rollups (unit_id, first_year, last_year, seen, figures)
        VALUES (p_unit, p_first, p_last, seen, fresh)
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
    RETURN QUERY SELECT * FROM public.thidua_report_rows(fresh);
END $$;
REVOKE ALL ON FUNCTION thidua_report_figures(text, integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_figures(text, integer, integer, timestamptz)
    TO thidua_app;

-- Deadline compliance (0057's), over the same units as every figure (thidua_report_members): a
-- merged unit's deadlines of the year before its merge count under its survivor too, and the
-- reach is thidua_report_allowed's, not a copy of it.
CREATE OR REPLACE FUNCTION thidua_report_compliance(p_unit text, p_year integer)
RETURNS TABLE (kind text, on_time bigint, late bigint, missing bigint, pending bigint)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH allowed AS (
        SELECT 1 WHERE public.thidua_report_allowed(p_unit, p_year, p_year, NULL)),
    below AS (
        SELECT m.unit, m.whole, m.days
          FROM public.thidua_report_members(p_unit, p_year, p_year) m
         WHERE EXISTS (SELECT 1 FROM allowed)),
    campaigns AS (
        SELECT i.unit_id, substr(i.item, 10) AS campaign, i.facts
          FROM below b JOIN public.report_items i ON i.unit_id = b.unit
         WHERE i.item LIKE 'campaign:%' AND i.day IS NOT NULL
           AND extract(year FROM i.day) = p_year
           AND (b.whole OR b.days @> i.day)),
    registrations AS (
        SELECT (SELECT count(*) FROM public.unit_closure k
                 WHERE k.ancestor = c.unit_id AND k.depth = 1
                   AND k.valid_from <= (c.facts->>'due')::date
                   AND (k.valid_to IS NULL OR k.valid_to > (c.facts->>'due')::date)) AS expected,
               (c.facts->>'due')::date AS due,
               count(r.*) FILTER (WHERE r.facts->>'late' = 'false') AS on_time,
               count(r.*) FILTER (WHERE r.facts->>'late' = 'true') AS late
          FROM campaigns c
          LEFT JOIN public.report_items r ON r.facts->>'campaign' = replace(c.campaign, '-', '')
               AND r.facts ? 'campaign' AND r.item LIKE 'registration:%' AND r.figures <> '[]'
         WHERE c.facts->>'due' IS NOT NULL
         GROUP BY c.unit_id, c.campaign, c.facts),
    phases AS (
        SELECT (p.value #>> '{}')::date + coalesce((c.facts->>'report_days')::int, 0) AS due,
               rv.facts AS review
          FROM campaigns c
          CROSS JOIN LATERAL jsonb_each(coalesce(c.facts->'phases', '{}')) p
          LEFT JOIN public.report_items rv ON rv.unit_id = c.unit_id
               AND rv.item = 'review:' || c.campaign || ':' || p.key
         WHERE c.facts->>'report_days' IS NOT NULL),
    appraisals AS (
        SELECT a.facts->>'concluded' AS concluded,
               (pr.facts->'dues'->>split_part(a.item, ':', 3))::date AS due
          FROM below b JOIN public.report_items a ON a.unit_id = b.unit
          LEFT JOIN public.report_items pr ON pr.unit_id = a.facts->>'proposer'
               AND pr.item = 'proposal:' || (a.facts->>'proposal')::uuid::text
         WHERE a.item LIKE 'appraisal:%' AND a.day IS NOT NULL
           AND extract(year FROM a.day) = p_year
           AND (b.whole OR b.days @> a.day)),
    requests AS (
        SELECT q.unit_id, q.due_on, q.first_year, q.last_year
          FROM below b JOIN public.report_requests q ON q.unit_id = b.unit
         WHERE extract(year FROM q.due_on) = p_year
           AND (b.whole OR b.days @> q.due_on)),
    period_reports AS (
        SELECT q.due_on, r.first_late
          FROM requests q
          JOIN public.unit_closure k ON k.ancestor = q.unit_id AND k.depth = 1
               AND k.valid_from <= q.due_on AND (k.valid_to IS NULL OR k.valid_to > q.due_on)
          LEFT JOIN public.reports r ON r.unit_id = k.descendant AND r.to_unit = q.unit_id
               AND r.first_year = q.first_year AND r.last_year = q.last_year
               AND r.first_sent_on IS NOT NULL)
    SELECT * FROM (
        SELECT 'registrations', coalesce(sum(on_time), 0)::bigint, coalesce(sum(late), 0)::bigint,
               coalesce(sum(greatest(expected - on_time - late, 0))
                        FILTER (WHERE due < public.thidua_today()), 0)::bigint,
               coalesce(sum(greatest(expected - on_time - late, 0))
                        FILTER (WHERE due >= public.thidua_today()), 0)::bigint
          FROM registrations
        UNION ALL
        SELECT 'phase_reports',
               count(*) FILTER (WHERE review IS NOT NULL AND review->>'late' = 'false'),
               count(*) FILTER (WHERE review IS NOT NULL AND review->>'late' = 'true'),
               count(*) FILTER (WHERE review IS NULL AND due < public.thidua_today()),
               count(*) FILTER (WHERE review IS NULL AND due >= public.thidua_today())
          FROM phases
        UNION ALL
        SELECT 'appraisals',
               count(*) FILTER (WHERE concluded IS NOT NULL AND (due IS NULL OR concluded::date <= due)),
               count(*) FILTER (WHERE concluded IS NOT NULL AND concluded::date > due),
               count(*) FILTER (WHERE concluded IS NULL AND due < public.thidua_today()),
               count(*) FILTER (WHERE concluded IS NULL AND (due IS NULL OR due >= public.thidua_today()))
          FROM appraisals
        UNION ALL
        SELECT 'period_reports',
               count(*) FILTER (WHERE first_late = false),
               count(*) FILTER (WHERE first_late = true),
               count(*) FILTER (WHERE first_late IS NULL AND due_on < public.thidua_today()),
               count(*) FILTER (WHERE first_late IS NULL AND due_on >= public.thidua_today())
          FROM period_reports
    ) x WHERE EXISTS (SELECT 1 FROM allowed)
$$;
REVOKE ALL ON FUNCTION thidua_report_compliance(text, integer) FROM PUBLIC;
