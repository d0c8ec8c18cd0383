-- Time on scene learned per loss type (models.dispatch.scene_times): the latest completed surveys, read every
-- few minutes with the arrivals.
CREATE INDEX survey_tasks_by_completion ON survey_tasks (completed_at DESC) WHERE completed_at IS NOT NULL;
-- A promise held like the limit: an arrival promised to a claim that could not be met, passed with no arrival,
-- fires once (arrival_promise_missed).
ALTER TABLE survey_tasks ADD COLUMN promise_missed_at timestamptz;
CREATE INDEX survey_tasks_promise_due ON survey_tasks (promised_arrival_at)
 WHERE live AND arrived_at IS NULL AND promise_missed_at IS NULL AND promised_arrival_at IS NOT NULL;
