-- Deciding in a region starts with its lock and then a read of the region: its rules, its state version
-- (for the worker's region cache) and whether any claim besides those just stored waits there (if none,
-- the waiting claims are not read). As one call: a round trip fewer on every intake batch and re-plan.
-- The locks are taken in the order given (callers sort: two transactions never wait on each other in a
-- circle). The read comes after them and sees what the locks' last holders committed: in a VOLATILE
-- function each statement takes a new snapshot (READ COMMITTED).
CREATE FUNCTION lock_regions(ids text[], in_hand text[])
RETURNS TABLE (region_id text, definition jsonb, state_version bigint, waiting boolean)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('region:' || r)) FROM unnest(ids) AS r;
    RETURN QUERY
        SELECT g.region_id, g.definition, g.state_version,
               EXISTS (SELECT 1 FROM claims c WHERE c.region_id = g.region_id AND c.dispatch_state = 'pending'
                                                AND c.report_id <> ALL(in_hand))
          FROM regions g WHERE g.region_id = ANY(ids);
END $$;
