-- Issue 14's benchmark: a proposal of 10,000 nominees, a province's register of 10,000
-- decisions. A recipient's or a nominee's person is joined by its id alone (the key of people
-- is the unit's, then the person's: a join on person_id alone scanned the table per row).
SET LOCAL search_path = public;

CREATE INDEX people_person ON people (person_id);
