-- What of a proposal the levels above read: the nominees and documents placed in it before its
-- last submission (its place in the log, on the scale of a nominee's added_seq). They were
-- flagged row by row when it was sent, and a 10,000-nominee proposal's submission rewrote
-- 10,000 rows (0.1 s) only to flag them. Now the submission writes its place on the proposal,
-- and a row's own place says whether it came before: what is added during a correction is
-- still read by its unit alone until the proposal is sent again, as before.
SET LOCAL search_path = public;

ALTER TABLE proposals ADD COLUMN shared_before bigint;
ALTER TABLE proposal_documents ADD COLUMN attached_seq bigint;

-- The rows kept so far, as their flags said: those of a shared proposal's that were flagged
-- precede those that were not (a row is flagged at the first submission after it is placed).
UPDATE proposals p SET shared_before = coalesce(
        (SELECT min(n.added_seq) FROM proposal_nominees n
          WHERE n.tenant_id = p.tenant_id AND n.proposal_id = p.proposal_id AND NOT n.shared),
        (SELECT max(n.added_seq) + 1 FROM proposal_nominees n
          WHERE n.tenant_id = p.tenant_id AND n.proposal_id = p.proposal_id),
        1)
 WHERE p.shared;
UPDATE proposal_documents d
   SET attached_seq = CASE WHEN d.shared THEN 0
                           ELSE coalesce(p.shared_before, 0) END
  FROM proposals p
 WHERE p.tenant_id = d.tenant_id AND p.proposal_id = d.proposal_id;
ALTER TABLE proposal_documents ALTER COLUMN attached_seq SET NOT NULL;

DROP POLICY proposal_nominees_read ON proposal_nominees;
DROP POLICY proposal_documents_read ON proposal_documents;
CREATE POLICY proposal_nominees_read ON proposal_nominees FOR SELECT TO thidua_app USING (
    proposal_nominees.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR EXISTS (SELECT 1 FROM public.proposals p
                WHERE p.tenant_id = proposal_nominees.tenant_id
                  AND p.proposal_id = proposal_nominees.proposal_id
                  AND proposal_nominees.added_seq < p.shared_before));
CREATE POLICY proposal_documents_read ON proposal_documents FOR SELECT TO thidua_app USING (
    proposal_documents.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR EXISTS (SELECT 1 FROM public.proposals p
                WHERE p.tenant_id = proposal_documents.tenant_id
                  AND p.proposal_id = proposal_documents.proposal_id
                  AND proposal_documents.attached_seq < p.shared_before));

ALTER TABLE proposal_nominees DROP COLUMN shared;
ALTER TABLE proposal_documents DROP COLUMN shared;
