-- A person's and a unit's award history read the register by who (person:<id>, unit:<id>),
-- the index revocation already keeps (0032), not by two indexes of their own: each of the
-- register's indexes is written for every recipient, and a decision of 10,000 recipients
-- wrote six.
SET LOCAL search_path = public;

DROP INDEX decision_recipients_person;
DROP INDEX decision_recipients_unit;
