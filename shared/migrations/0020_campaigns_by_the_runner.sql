-- Issue 13, point 6: the campaign read model is the projection runner's alone.
--
-- Up to this migration the campaign commands wrote their rows in their own transactions, so
-- every campaign event already in a log is in the live tables: the live version's checkpoints
-- start at each tenant's head (from 0, the runner would apply every event a second time).
-- From now on the commands only append, and thidua_app only reads these tables (row-level
-- security, its SELECT policies unchanged); thidua_projector writes them (0018).
SET LOCAL search_path = public;

INSERT INTO projection_versions (name, version, state)
SELECT 'campaigns', 1, 'live'
 WHERE NOT EXISTS (SELECT FROM projection_versions WHERE name = 'campaigns' AND state = 'live')
ON CONFLICT DO NOTHING;

INSERT INTO projection_checkpoints (name, version, tenant_id, last_seq)
SELECT v.name, v.version, h.tenant_id, h.seq
  FROM tenant_heads h, projection_versions v
 WHERE v.name = 'campaigns' AND v.state = 'live'
ON CONFLICT (name, version, tenant_id)
   DO UPDATE SET last_seq = greatest(projection_checkpoints.last_seq, EXCLUDED.last_seq),
                 updated_at = now();

-- thidua_app's write policies (whatever their names) and write grants on the campaign tables.
DO $$
DECLARE
    t text;
    p record;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'campaign_phases', 'campaign_indicators',
                             'campaign_registrations', 'campaign_progress', 'campaign_pledges',
                             'campaign_works', 'campaign_initiatives'] LOOP
        FOR p IN
            SELECT policyname FROM pg_policies
             WHERE schemaname = 'public' AND tablename = t AND cmd <> 'SELECT'
               AND 'thidua_app' = ANY (roles)
        LOOP
            EXECUTE format('DROP POLICY %I ON public.%I', p.policyname, t);
        END LOOP;
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.%I FROM thidua_app', t);
    END LOOP;
END $$;
