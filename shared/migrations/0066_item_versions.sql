-- The typical individuals and collectives of a period (thidua_report_exemplars, and the prizes of
-- exemplaryUnits) and the deadline compliance of a year (thidua_report_compliance) as the log
-- held them at a moment, as every figure already is (0058, 0061). They are read from items, not
-- from changes: an initiative's authors, benefit and places, whether an award stood, a
-- campaign's deadlines, a registration, a phase review or an appraisal and when it was due.
-- report_items holds each item as it is now; report_item_versions holds every state those
-- kinds of items had, each from the moment the log held it (the known_at of its changes), so a
-- moment's is the latest known by then. Pledges, works and the records are not versioned: no
-- read needs their past but their figures, and they are most of the items.
SET LOCAL search_path = public;

-- No runner of the code before this migration writes an item between the copy below and the
-- commit (it would be a state with no version).
LOCK TABLE report_items IN SHARE MODE;

-- A rebuild of reporting begun before: its tables are 0065's, without what follows. Begun anew
-- by the next `thidua reports rebuild`.
DELETE FROM projection_versions WHERE name = 'reporting' AND state = 'building';
DROP SCHEMA IF EXISTS thidua_next_reporting CASCADE;

CREATE TABLE report_item_versions (
    unit_id  text        NOT NULL,
    item     text        NOT NULL,
    known_at timestamptz NOT NULL,
    day      date,
    figures  jsonb       NOT NULL DEFAULT '[]',
    facts    jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (unit_id, item, known_at)
);
ALTER TABLE report_item_versions ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON report_item_versions TO thidua_projector;
CREATE POLICY report_item_versions_projector ON report_item_versions FOR ALL
    TO thidua_projector USING (true) WITH CHECK (true);
-- An award's states, to whoever reads its recipient in the awards' register (that table's own
-- reach, by its policies): whether it stood at a moment. Nothing else is the application's.
GRANT SELECT ON report_item_versions TO thidua_app;
CREATE POLICY report_item_versions_awards_read ON report_item_versions FOR SELECT
    TO thidua_app USING (
    report_item_versions.item LIKE 'award:%' AND EXISTS (
        SELECT 1 FROM public.decision_recipients r
         WHERE r.tenant_id = report_item_versions.unit_id
           AND r.decision_id = CASE WHEN report_item_versions.item LIKE 'award:%'
                                    THEN split_part(report_item_versions.item, ':', 2)::uuid END
           AND r.item_id = substr(report_item_versions.item, 44)));

