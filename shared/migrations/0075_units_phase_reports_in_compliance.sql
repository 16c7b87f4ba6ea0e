-- Deadline compliance counts the registered units' reports of each phase (progress_reports):
-- seed 003 asks the units carrying out a campaign to send their phase reports within five days
-- of its end, and compliance counted only the launching unit's own review of the phase, so a
-- province saw none of its units' nine reports (two late) of the demo's year.
-- Reporting now keeps each report of a phase (ProgressReported) as an item of the reporting unit
-- with its campaign, its phase and whether its first sending was late, and each state with its
-- moment (versions), as the projection does from this release on. The reports already in the
-- log are written here, as the projection would have written them: no figure, so the runner's
-- writing them again when it passes them is the same rows.
-- The function is 0068's otherwise, unchanged.
SET LOCAL search_path = public;

-- A rebuild of reporting begun before has passed the reports without writing them, and these
-- rows are written to the live tables alone: begun anew by the next `thidua reports rebuild`.
DELETE FROM projection_versions WHERE name = 'reporting' AND state = 'building';
DROP SCHEMA IF EXISTS thidua_next_reporting CASCADE;

WITH reported AS (
    SELECT e.tenant_id, e.stream_id, e.seq, e.recorded_at,
           (e.data->'reported_on'->>'_data_')::date AS day,
           jsonb_build_object('campaign', e.data->'campaign_id'->>'_data_',
                              'phase', e.data->>'phase',
                              'late', coalesce((e.data->>'late')::boolean, false)) AS facts
      FROM events e WHERE e.event_type = 'ProgressReported'),
firsts AS (
    SELECT DISTINCT ON (tenant_id, stream_id) tenant_id, stream_id, day, facts
      FROM reported ORDER BY tenant_id, stream_id, seq),
latest AS (
    SELECT DISTINCT ON (tenant_id, stream_id) tenant_id, stream_id, recorded_at
      FROM reported ORDER BY tenant_id, stream_id, seq DESC),
versions AS (
    INSERT INTO report_item_versions (unit_id, item, known_at, day, figures, facts)
    SELECT r.tenant_id, 'progress:' || r.stream_id, r.recorded_at, f.day, '[]', f.facts
      FROM reported r JOIN firsts f USING (tenant_id, stream_id)
    ON CONFLICT DO NOTHING)
INSERT INTO report_items (unit_id, item, day, figures, facts, known_at)
SELECT f.tenant_id, 'progress:' || f.stream_id, f.day, '[]', f.facts, l.recorded_at
  FROM firsts f JOIN latest l USING (tenant_id, stream_id)
ON CONFLICT (unit_id, item) DO NOTHING;

