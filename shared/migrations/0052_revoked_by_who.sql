-- The revocations of a person's or a collective's awards, found by who: a decision on an award
-- that leans on others (a Bằng khen on two years of CSTĐCS) takes the review flags of those
-- already revoked (services/awards/projections.py, _flags_taken). Few rows: a small index,
-- where the index on (who, year) holds every award.
SET LOCAL search_path = public;

CREATE INDEX decision_recipients_revoked ON decision_recipients (who) WHERE revoked_on IS NOT NULL;
