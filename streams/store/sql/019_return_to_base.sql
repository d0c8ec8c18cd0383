-- A free surveyor driving back to base after a survey with nothing next for them (models/dispatch/return_to_base.py):
-- {vehicle_id, set_off_at, from_lat, from_lon, to_lat, to_lon, there_at}. Dispatch reckons them on the way from it;
-- a new task clears it, a position the app reports restarts the drive from there. Null: where lat/lon say.
ALTER TABLE surveyors ADD COLUMN return_trip jsonb;
