-- A region's waiting claims, earliest deadline first (replan_region), without sorting the whole
-- backlog of a storm on every plan. It serves every lookup the region-only index served.
CREATE INDEX claims_pending_by_deadline ON claims (region_id, deadline_at, report_id) WHERE dispatch_state = 'pending';
DROP INDEX claims_pending;

-- A claim left waiting for a busy surveyor (no escalation yet) is looked at again when its dispatch
-- limit passes (dispatch_overdue), found by this time instead of re-planning every waiting claim.
ALTER TABLE claims ADD COLUMN review_at timestamptz;
CREATE INDEX claims_review_due ON claims (review_at) WHERE review_at IS NOT NULL;

-- A region's live tasks and today's tasks (region_state, read for every plan).
CREATE INDEX survey_tasks_live_by_region ON survey_tasks (region_id) WHERE live;
CREATE INDEX survey_tasks_by_region_day ON survey_tasks (region_id, assigned_at);
