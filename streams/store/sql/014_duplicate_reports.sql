-- One accident, one claim: each claim keeps what it is compared by (models.dispatch.duplicates: the policy,
-- plates, the caller's phone hash; no names, no number) and the cell of its scene, so that a new report's
-- candidates are found by an index on cell and loss time. A report linked to another's claim is not
-- dispatched on its own ('linked', duplicate_of); one that may be a duplicate is dispatched and flagged.
ALTER TABLE claims DROP CONSTRAINT claims_dispatch_state_check;
ALTER TABLE claims ADD CONSTRAINT claims_dispatch_state_check
    CHECK (dispatch_state IN ('pending', 'assigned', 'appointment', 'cancelled', 'linked'));
ALTER TABLE claims
    ADD COLUMN scene_cell bigint,
    ADD COLUMN fingerprint jsonb,
    ADD COLUMN possible_duplicate_of text,
    ADD COLUMN duplicate_score double precision,
    ADD COLUMN duplicate_evidence text[],
    ADD COLUMN linked_by text;               -- 'intake' (confident) or the dispatcher's command that merged it
CREATE INDEX claims_by_scene_cell ON claims (scene_cell, loss_time) WHERE scene_cell IS NOT NULL;
