-- Issue 14, point 2: names in pledges and initiative authors are personal data, sealed in their
-- events with the key of the person they name (shared/personal.py, services/awards/named.py).
-- The campaigns' projection opens them with the key and keeps which key, so that erasing the
-- person (PersonErased, which it reads too) blanks the name here: a pledge's name '', an
-- author's place in the list null. Names written before this stay plain: no key, never blanked.
SET LOCAL search_path = public;

-- An erased person's pledge keeps name '' (a name is never empty otherwise): the pages' order
-- and cursors stay on a NOT NULL column; GraphQL shows it as null.
ALTER TABLE campaign_pledges
    ADD COLUMN person_id uuid,    -- the awards' person the name belongs to (its key: key_id)
    ADD COLUMN key_id uuid;
CREATE INDEX campaign_pledges_key ON campaign_pledges (key_id) WHERE key_id IS NOT NULL;
-- Rule 10's "not registered" (services/awards/rules.py): the titles a person pledged in a year.
CREATE INDEX campaign_pledges_person ON campaign_pledges (person_id, registered_on)
    WHERE person_id IS NOT NULL;

-- author_keys[i] is the key of authors[i]; NULL for a name written in plain text.
ALTER TABLE campaign_initiatives ADD COLUMN author_keys uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX campaign_initiatives_author_keys ON campaign_initiatives USING gin (author_keys);

-- The projection reads a key FOR SHARE while it writes what the key opened, so that an
-- erasure's DELETE of that key waits for it (PostgreSQL asks UPDATE rights of a locking read).
GRANT UPDATE (created_at) ON person_keys TO thidua_projector;

-- A person nominee's achievement summary is about them: sealed with their key in NomineeAdded
-- and NomineesAdded (v2), opened by the awards' projection, blanked ('') by their erasure.
-- summary_sealed is kept as the event holds it, so that a level forwarding the nominee upward
-- carries it over sealed as it is, reading no key.
ALTER TABLE proposal_nominees ADD COLUMN summary_key uuid,
    ADD COLUMN summary_sealed text NOT NULL DEFAULT '';
CREATE INDEX proposal_nominees_summary_key ON proposal_nominees (summary_key)
    WHERE summary_key IS NOT NULL;

-- A unit above seals a nominee's summary (proposing a person of a unit below) with that person's
-- key: a key is readable by whoever reads, in the register, the row of the unit that owns the key
-- (people's own policy, the dated reach of 0025), besides that unit itself. It opens nothing the
-- reader does not already read there. The rows a person left behind in other units (transferred)
-- do not count: their key belongs to the unit they went to.
CREATE INDEX people_by_key ON people (key_id);
-- Another unit's keys only: the unit's own (the common case, a bulk pledge reads thousands) pass
-- person_keys_read, and the cheap test first spares them the lookup.
CREATE POLICY person_keys_read_below ON person_keys FOR SELECT TO thidua_app
    USING (tenant_id <> (SELECT current_setting('thidua.tenant', true))
           AND EXISTS (SELECT 1 FROM public.people p WHERE p.key_id = person_keys.key_id
                         AND p.tenant_id = person_keys.tenant_id));
