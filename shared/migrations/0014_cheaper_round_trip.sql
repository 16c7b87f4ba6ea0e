-- Issue 12, finding 6: the round-trip check of 0009, for less. An append still stores a payload
-- only if it is exactly the canonical text of what is stored (SQLSTATE TD005); what changed is
-- how that text is made, measured by tests/perf/bench_append_check.py.
--
-- A number was proven canonical by a regular expression over its text and a cast to numeric,
-- at every number: a fifth of the check. Now it is written as the bigint it rounds to, when it
-- is within 64 bits. The text made is then free of fractions and exponents, so a payload that
-- spells a number any other way (1.0, 1e0, -0, 1.5) can never equal it, and one beyond 64 bits
-- makes no text at all: the same refusals as 0009's, from a cast instead of a pattern. Keys are
-- escaped by to_json, which writes a string as jsonb does without building a jsonb first.
--
-- The names, signatures, rights and callers are those of 0009; the append functions are not
-- touched. Other ways were measured and dropped (see the bench's docstring).
SET LOCAL search_path = public;

CREATE OR REPLACE FUNCTION public.thidua_canonical(p_value jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_text text;
BEGIN
    IF jsonb_typeof(p_value) = 'object' THEN
        SELECT '{' || coalesce(string_agg(to_json(e.key)::text || ':'
                                          || public.thidua_canonical_value(e.value),
                                          ',' ORDER BY e.key COLLATE "C"), '') || '}'
          INTO v_text
          FROM jsonb_each(p_value) AS e;
    ELSIF jsonb_typeof(p_value) = 'array' THEN
        SELECT '[' || coalesce(string_agg(public.thidua_canonical_value(a.value), ','
                                          ORDER BY a.n), '') || ']'
          INTO v_text
          FROM jsonb_array_elements(p_value) WITH ORDINALITY AS a(value, n);
    END IF;
    RETURN v_text;
END $$;

-- Of any value. Plain SQL without settings, as in 0009, so that the planner writes it into its
-- callers' statements (they run with the search path above; a setting here would stop that and
-- cost more than the whole check). Strings first: they are most of an event's values.
CREATE OR REPLACE FUNCTION public.thidua_canonical_value(p_value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE jsonb_typeof(p_value)
               WHEN 'string' THEN p_value::text
               WHEN 'number' THEN CASE
                   WHEN p_value::numeric BETWEEN -9223372036854775808 AND 9223372036854775807
                   THEN p_value::bigint::text END
               WHEN 'object' THEN public.thidua_canonical(p_value)
               WHEN 'array' THEN public.thidua_canonical(p_value)
               ELSE p_value::text
           END
$$;

-- Of whole events, an append's in one statement, as in 0009 (its plan made once).
CREATE OR REPLACE FUNCTION public.thidua_canonical_events(p_docs jsonb[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_texts text[];
BEGIN
    SELECT array_agg(
               '{"data":' || (SELECT '{' || coalesce(string_agg(
                                  to_json(e.key)::text || ':'
                                  || public.thidua_canonical_value(e.value),
                                  ',' ORDER BY e.key COLLATE "C"), '') || '}'
                                FROM jsonb_each(CASE WHEN jsonb_typeof(u.doc->'data') = 'object'
                                                     THEN u.doc->'data' END) AS e)
               || ',"event_type":' || (u.doc->'event_type')::text
               || ',"meta":' || (SELECT '{' || coalesce(string_agg(
                                  to_json(m.key)::text || ':'
                                  || public.thidua_canonical_value(m.value),
                                  ',' ORDER BY m.key COLLATE "C"), '') || '}'
                                FROM jsonb_each(CASE WHEN jsonb_typeof(u.doc->'meta') = 'object'
                                                     THEN u.doc->'meta' END) AS m)
               || ',"schema_version":' || public.thidua_canonical_value(u.doc->'schema_version')
               || ',"stream_id":' || (u.doc->'stream_id')::text
               || ',"stream_version":' || public.thidua_canonical_value(u.doc->'stream_version')
               || ',"tenant_id":' || (u.doc->'tenant_id')::text || '}'
               ORDER BY u.i)
      INTO v_texts
      FROM unnest(p_docs) WITH ORDINALITY AS u(doc, i);
    RETURN v_texts;
END $$;
