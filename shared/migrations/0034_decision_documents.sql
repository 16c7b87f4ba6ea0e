-- Issue 14, point 15: the deciding unit's name, as its decision carries it (a certificate prints
-- it for readers who may not read that unit's row).
SET LOCAL search_path = public;
ALTER TABLE decisions ADD COLUMN unit_name text NOT NULL DEFAULT '';
