-- The dispatcher's desk: escalations with a life, claims a dispatcher cancelled or agreed a time for,
-- tasks served by a surveyor of another region, and the audit of every command.

-- An escalation is open until a dispatcher acknowledges it (by whom, when), and then resolved by a
-- command or superseded when the system solved it (a surveyor freed up, the surveyor arrived).
ALTER TABLE escalations
    ADD COLUMN state           text NOT NULL DEFAULT 'open'
                               CHECK (state IN ('open', 'acknowledged', 'resolved', 'superseded')),
    ADD COLUMN acknowledged_by text,
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN closed_by       text;          -- the command type that resolved it, or what superseded it
UPDATE escalations SET state = 'superseded', closed_by = 'before_the_desk' WHERE resolved_at IS NOT NULL;
CREATE INDEX escalations_unclosed ON escalations (created_at) WHERE state IN ('open', 'acknowledged');

-- A claim a dispatcher cancelled needs no survey; one whose customer agreed a later arrival keeps the
-- zone's limit it had (limit_deadline_at) beside the agreed deadline it is now held to.
ALTER TABLE claims DROP CONSTRAINT claims_dispatch_state_check;
ALTER TABLE claims ADD CONSTRAINT claims_dispatch_state_check
    CHECK (dispatch_state IN ('pending', 'assigned', 'appointment', 'cancelled'));
ALTER TABLE claims
    ADD COLUMN limit_deadline_at timestamptz,     -- set when an arrival time was agreed: the limit before it
    ADD COLUMN deadline_agreed_at timestamptz,
    ADD COLUMN cancellation text,
    ADD COLUMN duplicate_of text;

-- The region whose surveyor and vehicle a task uses: the claim's own region, or a neighbour's when a
-- dispatcher sent one from there. A region's state reads its live tasks by it (the neighbour's surveyor
-- is busy at home), and every change bumps both regions' state versions.
ALTER TABLE survey_tasks ADD COLUMN home_region_id text;
UPDATE survey_tasks SET home_region_id = region_id;
ALTER TABLE survey_tasks ALTER COLUMN home_region_id SET NOT NULL;
-- Unless the writer names another, a task uses its claim's region's people (every writer before the desk).
CREATE FUNCTION default_home_region() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.home_region_id := COALESCE(NEW.home_region_id, NEW.region_id);
    RETURN NEW;
END $$;
CREATE TRIGGER survey_tasks_home_region BEFORE INSERT ON survey_tasks
    FOR EACH ROW EXECUTE FUNCTION default_home_region();
DROP INDEX survey_tasks_by_region_day;
CREATE INDEX survey_tasks_live_by_home ON survey_tasks (home_region_id) WHERE live;
CREATE INDEX survey_tasks_by_home_day ON survey_tasks (home_region_id, assigned_at);

CREATE OR REPLACE FUNCTION bump_region_state_task_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM bump_regions(ARRAY(SELECT region_id FROM new_rows UNION SELECT home_region_id FROM new_rows));
    ELSE
        PERFORM bump_regions(ARRAY(SELECT region_id FROM old_rows UNION SELECT home_region_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION bump_region_state_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bump_regions(ARRAY(
        SELECT unnest(ARRAY[n.region_id, o.region_id, n.home_region_id, o.home_region_id])
          FROM new_rows n JOIN old_rows o USING (task_id)
         WHERE (n.live, n.surveyor_id, n.vehicle_id, n.region_id, n.home_region_id, n.assigned_at, n.arrived_at,
                n.estimated_arrival_at)
               IS DISTINCT FROM
               (o.live, o.surveyor_id, o.vehicle_id, o.region_id, o.home_region_id, o.assigned_at, o.arrived_at,
                o.estimated_arrival_at)));
    RETURN NULL;
END $$;

DROP TRIGGER survey_tasks_insert_bumps ON survey_tasks;
DROP TRIGGER survey_tasks_delete_bumps ON survey_tasks;
CREATE TRIGGER survey_tasks_insert_bumps AFTER INSERT ON survey_tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state_task_rows();
CREATE TRIGGER survey_tasks_delete_bumps AFTER DELETE ON survey_tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_region_state_task_rows();

-- Every command a dispatcher sent, applied, forced or refused: who, when, what, why, and the state of what
-- it touched before and after. One row per command id (a re-sent command finds its row).
CREATE TABLE desk_commands (
    command_id    uuid PRIMARY KEY,
    type          text NOT NULL,
    dispatcher_id text NOT NULL,
    reason        text NOT NULL,
    forced_by     text,
    force_reason  text,
    issued_at     timestamptz NOT NULL,
    decided_at    timestamptz NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('applied', 'forced', 'refused')),
    refusals      text[] NOT NULL DEFAULT '{}',
    detail        text NOT NULL,
    report_id     text,
    surveyor_id   text,
    escalation_id uuid,
    task_id       uuid,
    command       jsonb NOT NULL,
    state_before  jsonb NOT NULL,
    state_after   jsonb NOT NULL
);
CREATE INDEX desk_commands_by_report ON desk_commands (report_id, decided_at);
CREATE INDEX desk_commands_by_surveyor ON desk_commands (surveyor_id, decided_at);
