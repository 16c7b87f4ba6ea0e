-- Reporting (services/reporting): each unit's figures by year and by day, as the log held them at
-- every moment, and the roll-up of a subtree as the tree stood on each day.
--
-- report_year and report_day hold the same figures at two grains, each row one version of one
-- (unit, year or day, metric, dim): known_from is the recorded_at of the append that set it,
-- known_to that of the next one (infinity: still so). Time travel asks the rows known at a
-- moment; today's figures are the rows whose known_to is infinity. A roll-up reads a unit's year
-- rows when the unit stood below the asker the whole of the years asked (nearly every unit), and
-- its day rows only for the days it did (a unit moved or merged in those years).
--
-- report_items: each counted thing's day and figures now (services/reporting/figures.py), so a
-- withdrawal or a revocation takes back what it counted. report_people: the particulars the
-- figures count of a person (woman, direct worker), from their own events.
--
-- Only the projector writes these tables and the application reads none of them: it asks
-- thidua_report_figures, which answers for the caller's unit or a unit below it today.
SET LOCAL search_path = public;

CREATE TABLE report_year (
    unit_id    text        NOT NULL,
    year       integer     NOT NULL,
    metric     text        NOT NULL,
    dim        text        NOT NULL,
    known_from timestamptz NOT NULL,
    known_to   timestamptz NOT NULL DEFAULT 'infinity',
    value      bigint      NOT NULL,
    PRIMARY KEY (unit_id, year, metric, dim, known_from)
);
-- Today's rows are those known until infinity: a range on known_to finds them, and a moment's.
CREATE INDEX report_year_known ON report_year (unit_id, year, known_to)
    INCLUDE (known_from, metric, dim, value);

CREATE TABLE report_day (
    unit_id    text        NOT NULL,
    day        date        NOT NULL,
    metric     text        NOT NULL,
    dim        text        NOT NULL,
    known_from timestamptz NOT NULL,
    known_to   timestamptz NOT NULL DEFAULT 'infinity',
    value      bigint      NOT NULL,
    PRIMARY KEY (unit_id, day, metric, dim, known_from)
);
CREATE INDEX report_day_known ON report_day (unit_id, day, known_to)
    INCLUDE (known_from, metric, dim, value);

CREATE TABLE report_items (
    unit_id text  NOT NULL,
    item    text  NOT NULL,
    day     date,
    figures jsonb NOT NULL DEFAULT '[]',
    facts   jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (unit_id, item)
);

CREATE TABLE report_people (
    person_id     text    PRIMARY KEY,
    woman         boolean NOT NULL,
    direct_worker boolean NOT NULL
);

-- The good practices units present (mô hình mới, cách làm hay): published for every unit to
-- find and replicate, so every unit reads them; how many units replicated each.
CREATE TABLE good_practices (
    practice_id  uuid    PRIMARY KEY,
    unit_id      text    NOT NULL,
    name         text    NOT NULL,
    description  text    NOT NULL,
    presented_on date    NOT NULL,
    search_key   text    NOT NULL
);
CREATE INDEX good_practices_presented ON good_practices (presented_on DESC, practice_id);
-- Who replicated which practice: a row each, whichever log the runner reaches first.
CREATE TABLE good_practice_replications (
    practice_id uuid NOT NULL,
    unit_id     text NOT NULL,
    PRIMARY KEY (practice_id, unit_id)
);

