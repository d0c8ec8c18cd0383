-- Whether claims wait in a region, asked so that it costs an index probe per region whatever the table's
-- statistics say. As an EXISTS in the select list (008), PostgreSQL may instead read every pending claim
-- once and hash their regions (a "hashed SubPlan"); it does when the statistics say few claims are
-- pending, as they do after an ANALYZE taken while every claim was assigned, and a storm then makes that
-- read grow with the backlog: in the pipeline bench (a backlog of 100,000 reports in 30 regions, started two
-- minutes after the latency run had assigned 3,400) 47 calls took over 30 ms, 0.66 s on average, and
-- intake's batches of ~1,000 reports 648 ms (327 ms with this, and no call over 30 ms). A LATERAL
-- subquery with LIMIT 1 is planned per region and stops at the first claim found.
CREATE OR REPLACE FUNCTION lock_regions(ids text[], in_hand text[])
RETURNS TABLE (region_id text, definition jsonb, state_version bigint, waiting boolean)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('region:' || r)) FROM unnest(ids) AS r;
    RETURN QUERY
        SELECT g.region_id, g.definition, g.state_version, w.one IS NOT NULL
          FROM regions g
          LEFT JOIN LATERAL (SELECT 1 AS one FROM claims c
                              WHERE c.region_id = g.region_id AND c.dispatch_state = 'pending'
                                AND c.report_id <> ALL(in_hand)
                              LIMIT 1) w ON true
         WHERE g.region_id = ANY(ids);
END $$;
