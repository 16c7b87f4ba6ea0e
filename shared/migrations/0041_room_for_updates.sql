-- Room on each page for the rows' next versions. A council item is written once and updated
-- up to five times (each member's vote, the results, the decision or forwarding), a nominee
-- twice or more (submission, the verdicts of each round), and none of the columns updated is
-- indexed: with room on its page an update stays there (a heap-only tuple) instead of moving
-- the row to another page and adding an entry to its primary key. With the pages packed full
-- (the default), a 10,000-nominee proposal's council spent about 1 s of PostgreSQL in these
-- updates (tests/perf/bench_awards.py, AWARDS_SLOW_MS). New pages only: the rows there now
-- keep their pages until rewritten.
SET LOCAL search_path = public;

ALTER TABLE council_items SET (fillfactor = 50);
ALTER TABLE proposal_nominees SET (fillfactor = 70);
