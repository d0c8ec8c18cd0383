-- Where and when a task's surveyor set out, when not from the position recorded for them at the assignment:
-- a surveyor turned round on the way to another claim (models/dispatch/diversion.py) sets out from where they
-- were estimated to be; a position the app reports on the way restarts the trip from there, then. Null: from the
-- surveyor's recorded position (their base, or the scene of their last task), at the assignment.
ALTER TABLE survey_tasks ADD COLUMN set_out_lat float8, ADD COLUMN set_out_lon float8, ADD COLUMN set_out_at timestamptz;
