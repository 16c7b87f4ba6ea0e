SET LOCAL search_path = public;

-- A snapshot is only a shortcut through its stream, so loading checks it against the log: its
-- digest covers the hash of the event it was taken at, its aggregate's name and its state
-- (shared/aggregates.py, snapshot_digest). One that does not match is ignored and the stream
-- replayed. Snapshots taken before carry no digest: they are dropped here (the next save past
-- a snapshot point takes a new one), rather than each counted as a mismatch on its first load.
DELETE FROM snapshots;
ALTER TABLE snapshots ADD COLUMN digest bytea NOT NULL;
