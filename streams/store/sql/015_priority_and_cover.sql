-- Which claims go first (models.dispatch.priority): 1 serious or fatal injury; 2 minor injury, a vehicle that
-- cannot be driven, people stranded; 3 the rest. Set at intake by the configured rules; claims still waiting
-- when this runs get the default rules' class from their report, the rest stay routine (never planned again).
ALTER TABLE claims ADD COLUMN priority smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 3);
UPDATE claims SET priority = CASE
        WHEN report->'injuries'->>'severity' IN ('serious', 'fatal') THEN 1
        WHEN report->'injuries'->>'severity' = 'minor' OR report->>'vehicle_drivable' = 'false'
             OR report->>'people_stranded' = 'true' THEN 2
        ELSE 3 END
 WHERE dispatch_state = 'pending';
-- Where a region's claims come from (the planner's cover, models.dispatch.coverage): its latest scenes.
CREATE INDEX claims_by_region_time ON claims (region_id, reported_at DESC);
-- Honest promises: a claim the plan cannot get to in time is promised an arrival (escalation
-- deadline_unreachable, proposed_arrival_at), kept with the claim and its live task. The task's deadline stays
-- the zone's limit, so every "met" count stays a count of limits met; an arrival after it and by the promise is
-- met on promise.
ALTER TABLE claims ADD COLUMN promised_arrival_at timestamptz;
ALTER TABLE survey_tasks ADD COLUMN promised_arrival_at timestamptz;
-- Travel times corrected from real trips (models.dispatch.trip_learning): the latest arrivals, read every few
-- minutes.
CREATE INDEX survey_tasks_by_arrival ON survey_tasks (arrived_at DESC) WHERE arrived_at IS NOT NULL;
