-- Time on scene learned per loss type (models.dispatch.scene_times): the latest completed surveys, read every
-- few minutes with the arrivals.
CREATE INDEX survey_tasks_by_completion ON survey_tasks (completed_at DESC) WHERE completed_at IS NOT NULL;
