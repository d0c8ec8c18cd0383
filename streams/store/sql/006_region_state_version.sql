-- A version for each region's dispatch state (its surveyors, vehicles and survey tasks), so that a worker
-- can keep the state in memory and reread it only when it changed: every write to those tables bumps the
-- version of the regions it touches (old and new region of a row that moves), in the same transaction.
-- The bump updates the region's row, so bumps of one region are serialised and its version only grows
-- in commit order. The first value is random: a database created again under the same URL does not
-- reuse versions a running worker may have cached.
ALTER TABLE regions ADD COLUMN state_version bigint NOT NULL DEFAULT (floor(random() * 1e15))::bigint;

CREATE FUNCTION bump_regions(touched text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Rows are locked in region order, whatever the statement touched, so that two transactions
    -- bumping the same regions cannot wait for each other in a cycle.
    PERFORM 1 FROM regions WHERE region_id = ANY(touched) ORDER BY region_id FOR UPDATE;
    UPDATE regions SET state_version = state_version + 1 WHERE region_id = ANY(touched);
END $$;

-- surveyors and vehicles: every change counts (position, duty, definition, active, region).
CREATE FUNCTION bump_region_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM bump_regions(ARRAY(SELECT region_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM bump_regions(ARRAY(SELECT region_id FROM old_rows));
    ELSE
        PERFORM bump_regions(ARRAY(SELECT region_id FROM new_rows UNION SELECT region_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

-- survey_tasks updates: only changes to what the state reads count (live or not, who, which vehicle, when
-- assigned, arrived and expected): accepting or contacting, and the watchdog's fired-at stamps, bump nothing.
CREATE FUNCTION bump_region_state_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bump_regions(ARRAY(
        SELECT unnest(ARRAY[n.region_id, o.region_id]) FROM new_rows n JOIN old_rows o USING (task_id)
         WHERE (n.live, n.surveyor_id, n.vehicle_id, n.region_id, n.assigned_at, n.arrived_at, n.estimated_arrival_at)
               IS DISTINCT FROM
               (o.live, o.surveyor_id, o.vehicle_id, o.region_id, o.assigned_at, o.arrived_at, o.estimated_arrival_at)));
    RETURN NULL;
END $$;

CREATE TRIGGER survey_tasks_insert_bumps AFTER INSERT ON survey_tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state();
CREATE TRIGGER survey_tasks_update_bumps AFTER UPDATE ON survey_tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state_tasks();
CREATE TRIGGER survey_tasks_delete_bumps AFTER DELETE ON survey_tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state();

CREATE TRIGGER surveyors_insert_bumps AFTER INSERT ON surveyors
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state();
CREATE TRIGGER surveyors_update_bumps AFTER UPDATE ON surveyors
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state();
CREATE TRIGGER surveyors_delete_bumps AFTER DELETE ON surveyors
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state();

CREATE TRIGGER vehicles_insert_bumps AFTER INSERT ON vehicles
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state();
CREATE TRIGGER vehicles_update_bumps AFTER UPDATE ON vehicles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state();
CREATE TRIGGER vehicles_delete_bumps AFTER DELETE ON vehicles
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state();
