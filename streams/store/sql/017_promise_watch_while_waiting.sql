-- A promise held while the claim still waits: a claim told an arrival (all_surveyors_busy) whose time passes
-- before anyone is sent fires arrival_promise_missed once per time told; telling a later time watches again.
ALTER TABLE claims ADD COLUMN promise_missed_at timestamptz;
CREATE INDEX claims_promise_due ON claims (promised_arrival_at)
 WHERE dispatch_state = 'pending' AND promise_missed_at IS NULL AND promised_arrival_at IS NOT NULL;
