-- The system of record. Kafka (memory-backed on the embedded stack) is transport only.

CREATE TABLE regions (
    region_id   text PRIMARY KEY,
    definition  jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE surveyors (
    surveyor_id text PRIMARY KEY,
    region_id   text NOT NULL REFERENCES regions,
    definition  jsonb NOT NULL,               -- models.roster.Surveyor (name included: personal data)
    lat         double precision NOT NULL,    -- current position: base, or the scene of the last task
    lon         double precision NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    duty        boolean,                      -- shift started/ended in the app: overrides the roster window ...
    duty_until  timestamptz,                  -- ... until then
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vehicles (
    vehicle_id  text PRIMARY KEY,
    region_id   text NOT NULL REFERENCES regions,
    definition  jsonb NOT NULL,
    lat         double precision,             -- where it is now (with the surveyor who last drove it); NULL: at base
    lon         double precision,
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Consumed event ids, written in the same transaction as their effects:
-- a redelivered event finds its id here and changes nothing.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Events an effect produced, kept so that a redelivered input republishes
-- exactly the same events (same ids) if the first publish was lost.
CREATE TABLE outbox (
    seq             bigserial,
    event_id        uuid PRIMARY KEY,
    consumer        text NOT NULL,
    source_event_id uuid NOT NULL,
    topic           text NOT NULL,
    key             bytea,
    value           bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz             -- set once the broker acknowledged the record
);
CREATE INDEX outbox_by_source ON outbox (consumer, source_event_id);

CREATE TABLE claims (
    report_id    text PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    reported_at  timestamptz NOT NULL,
    loss_time    timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    region_id    text NOT NULL REFERENCES regions,
    zone         text NOT NULL,
    loss_type    text NOT NULL,
    policy_no    text NOT NULL,
    deadline_at  timestamptz NOT NULL,
    report       jsonb NOT NULL,
    -- dispatch: pending (waiting for a surveyor) → assigned; back to pending after a decline or no acknowledgement
    dispatch_state   text NOT NULL DEFAULT 'pending' CHECK (dispatch_state IN ('pending', 'assigned')),
    pending_since    timestamptz NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    previous_task_id uuid,
    reassign_reason  text
);
CREATE INDEX claims_by_time ON claims (reported_at);
CREATE INDEX claims_pending ON claims (region_id) WHERE dispatch_state = 'pending';

CREATE TABLE survey_tasks (
    task_id              uuid PRIMARY KEY,
    report_id            text NOT NULL REFERENCES claims,
    attempt              integer NOT NULL,
    surveyor_id          text NOT NULL REFERENCES surveyors,
    vehicle_id           text NOT NULL REFERENCES vehicles,
    region_id            text NOT NULL,
    zone                 text NOT NULL,
    status               text NOT NULL CHECK (status IN
                           ('assigned', 'accepted', 'contacted', 'arrived', 'completed', 'declined', 'cancelled')),
    live                 boolean GENERATED ALWAYS AS (status IN ('assigned', 'accepted', 'contacted', 'arrived')) STORED,
    assigned_at          timestamptz NOT NULL,
    deadline_at          timestamptz NOT NULL,
    estimated_arrival_at timestamptz NOT NULL,
    meets_deadline       boolean NOT NULL,
    accepted_at          timestamptz,
    contacted_at         timestamptz,
    arrived_at           timestamptz,
    completed_at         timestamptz,
    ack_due_at           timestamptz NOT NULL,
    contact_due_at       timestamptz NOT NULL,
    -- when the watchdog fired for this task (each fires once, survives restarts)
    ack_timed_out_at     timestamptz,
    contact_reminded_at  timestamptz,
    arrival_missed_at    timestamptz,
    cancel_reason        text,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (report_id, attempt)
);
CREATE INDEX survey_tasks_ack_due ON survey_tasks (ack_due_at) WHERE status = 'assigned';
CREATE INDEX survey_tasks_arrival_due ON survey_tasks (deadline_at) WHERE live AND arrived_at IS NULL;
-- The second line of defence behind region-serialised decisions.
CREATE UNIQUE INDEX one_live_task_per_report ON survey_tasks (report_id) WHERE live;
CREATE UNIQUE INDEX one_live_task_per_surveyor ON survey_tasks (surveyor_id) WHERE live;
CREATE UNIQUE INDEX one_live_task_per_vehicle ON survey_tasks (vehicle_id) WHERE live;
CREATE INDEX survey_tasks_by_surveyor_day ON survey_tasks (surveyor_id, assigned_at);

CREATE TABLE escalations (
    event_id    uuid PRIMARY KEY,
    report_id   text NOT NULL REFERENCES claims,
    attempt     integer NOT NULL,
    region_id   text NOT NULL,
    zone        text NOT NULL,
    reason      text NOT NULL,
    detail      text NOT NULL,
    created_at  timestamptz NOT NULL,
    resolved_at timestamptz
);
CREATE INDEX escalations_by_report ON escalations (report_id);

CREATE TABLE dead_letters (
    event_id         uuid PRIMARY KEY,
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    reason           text NOT NULL,
    detail           text NOT NULL,
    created_at       timestamptz NOT NULL
);
