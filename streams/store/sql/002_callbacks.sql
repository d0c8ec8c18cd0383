-- Callbacks: every trigger's decision (eligible or excluded, selected or not, and why),
-- the tasks, each attempt, and what the callbacks found.

CREATE TABLE do_not_call (
    phone_sha256 text PRIMARY KEY,     -- SHA-256 of the digits: the list itself holds no phone numbers
    reason       text NOT NULL,
    added_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE callback_decisions (
    source_event_id  uuid PRIMARY KEY,
    kind             text NOT NULL,
    month            text NOT NULL,               -- YYYY-MM, local time of the trigger
    subject          text NOT NULL,               -- policy, complaint, claim or report id
    triggered_at     timestamptz NOT NULL,
    eligible         boolean NOT NULL,
    exclusion_reason text,
    selected         boolean NOT NULL,
    probability      double precision,
    hash_value       double precision,
    basis            jsonb,                       -- the month-to-date figures the selection rested on
    task_id          uuid,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX callback_decisions_by_month ON callback_decisions (kind, month);

CREATE TABLE callback_tasks (
    task_id         uuid PRIMARY KEY,
    source_event_id uuid NOT NULL UNIQUE REFERENCES callback_decisions,
    kind            text NOT NULL,
    month           text NOT NULL,
    subject         text NOT NULL,
    customer        jsonb NOT NULL,               -- personal data: for the dialer, never logged
    triggered_at    timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN
                      ('open', 'reached', 'problem_case', 'sms_delivered', 'sms_sent', 'refused', 'wrong_number',
                       'expired')),
    success         boolean,
    success_channel text,
    problem_case    boolean NOT NULL DEFAULT false,
    reason          text,
    satisfaction    integer,
    phone_attempts  integer NOT NULL DEFAULT 0,
    attempts_issued integer NOT NULL DEFAULT 1,
    next_channel    text,
    overdue_at      timestamptz,
    closed_at       timestamptz
);
CREATE INDEX callback_tasks_open ON callback_tasks (due_at) WHERE state = 'open';
CREATE INDEX callback_tasks_by_month ON callback_tasks (kind, month);

CREATE TABLE callback_attempts (
    task_id            uuid NOT NULL REFERENCES callback_tasks,
    attempt_no         integer NOT NULL,
    event_id           uuid NOT NULL UNIQUE,
    channel            text NOT NULL,
    outcome            text NOT NULL,
    identity_confirmed boolean NOT NULL,
    satisfaction       integer,
    failure_reason     text,
    occurred_at        timestamptz NOT NULL,
    PRIMARY KEY (task_id, attempt_no)
);

CREATE TABLE findings (
    finding_id       uuid PRIMARY KEY,
    task_id          uuid NOT NULL REFERENCES callback_tasks,
    kind             text NOT NULL,
    department       text NOT NULL,
    text             text NOT NULL,
    follow_up_due_at timestamptz NOT NULL,
    problem_case     boolean NOT NULL,
    status           text NOT NULL DEFAULT 'open',
    created_at       timestamptz NOT NULL
);
CREATE INDEX findings_by_department ON findings (department, status);
