-- Issue 14, point 4: the rules that count across proposals and decisions (DOMAIN.md rules 2, 3,
-- 6 and 10).
--
-- decision_recipients.topic: a thematic award's topic, so rule 6's national cap (Bằng khen of
-- TLĐ, at most 300 per topic a year) counts the deciding unit's own register per topic; and
-- decided_level, the deciding unit's level, which rule 2 weighs and a proposer below may not
-- read from units (its reach there is its own subtree).
-- people.years: what rule 10 excludes on, per year ({"2021": {"absent_working_days": 12,
-- "disciplined": ["warning"]}}), written by the runner from PersonAbsenceSet and
-- PersonDisciplined; read as the people register is.
-- thidua_title_holders: how many people of a unit and the units below it hold a title for a
-- year (rule 3's quota of Chiến sĩ thi đua cơ sở among the holders of Lao động tiên tiến),
-- whoever decided it. A count, asked only by the unit itself or a unit above it: the decisions
-- it counts are published to the subtrees of the units that made them, not all to the asker.
SET LOCAL search_path = public;

ALTER TABLE decision_recipients ADD COLUMN topic text NOT NULL DEFAULT '',
                                ADD COLUMN decided_level text NOT NULL DEFAULT '';
UPDATE decision_recipients r SET decided_level = u.level FROM units u WHERE u.tenant_id = r.tenant_id;
CREATE INDEX decision_recipients_award_year ON decision_recipients (award, year)
    WHERE revoked_on IS NULL;
ALTER TABLE people ADD COLUMN years jsonb NOT NULL DEFAULT '{}';

CREATE FUNCTION thidua_title_holders(p_unit text, p_award text, p_year integer) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(DISTINCT r.person_id)::integer
      FROM public.decision_recipients r
      JOIN public.people p ON p.person_id::text = r.person_id
     WHERE r.award = p_award AND r.year = p_year AND r.revoked_on IS NULL
       AND (p.tenant_id = p_unit OR public.thidua_edge(p_unit, p.tenant_id, public.thidua_today()))
       AND (p_unit = current_setting('thidua.tenant', true)
            OR public.thidua_edge(current_setting('thidua.tenant', true), p_unit,
                                  public.thidua_today()))
$$;
REVOKE ALL ON FUNCTION thidua_title_holders(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_title_holders(text, text, integer) TO thidua_app;
