-- Issue 14, point 13: a recipient's award revoked (hủy bỏ) on one of the four legal grounds, with
-- what was recovered; and the later awards that leaned on it, flagged for review.
SET LOCAL search_path = public;

ALTER TABLE decision_recipients ADD COLUMN revoked_on date,
                                ADD COLUMN revoke_ground text,
                                ADD COLUMN revoke_reason text,
                                ADD COLUMN recovered_cash_vnd bigint,
                                ADD COLUMN recovered_items jsonb,
                                ADD COLUMN review jsonb NOT NULL DEFAULT '[]';  -- why to look again
CREATE INDEX decision_recipients_who ON decision_recipients (who, year);