-- A merge hands the merged unit's history to its survivor: found by their edges.
CREATE INDEX unit_parents_merged ON unit_parents (parent_id) WHERE kind = 'merged';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['report_year', 'report_day', 'report_items', 'report_people',
                             'good_practices', 'good_practice_replications'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON %1$I FOR ALL TO thidua_projector '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;

-- The reports of a period (seed 002's 5-year report): the requests of a level (due when), each
-- unit's report with its heading and status, and every version of each narrative section. A
-- unit reads its own; the units above it read a report once it was sent, and only the versions
-- sent; the units below a requesting level read its request (it is addressed to them).
CREATE TABLE report_requests (
    unit_id      text    NOT NULL,
    first_year   integer NOT NULL,
    last_year    integer NOT NULL,
    due_on       date    NOT NULL,
    note         text    NOT NULL,
    requested_on date    NOT NULL,
    request_id   uuid    NOT NULL UNIQUE,
    PRIMARY KEY (unit_id, first_year, last_year)
);

CREATE TABLE reports (
    unit_id           text        NOT NULL,
    report_id         uuid        NOT NULL,
    first_year        integer     NOT NULL,
    last_year         integer     NOT NULL,
    number            text        NOT NULL,
    place             text        NOT NULL,
    version           integer     NOT NULL,
    drafted_on        date        NOT NULL,
    submitted_version integer,
    sent_number       text,                      -- the heading as it was sent
    sent_place        text,
    first_sent_on     date,                      -- the first sending (a correction is later)
    first_late        boolean,
    submitted_on      date,
    submitted_at      timestamptz,               -- the moment its figures are read as of
    to_unit           text,
    due_on            date,
    late              boolean,
    PRIMARY KEY (report_id)
);
CREATE INDEX reports_by_unit ON reports (unit_id, first_year, last_year);
CREATE INDEX reports_sent_to ON reports (to_unit, first_year, last_year)
    WHERE submitted_version IS NOT NULL;

CREATE TABLE report_sections (
    unit_id    text        NOT NULL,
    report_id  uuid        NOT NULL,
    section    text        NOT NULL,
    version    integer     NOT NULL,
    text       text        NOT NULL,
    written_at timestamptz NOT NULL,
    sent       boolean     NOT NULL DEFAULT false,  -- the latest of its section at a submission
    PRIMARY KEY (report_id, section, version)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['report_requests', 'reports', 'report_sections'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT ON %I TO thidua_app', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON %1$I FOR ALL TO thidua_projector '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;

CREATE POLICY report_requests_read ON report_requests FOR SELECT TO thidua_app USING (
    report_requests.unit_id = (SELECT current_setting('thidua.tenant', true))
    OR EXISTS (SELECT 1 FROM public.unit_closure c
                WHERE c.ancestor = report_requests.unit_id
                  AND c.descendant = (SELECT current_setting('thidua.tenant', true))
                  AND c.valid_from <= public.thidua_today()
                  AND (c.valid_to IS NULL OR c.valid_to > public.thidua_today())));

-- What was sent is read by the unit it was sent to, and by the units above the sender today.
CREATE POLICY reports_read ON reports FOR SELECT TO thidua_app USING (
    reports.unit_id = (SELECT current_setting('thidua.tenant', true))
    OR (reports.submitted_version IS NOT NULL
        AND (SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
        AND (reports.to_unit = (SELECT current_setting('thidua.tenant', true))
             OR EXISTS (SELECT 1 FROM public.unit_closure c
                         WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                           AND c.descendant = reports.unit_id
                           AND c.valid_from <= public.thidua_today()
                           AND (c.valid_to IS NULL OR c.valid_to > public.thidua_today())))));

-- Of a report's sections, the units above read the versions that were sent (the latest of each
-- section at a submission), never a draft overwritten before it was sent.
CREATE POLICY report_sections_read ON report_sections FOR SELECT TO thidua_app USING (
    report_sections.unit_id = (SELECT current_setting('thidua.tenant', true))
    OR (report_sections.sent
        AND EXISTS (SELECT 1 FROM public.reports r WHERE r.report_id = report_sections.report_id)));

-- The figures of p_unit and every unit below it, years p_first..p_last, as the log held them at
-- p_as_of (NULL: now). A unit below counts for the days it stood below p_unit (unit_closure's
-- dated edges: a unit moved on 1 July counts under its old parent before that day and under the
-- new one from it); a merged unit's own history before its merge also counts under its survivor
-- (and the survivor's survivors), for the days the survivor stood below p_unit; p_unit's own
-- figures count whatever their day (before its registration too). Each unit's
-- figure is counted once, however many ways it stands below. Answers only the caller's own
-- unit, or, to a reader of its subtree, a unit below it today (or the unit a report was sent to,
-- as it was sent); otherwise no row at all.
CREATE FUNCTION thidua_report_figures(p_unit text, p_first integer, p_last integer,
                                      p_as_of timestamptz)
RETURNS TABLE (year integer, metric text, dim text, value numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE
    allowed AS (
        SELECT 1 WHERE p_unit = current_setting('thidua.tenant', true)
            OR (coalesce(current_setting('thidua.reach', true) IN ('subtree', 'audit'), false)
                AND EXISTS (SELECT 1 FROM public.unit_closure c
                             WHERE c.ancestor = current_setting('thidua.tenant', true)
                               AND c.descendant = p_unit
                               AND c.valid_from <= public.thidua_today()
                               AND (c.valid_to IS NULL OR c.valid_to > public.thidua_today())))
            -- the unit a report was sent to reads its figures as they were sent
            OR (p_as_of IS NOT NULL AND EXISTS (
                SELECT 1 FROM public.reports r
                 WHERE r.unit_id = p_unit AND r.to_unit = current_setting('thidua.tenant', true)
                   AND r.first_year = p_first AND r.last_year = p_last
                   AND r.submitted_at = p_as_of))),
    period AS (
        SELECT make_date(p_first, 1, 1) AS lo, make_date(p_last + 1, 1, 1) AS hi,
               daterange(make_date(p_first, 1, 1), make_date(p_last + 1, 1, 1)) AS days),
    -- the edges below p_unit that touch the period
    below AS MATERIALIZED (
        SELECT c.descendant AS unit, c.valid_from, c.valid_to FROM public.unit_closure c
         WHERE c.ancestor = p_unit AND c.descendant <> p_unit
           AND c.valid_from < make_date(p_last + 1, 1, 1)
           AND (c.valid_to IS NULL OR c.valid_to > make_date(p_first, 1, 1))
           AND EXISTS (SELECT 1 FROM allowed)),
    -- (merged unit, a survivor of it, the day its own history ends), survivors of survivors too
    heirs (unit, survivor, until) AS (
        SELECT m.tenant_id, m.parent_id, m.valid_from FROM public.unit_parents m
         WHERE m.kind = 'merged' AND m.valid_from > make_date(p_first, 1, 1)
           AND (m.parent_id = p_unit OR m.parent_id IN (SELECT unit FROM below))
        UNION
        SELECT m.tenant_id, h.survivor, m.valid_from FROM heirs h
          JOIN public.unit_parents m ON m.kind = 'merged' AND m.parent_id = h.unit
         WHERE m.valid_from > make_date(p_first, 1, 1)),
    -- p_unit itself (its own figures, whatever their day), and each unit below it by one edge
    -- the whole period through and not the heir of anything (nearly every unit): its year rows
    whole AS (
        SELECT p_unit AS unit WHERE EXISTS (SELECT 1 FROM allowed)
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
          FROM spans s GROUP BY s.unit),
    by_year AS (
        SELECT unit FROM whole
        UNION ALL
        SELECT unit FROM cover WHERE days @> (SELECT days FROM period)),
    by_day AS (
        SELECT unit, days FROM cover
         WHERE NOT days @> (SELECT days FROM period) AND NOT isempty(days)),
    -- a large subtree (a province of provinces, the whole union) reads the period's rows of
    -- every unit once and matches them in memory: looked up unit by unit, 130,755 units were
    -- 1.1 s of index probes
    many AS (SELECT count(*) > coalesce(nullif(current_setting('thidua.report_many_units', true),
                                                '')::integer, 20000) AS yes FROM below),
    known_now AS MATERIALIZED (
        SELECT y.unit_id, y.year, y.metric, y.dim, y.value FROM public.report_year y
         WHERE y.known_to = 'infinity' AND y.year BETWEEN p_first AND p_last),
    counted AS (
        SELECT k.year, k.metric, k.dim, k.value
          FROM known_now k JOIN by_year u ON u.unit = k.unit_id
         WHERE p_as_of IS NULL AND (SELECT yes FROM many)
        UNION ALL
        -- now: the rows known until infinity (their own index); a moment: the rows known then
        SELECT y.year, y.metric, y.dim, y.value FROM public.report_year y
         WHERE p_as_of IS NULL AND NOT (SELECT yes FROM many)
           AND y.known_to = 'infinity' AND y.year BETWEEN p_first AND p_last
           AND y.unit_id IN (SELECT unit FROM by_year)
        UNION ALL
        SELECT y.year, y.metric, y.dim, y.value FROM public.report_year y
         WHERE p_as_of IS NOT NULL AND y.year BETWEEN p_first AND p_last
           AND y.known_to > p_as_of AND y.known_from <= p_as_of
           AND y.unit_id IN (SELECT unit FROM by_year)
        UNION ALL
        SELECT extract(year FROM d.day)::integer, d.metric, d.dim, d.value
          FROM by_day p JOIN public.report_day d ON d.unit_id = p.unit
         WHERE d.day >= make_date(p_first, 1, 1) AND d.day < make_date(p_last + 1, 1, 1)
           AND p.days @> d.day
           AND d.known_to > coalesce(p_as_of, '9999-12-31'::timestamptz)
           AND d.known_from <= coalesce(p_as_of, '9999-12-31'::timestamptz))
    SELECT year, metric, dim, sum(value) FROM counted GROUP BY year, metric, dim
    -- and a row of nulls when the caller may read p_unit's summary at all (none: it may not),
    -- so a summary of zeros and one out of reach differ without asking twice
    UNION ALL
    SELECT NULL, NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM allowed)
$$;
REVOKE ALL ON FUNCTION thidua_report_figures(text, integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_figures(text, integer, integer, timestamptz)
    TO thidua_app;

GRANT SELECT ON good_practices, good_practice_replications TO thidua_app;
CREATE POLICY good_practices_read ON good_practices FOR SELECT TO thidua_app USING (true);
CREATE POLICY good_practice_replications_read ON good_practice_replications FOR SELECT
    TO thidua_app USING (true);

-- p_unit and each unit below it on the last day of p_last that has passed (today, in the year
-- under way), with its level and its own figures of p_first..p_last for p_metrics (summed over
-- their dims and years), as the log held them at p_as_of (NULL: now): what a share of units
-- counts (seed 000: the share of grassroots unions that launched the campaigns directed from
-- above) and what ranks the typical collectives of a period. A unit with none of them has one
-- row with a NULL metric. The same reach as thidua_report_figures.
CREATE FUNCTION thidua_report_units(p_unit text, p_first integer, p_last integer,
                                    p_metrics text[], p_as_of timestamptz)
RETURNS TABLE (unit text, level text, metric text, value numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH allowed AS (
        SELECT 1 WHERE p_unit = current_setting('thidua.tenant', true)
            OR (coalesce(current_setting('thidua.reach', true) IN ('subtree', 'audit'), false)
                AND EXISTS (SELECT 1 FROM public.unit_closure c
                             WHERE c.ancestor = current_setting('thidua.tenant', true)
                               AND c.descendant = p_unit
                               AND c.valid_from <= public.thidua_today()
                               AND (c.valid_to IS NULL OR c.valid_to > public.thidua_today())))),
    asked AS (
        SELECT least(make_date(p_last, 12, 31), public.thidua_today()) AS day,
               coalesce(p_as_of, '9999-12-31'::timestamptz) AS at),
    below AS (
        SELECT DISTINCT c.descendant AS unit FROM public.unit_closure c, asked a
         WHERE c.ancestor = p_unit AND c.valid_from <= a.day
           AND (c.valid_to IS NULL OR c.valid_to > a.day) AND EXISTS (SELECT 1 FROM allowed))
    -- a merged or dissolved unit is no longer one of the units counted
    SELECT b.unit, u.level, y.metric, sum(y.value)
      FROM below b JOIN public.units u ON u.tenant_id = b.unit
           AND (u.ended_on IS NULL OR u.ended_on > (SELECT day FROM asked))
      LEFT JOIN public.report_year y ON y.unit_id = b.unit AND y.year BETWEEN p_first AND p_last
           AND y.metric = ANY (p_metrics) AND y.value <> 0
           AND y.known_to > (SELECT at FROM asked) AND y.known_from <= (SELECT at FROM asked)
     GROUP BY b.unit, u.level, y.metric
$$;
REVOKE ALL ON FUNCTION thidua_report_units(text, integer, integer, text[], timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_units(text, integer, integer, text[], timestamptz)
    TO thidua_app;

-- Deadline compliance of p_unit and the units below it (as the tree stood on each thing's day),
-- for the year p_year: registrations with the campaigns launched that year (expected from the
-- units directly below the launching unit on the day they were due), the reports of those
-- campaigns' phases (due report_days after each phase's end), the appraisals of proposals
-- opened that year (due by the proposal's day for its round, the awards' working-day
-- calendar), and the period reports asked for with a due day that year. Each: on time, late,
-- missing (its day has passed), pending (not yet due). The same reach as thidua_report_figures.
CREATE INDEX report_items_campaign ON report_items ((facts->>'campaign'))
    WHERE facts ? 'campaign';
CREATE INDEX report_items_proposal ON report_items ((facts->>'proposal'))
    WHERE facts ? 'proposal';

CREATE FUNCTION thidua_report_compliance(p_unit text, p_year integer)
RETURNS TABLE (kind text, on_time bigint, late bigint, missing bigint, pending bigint)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH allowed AS (
        SELECT 1 WHERE p_unit = current_setting('thidua.tenant', true)
            OR (coalesce(current_setting('thidua.reach', true) IN ('subtree', 'audit'), false)
                AND EXISTS (SELECT 1 FROM public.unit_closure c
                             WHERE c.ancestor = current_setting('thidua.tenant', true)
                               AND c.descendant = p_unit
                               AND c.valid_from <= public.thidua_today()
                               AND (c.valid_to IS NULL OR c.valid_to > public.thidua_today())))),
    below AS (
        SELECT c.descendant AS unit, c.valid_from, c.valid_to FROM public.unit_closure c
         WHERE c.ancestor = p_unit AND EXISTS (SELECT 1 FROM allowed)),
    campaigns AS (
        SELECT i.unit_id, substr(i.item, 10) AS campaign, i.facts
          FROM below b JOIN public.report_items i ON i.unit_id = b.unit
         WHERE i.item LIKE 'campaign:%' AND i.day IS NOT NULL
           AND extract(year FROM i.day) = p_year
           AND b.valid_from <= i.day AND (b.valid_to IS NULL OR b.valid_to > i.day)),
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
           AND b.valid_from <= a.day AND (b.valid_to IS NULL OR b.valid_to > a.day)),
    requests AS (
        SELECT q.unit_id, q.due_on, q.first_year, q.last_year
          FROM below b JOIN public.report_requests q ON q.unit_id = b.unit
         WHERE extract(year FROM q.due_on) = p_year
           AND b.valid_from <= q.due_on AND (b.valid_to IS NULL OR b.valid_to > q.due_on)),
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
GRANT EXECUTE ON FUNCTION thidua_report_compliance(text, integer) TO thidua_app;

-- The typical individuals of a period (seed 002's 5-year report): the authors of the initiatives
-- recognised in p_unit's subtree (as it stood on each recognition's day) in those years and
-- standing, each with how many, their benefit and where applied, the largest benefit first.
-- Only their ids: the names are read by the caller under its own reach. The same reach as
-- thidua_report_figures.
CREATE FUNCTION thidua_report_exemplars(p_unit text, p_first integer, p_last integer,
                                        p_limit integer)
RETURNS TABLE (person_id text, initiatives bigint, benefit numeric, applied_at text[])
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH allowed AS (
        SELECT 1 WHERE p_unit = current_setting('thidua.tenant', true)
            OR (coalesce(current_setting('thidua.reach', true) IN ('subtree', 'audit'), false)
                AND EXISTS (SELECT 1 FROM public.unit_closure c
                             WHERE c.ancestor = current_setting('thidua.tenant', true)
                               AND c.descendant = p_unit
                               AND c.valid_from <= public.thidua_today()
                               AND (c.valid_to IS NULL OR c.valid_to > public.thidua_today())))),
    recognised AS (
        SELECT i.facts
          FROM public.unit_closure c JOIN public.report_items i ON i.unit_id = c.descendant
         WHERE c.ancestor = p_unit AND EXISTS (SELECT 1 FROM allowed)
           AND i.item LIKE 'initiative:%' AND i.figures <> '[]' AND i.facts ? 'authors'
           AND i.day >= make_date(p_first, 1, 1) AND i.day < make_date(p_last + 1, 1, 1)
           AND c.valid_from <= i.day AND (c.valid_to IS NULL OR c.valid_to > i.day)),
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
REVOKE ALL ON FUNCTION thidua_report_exemplars(text, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_exemplars(text, integer, integer, integer)
    TO thidua_app;
