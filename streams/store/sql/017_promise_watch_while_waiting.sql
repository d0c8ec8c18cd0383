-- A time told is held while the claim still waits: each escalation keeps the arrival it proposed (what the
-- customer was told), and when that time passes the watchdog looks once: the claim still waiting with no one
-- sent fires arrival_promise_missed; any other is settled silently (promise_checked_at). Kept with the
-- escalation, written as it is inserted: a storm's backlog is told its times without a second write per claim.
ALTER TABLE escalations ADD COLUMN proposed_arrival_at timestamptz;
ALTER TABLE escalations ADD COLUMN promise_checked_at timestamptz;
CREATE INDEX escalations_promise_due ON escalations (proposed_arrival_at)
 WHERE promise_checked_at IS NULL AND proposed_arrival_at IS NOT NULL;
