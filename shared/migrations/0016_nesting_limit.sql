-- An event's payload nests at most about 64 levels (an attacker's review, after issue 12's
-- finding 6). The round-trip check rebuilt a payload nested 256 deep and took it; Python's
-- canonical writer (orjson) stops near 255 levels, so `thidua verify` could never write that
-- event back and ended in a traceback. A container whose own value reaches 62 levels below it
-- (it stands at least two below the event: the event, then data or meta) has no canonical text,
-- so its event is refused with TD005 like any payload that does not read back. The path test
-- runs only for nested containers, which most events have few of. Otherwise as 0014.
SET LOCAL search_path = public;

CREATE OR REPLACE FUNCTION public.thidua_canonical(p_value jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_text text;
BEGIN
    IF jsonb_path_exists(p_value, 'strict $.**{62}') THEN
        RETURN NULL;
    END IF;
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
