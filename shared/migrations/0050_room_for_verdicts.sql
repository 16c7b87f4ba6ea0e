-- Room on a nominee's page for its verdict's version of the row. A submission no longer updates
-- a nominee (0047), but a nominee's row is wide (its basis, its findings, its summary): at 70%
-- full, a page had room for the next version of two rows in five, so three in five of a
-- 10,000-nominee appraisal's verdicts moved their row and added an entry to each of its
-- three indexes (about 120-160 ms of appraiseNominees' wait for its projection). At 45%, each
-- row's next version fits beside it. New pages only, as 0041.
SET LOCAL search_path = public;

ALTER TABLE proposal_nominees SET (fillfactor = 45);
