-- The relay looks for records committed but never published (a worker died in between) every watchdog pass.
-- Without an index that was a scan of the whole outbox, which only grows: ~2 ms at a few thousand rows, and
-- every 2 s on a database shared with intake. Only unpublished rows are in this index, a handful at any time.
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