CREATE OR REPLACE FUNCTION thidua_report_compliance(p_unit text, p_year integer,
                                                    p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (kind text, on_time bigint, late bigint, missing bigint, pending bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q constant text := $q$
    WITH allowed AS (
        SELECT 1 WHERE public.thidua_report_allowed($1, $2, $2, $3)),
    asked AS (
        SELECT least((($3 AT TIME ZONE 'UTC') + interval '7 hours')::date,
                     public.thidua_today()) AS today),
    below AS MATERIALIZED (
        SELECT m.unit, m.whole, m.days
          FROM public.thidua_report_members($1, $2, $2, NULL, $3) m
         WHERE EXISTS (SELECT 1 FROM allowed)),
    items AS MATERIALIZED (
        SELECT i.unit_id, i.item, i.day, i.facts
          FROM below b JOIN public.report_items i ON i.unit_id = b.unit
         WHERE $3 IS NULL AND split_part(i.item, ':', 1) IN ('campaign', 'review', 'appraisal')
        UNION ALL
        SELECT * FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.unit_id, v.item, v.day, v.facts
              FROM below b JOIN public.report_item_versions v ON v.unit_id = b.unit
             WHERE $3 IS NOT NULL
               AND split_part(v.item, ':', 1) IN ('campaign', 'review', 'appraisal')
               AND v.known_at <= $3
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    campaigns AS (
        SELECT i.unit_id, substr(i.item, 10) AS campaign, i.facts
          FROM items i JOIN below b ON b.unit = i.unit_id
         WHERE i.item LIKE 'campaign:%' AND i.day IS NOT NULL
           AND extract(year FROM i.day) = $2
           AND (b.whole OR b.days @> i.day)),
    registered AS (
        SELECT r.unit_id, r.facts->>'campaign' AS campaign, r.figures, r.facts
          FROM campaigns c JOIN public.report_items r
               ON r.facts->>'campaign' = replace(c.campaign, '-', '') AND r.facts ? 'campaign'
         WHERE $3 IS NULL AND r.item LIKE 'registration:%'
        UNION ALL
        SELECT v.unit_id, v.campaign, v.figures, v.facts FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.unit_id, v.facts->>'campaign' AS campaign,
                   v.figures, v.facts
              FROM campaigns c JOIN public.report_item_versions v
                   ON v.facts->>'campaign' = replace(c.campaign, '-', '') AND v.facts ? 'campaign'
             WHERE $3 IS NOT NULL AND v.item LIKE 'registration:%' AND v.known_at <= $3
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    registrations AS (
        SELECT (SELECT count(*) FROM public.thidua_tree_closure($3) k
                 WHERE k.ancestor = c.unit_id AND k.depth = 1
                   AND k.valid_from <= (c.facts->>'due')::date
                   AND (k.valid_to IS NULL OR k.valid_to > (c.facts->>'due')::date)) AS expected,
               (c.facts->>'due')::date AS due,
               count(r.*) FILTER (WHERE r.figures <> '[]' AND r.facts->>'late' = 'false')
                   AS on_time,
               count(r.*) FILTER (WHERE r.figures <> '[]' AND r.facts->>'late' = 'true') AS late
          FROM campaigns c
          LEFT JOIN registered r ON r.campaign = replace(c.campaign, '-', '')
         WHERE c.facts->>'due' IS NOT NULL
         GROUP BY c.unit_id, c.campaign, c.facts),
    phases AS (
        SELECT (p.value #>> '{}')::date + coalesce((c.facts->>'report_days')::int, 0) AS due,
               rv.facts AS review
          FROM campaigns c
          CROSS JOIN LATERAL jsonb_each(coalesce(c.facts->'phases', '{}')) p
          LEFT JOIN items rv ON rv.unit_id = c.unit_id
               AND rv.item = 'review:' || c.campaign || ':' || p.key
         WHERE c.facts->>'report_days' IS NOT NULL),
    -- the reports of those campaigns' phases, found by their campaign as the registrations are
    -- (a probe for each registered unit and phase was 260,000 over a union's year)
    reported AS (
        SELECT r.unit_id, r.facts->>'campaign' AS campaign, r.facts->>'phase' AS phase, r.facts
          FROM campaigns c JOIN public.report_items r
               ON r.facts->>'campaign' = replace(c.campaign, '-', '') AND r.facts ? 'campaign'
         WHERE $3 IS NULL AND r.item LIKE 'progress:%'
        UNION ALL
        SELECT v.unit_id, v.facts->>'campaign', v.facts->>'phase', v.facts FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.unit_id, v.facts
              FROM campaigns c JOIN public.report_item_versions v
                   ON v.facts->>'campaign' = replace(c.campaign, '-', '') AND v.facts ? 'campaign'
             WHERE $3 IS NOT NULL AND v.item LIKE 'progress:%' AND v.known_at <= $3
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    -- each registered unit's report of each phase, due as the phase's review is: its first
    -- sending, as known at the moment
    progress AS (
        SELECT (p.value #>> '{}')::date + (c.facts->>'report_days')::int AS due, pr.facts AS report
          FROM campaigns c
          JOIN registered r ON r.campaign = replace(c.campaign, '-', '') AND r.figures <> '[]'
          CROSS JOIN LATERAL jsonb_each(coalesce(c.facts->'phases', '{}')) p
          LEFT JOIN reported pr ON pr.unit_id = r.unit_id AND pr.campaign = r.campaign
               AND pr.phase = p.key
         WHERE c.facts->>'report_days' IS NOT NULL),
    appraisals AS (
        SELECT a.facts->>'concluded' AS concluded,
               (pr.facts->'dues'->>split_part(a.item, ':', 3))::date AS due
          FROM items a JOIN below b ON b.unit = a.unit_id
          LEFT JOIN LATERAL (
              SELECT i.facts FROM public.report_items i
               WHERE $3 IS NULL AND i.unit_id = a.facts->>'proposer'
                 AND i.item = 'proposal:' || (a.facts->>'proposal')::uuid::text
              UNION ALL
              SELECT * FROM (
                  SELECT v.facts FROM public.report_item_versions v
                   WHERE $3 IS NOT NULL AND v.unit_id = a.facts->>'proposer'
                     AND v.item = 'proposal:' || (a.facts->>'proposal')::uuid::text
                     AND v.known_at <= $3
                   ORDER BY v.known_at DESC LIMIT 1) v) pr ON true
         WHERE a.item LIKE 'appraisal:%' AND a.day IS NOT NULL
           AND extract(year FROM a.day) = $2
           AND (b.whole OR b.days @> a.day)),
    requested AS (
        SELECT q.unit_id, q.first_year, q.last_year, b.whole, b.days,
               CASE WHEN $3 IS NULL THEN q.due_on
                    ELSE (SELECT (d->>'due')::date FROM jsonb_array_elements(q.dues) d
                           WHERE (d->>'at')::timestamptz <= $3
                           ORDER BY (d->>'at')::timestamptz DESC LIMIT 1) END AS due_on
          FROM below b JOIN public.report_requests q ON q.unit_id = b.unit),
    -- a request not yet asked at the moment has no due day then
    requests AS (
        SELECT q.unit_id, q.due_on, q.first_year, q.last_year FROM requested q
         WHERE extract(year FROM q.due_on) = $2 AND (q.whole OR q.days @> q.due_on)),
    period_reports AS (
        SELECT q.due_on, r.first_late
          FROM requests q
          JOIN public.thidua_tree_closure($3) k ON k.ancestor = q.unit_id AND k.depth = 1
               AND k.valid_from <= q.due_on AND (k.valid_to IS NULL OR k.valid_to > q.due_on)
          LEFT JOIN public.reports r ON r.unit_id = k.descendant AND r.to_unit = q.unit_id
               AND r.first_year = q.first_year AND r.last_year = q.last_year
               AND CASE WHEN $3 IS NULL THEN r.first_sent_on IS NOT NULL
                        ELSE r.first_sent_at <= $3 END)
    SELECT * FROM (
        SELECT 'registrations', coalesce(sum(on_time), 0)::bigint, coalesce(sum(late), 0)::bigint,
               coalesce(sum(greatest(expected - on_time - late, 0))
                        FILTER (WHERE due < (SELECT today FROM asked)), 0)::bigint,
               coalesce(sum(greatest(expected - on_time - late, 0))
                        FILTER (WHERE due >= (SELECT today FROM asked)), 0)::bigint
          FROM registrations
        UNION ALL
        SELECT 'phase_reports',
               count(*) FILTER (WHERE review IS NOT NULL AND review->>'late' = 'false'),
               count(*) FILTER (WHERE review IS NOT NULL AND review->>'late' = 'true'),
               count(*) FILTER (WHERE review IS NULL AND due < (SELECT today FROM asked)),
               count(*) FILTER (WHERE review IS NULL AND due >= (SELECT today FROM asked))
          FROM phases
        UNION ALL
        SELECT 'progress_reports',
               count(*) FILTER (WHERE report IS NOT NULL AND report->>'late' = 'false'),
               count(*) FILTER (WHERE report IS NOT NULL AND report->>'late' = 'true'),
               count(*) FILTER (WHERE report IS NULL AND due < (SELECT today FROM asked)),
               count(*) FILTER (WHERE report IS NULL AND due >= (SELECT today FROM asked))
          FROM progress
        UNION ALL
        SELECT 'appraisals',
               count(*) FILTER (WHERE concluded IS NOT NULL
                                  AND (due IS NULL OR concluded::date <= due)),
               count(*) FILTER (WHERE concluded IS NOT NULL AND concluded::date > due),
               count(*) FILTER (WHERE concluded IS NULL AND due < (SELECT today FROM asked)),
               count(*) FILTER (WHERE concluded IS NULL
                                  AND (due IS NULL OR due >= (SELECT today FROM asked)))
          FROM appraisals
        UNION ALL
        SELECT 'period_reports',
               count(*) FILTER (WHERE first_late = false),
               count(*) FILTER (WHERE first_late = true),
               count(*) FILTER (WHERE first_late IS NULL AND due_on < (SELECT today FROM asked)),
               count(*) FILTER (WHERE first_late IS NULL AND due_on >= (SELECT today FROM asked))
          FROM period_reports
    ) x WHERE EXISTS (SELECT 1 FROM allowed)
    $q$;
BEGIN
    RETURN QUERY EXECUTE public.thidua_report_members_for(q, p_unit, p_year, p_year)
        USING p_unit, p_year, p_as_of;
END $fn$;
