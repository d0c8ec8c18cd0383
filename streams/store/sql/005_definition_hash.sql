-- Region state is read for every plan: it carries each definition's hash, computed when the
-- definition is written (not per read: turning jsonb into text for every row of every read was
-- the largest cost of planning a region), and parsed definitions are kept by (id, hash).
ALTER TABLE surveyors ADD COLUMN definition_hash integer GENERATED ALWAYS AS (hashtext(definition::text)) STORED;
ALTER TABLE vehicles ADD COLUMN definition_hash integer GENERATED ALWAYS AS (hashtext(definition::text)) STORED;
CREATE INDEX surveyors_by_region ON surveyors (region_id) WHERE active;
CREATE INDEX vehicles_by_region ON vehicles (region_id) WHERE active;