-- What the items are now, from when they were. An item from before 0058 (no moment) has been
-- known since always, as its changes are. Their states before are not in any table: an asOf
-- before this migration is refused until `thidua reports rebuild` writes them from the log
-- (report_versions_since: the moment from which the versions are whole; none: always; a
-- rebuild's new tables hold none).
INSERT INTO report_item_versions (unit_id, item, known_at, day, figures, facts)
SELECT unit_id, item, coalesce(known_at, '-infinity'), day, figures, facts FROM report_items
 WHERE split_part(item, ':', 1) IN ('initiative', 'award', 'campaign', 'registration', 'review',
                                    'appraisal', 'proposal');
-- a campaign's registrations, found by it
CREATE INDEX report_item_versions_campaign ON report_item_versions ((facts->>'campaign'))
    WHERE facts ? 'campaign';
ANALYZE report_item_versions;

CREATE TABLE report_versions_since (since timestamptz NOT NULL);
GRANT SELECT ON report_versions_since TO thidua_app;
INSERT INTO report_versions_since SELECT now() WHERE EXISTS (SELECT 1 FROM report_items);

-- A period report's request as the log held it: each due day it was given, with the moment it
-- was (the first: when it was asked; asked again: a new day); a report's first sending's moment.
-- From the log for the rows there, each by its own stream (events_stream_version_key).
ALTER TABLE report_requests ADD COLUMN dues jsonb NOT NULL DEFAULT '[]';
UPDATE report_requests q SET dues = coalesce(
    (SELECT jsonb_agg(jsonb_build_object('at', e.recorded_at,
                                         'due', coalesce(e.data->'due_on'->>'_data_',
                                                         e.data->>'due_on'))
                      ORDER BY e.stream_version)
       FROM events e
      WHERE e.tenant_id = q.unit_id AND e.stream_id = q.request_id
        AND e.event_type IN ('ReportsRequested', 'ReportsRequestedAgain')),
    jsonb_build_array(jsonb_build_object('at', '-infinity'::timestamptz, 'due', q.due_on)));
ALTER TABLE reports ADD COLUMN first_sent_at timestamptz;
UPDATE reports r SET first_sent_at = coalesce(
    (SELECT min(e.recorded_at) FROM events e
      WHERE e.tenant_id = r.unit_id AND e.stream_id = r.report_id
        AND e.event_type = 'ReportSubmitted'),
    '-infinity')
 WHERE r.first_sent_on IS NOT NULL;

DROP FUNCTION thidua_report_exemplars(text, integer, integer, integer);

-- 0058's, as the log held it at p_as_of (NULL: now, from report_items as before): each initiative
-- as it was known then, over the tree as known then (thidua_report_members with p_known), with
-- the same reach as thidua_report_figures at that moment (a report's addressee reads it as sent).
CREATE FUNCTION thidua_report_exemplars(p_unit text, p_first integer, p_last integer,
                                        p_limit integer, p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (person_id text, initiatives bigint, benefit numeric, applied_at text[])
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH allowed AS (
        SELECT 1 WHERE public.thidua_report_allowed(p_unit, p_first, p_last, p_as_of)),
    members AS MATERIALIZED (
        SELECT m.unit, m.whole, m.days
          FROM public.thidua_report_members(p_unit, p_first, p_last, NULL, p_as_of) m
         WHERE EXISTS (SELECT 1 FROM allowed)),
    known AS (
        SELECT i.unit_id, i.day, i.figures, i.facts
          FROM members m JOIN public.report_items i ON i.unit_id = m.unit
         WHERE p_as_of IS NULL AND i.item LIKE 'initiative:%'
        UNION ALL
        SELECT * FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.unit_id, v.day, v.figures, v.facts
              FROM members m JOIN public.report_item_versions v ON v.unit_id = m.unit
             WHERE p_as_of IS NOT NULL AND v.item LIKE 'initiative:%' AND v.known_at <= p_as_of
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    recognised AS (
        SELECT k.facts FROM known k JOIN members m ON m.unit = k.unit_id
         WHERE k.figures <> '[]' AND k.facts ? 'authors'
           AND k.day >= make_date(p_first, 1, 1) AND k.day < make_date(p_last + 1, 1, 1)
           AND (m.whole OR m.days @> k.day)),
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
REVOKE ALL ON FUNCTION thidua_report_exemplars(text, integer, integer, integer, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_exemplars(text, integer, integer, integer, timestamptz)
    TO thidua_app;

DROP FUNCTION thidua_report_compliance(text, integer);

-- 0059's, as the log held it at p_as_of (NULL: now, from report_items as before): the members
-- over the tree as known then, each campaign, registration, phase review, appraisal and proposal
-- as known then, the requests asked by then with their due day then and the reports first sent
-- by then; missing and pending by the moment's day in Vietnam (today's, for a moment to come).
CREATE FUNCTION thidua_report_compliance(p_unit text, p_year integer,
                                         p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (kind text, on_time bigint, late bigint, missing bigint, pending bigint)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH allowed AS (
        SELECT 1 WHERE public.thidua_report_allowed(p_unit, p_year, p_year, p_as_of)),
    asked AS (
        SELECT least(((p_as_of AT TIME ZONE 'UTC') + interval '7 hours')::date,
                     public.thidua_today()) AS today),
    below AS MATERIALIZED (
        SELECT m.unit, m.whole, m.days
          FROM public.thidua_report_members(p_unit, p_year, p_year, NULL, p_as_of) m
         WHERE EXISTS (SELECT 1 FROM allowed)),
    items AS MATERIALIZED (
        SELECT i.unit_id, i.item, i.day, i.facts
          FROM below b JOIN public.report_items i ON i.unit_id = b.unit
         WHERE p_as_of IS NULL AND split_part(i.item, ':', 1) IN ('campaign', 'review', 'appraisal')
        UNION ALL
        SELECT * FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.unit_id, v.item, v.day, v.facts
              FROM below b JOIN public.report_item_versions v ON v.unit_id = b.unit
             WHERE p_as_of IS NOT NULL
               AND split_part(v.item, ':', 1) IN ('campaign', 'review', 'appraisal')
               AND v.known_at <= p_as_of
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    campaigns AS (
        SELECT i.unit_id, substr(i.item, 10) AS campaign, i.facts
          FROM items i JOIN below b ON b.unit = i.unit_id
         WHERE i.item LIKE 'campaign:%' AND i.day IS NOT NULL
           AND extract(year FROM i.day) = p_year
           AND (b.whole OR b.days @> i.day)),
    registered AS (
        SELECT r.facts->>'campaign' AS campaign, r.figures, r.facts
          FROM campaigns c JOIN public.report_items r
               ON r.facts->>'campaign' = replace(c.campaign, '-', '') AND r.facts ? 'campaign'
         WHERE p_as_of IS NULL AND r.item LIKE 'registration:%'
        UNION ALL
        SELECT v.campaign, v.figures, v.facts FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.facts->>'campaign' AS campaign, v.figures,
                   v.facts
              FROM campaigns c JOIN public.report_item_versions v
                   ON v.facts->>'campaign' = replace(c.campaign, '-', '') AND v.facts ? 'campaign'
             WHERE p_as_of IS NOT NULL AND v.item LIKE 'registration:%' AND v.known_at <= p_as_of
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    registrations AS (
        SELECT (SELECT count(*) FROM public.thidua_tree_closure(p_as_of) k
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
    appraisals AS (
        SELECT a.facts->>'concluded' AS concluded,
               (pr.facts->'dues'->>split_part(a.item, ':', 3))::date AS due
          FROM items a JOIN below b ON b.unit = a.unit_id
          LEFT JOIN LATERAL (
              SELECT i.facts FROM public.report_items i
               WHERE p_as_of IS NULL AND i.unit_id = a.facts->>'proposer'
                 AND i.item = 'proposal:' || (a.facts->>'proposal')::uuid::text
              UNION ALL
              SELECT * FROM (
                  SELECT v.facts FROM public.report_item_versions v
                   WHERE p_as_of IS NOT NULL AND v.unit_id = a.facts->>'proposer'
                     AND v.item = 'proposal:' || (a.facts->>'proposal')::uuid::text
                     AND v.known_at <= p_as_of
                   ORDER BY v.known_at DESC LIMIT 1) v) pr ON true
         WHERE a.item LIKE 'appraisal:%' AND a.day IS NOT NULL
           AND extract(year FROM a.day) = p_year
           AND (b.whole OR b.days @> a.day)),
    requested AS (
        SELECT q.unit_id, q.first_year, q.last_year, b.whole, b.days,
               CASE WHEN p_as_of IS NULL THEN q.due_on
                    ELSE (SELECT (d->>'due')::date FROM jsonb_array_elements(q.dues) d
                           WHERE (d->>'at')::timestamptz <= p_as_of
                           ORDER BY (d->>'at')::timestamptz DESC LIMIT 1) END AS due_on
          FROM below b JOIN public.report_requests q ON q.unit_id = b.unit),
    -- a request not yet asked at the moment has no due day then
    requests AS (
        SELECT q.unit_id, q.due_on, q.first_year, q.last_year FROM requested q
         WHERE extract(year FROM q.due_on) = p_year AND (q.whole OR q.days @> q.due_on)),
    period_reports AS (
        SELECT q.due_on, r.first_late
          FROM requests q
          JOIN public.thidua_tree_closure(p_as_of) k ON k.ancestor = q.unit_id AND k.depth = 1
               AND k.valid_from <= q.due_on AND (k.valid_to IS NULL OR k.valid_to > q.due_on)
          LEFT JOIN public.reports r ON r.unit_id = k.descendant AND r.to_unit = q.unit_id
               AND r.first_year = q.first_year AND r.last_year = q.last_year
               AND CASE WHEN p_as_of IS NULL THEN r.first_sent_on IS NOT NULL
                        ELSE r.first_sent_at <= p_as_of END)
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
$$;
REVOKE ALL ON FUNCTION thidua_report_compliance(text, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_compliance(text, integer, timestamptz) TO thidua_app;
