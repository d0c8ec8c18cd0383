-- A claim whose loss was reported long after it happened is registered as an appointment case: the
-- dispatcher agrees a survey time with the customer; it is never raced against the arrival limit, so it
-- is neither pending (planned) nor assigned.
ALTER TABLE claims DROP CONSTRAINT claims_dispatch_state_check;
ALTER TABLE claims ADD CONSTRAINT claims_dispatch_state_check
    CHECK (dispatch_state IN ('pending', 'assigned', 'appointment'));
