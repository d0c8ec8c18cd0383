-- Dates reckoned on a provisional holiday calendar (a year whose official schedule is not published yet:
-- models/working_days.py) carry a mark, so that they can be shown as such and recomputed when it is.
ALTER TABLE callback_decisions ADD COLUMN calendar_provisional boolean NOT NULL DEFAULT false;
ALTER TABLE callback_tasks ADD COLUMN due_provisional boolean NOT NULL DEFAULT false;
ALTER TABLE callback_tasks ADD COLUMN expires_provisional boolean NOT NULL DEFAULT false;
ALTER TABLE findings ADD COLUMN follow_up_provisional boolean NOT NULL DEFAULT false;
ALTER TABLE monthly_reports ADD COLUMN due_date_provisional boolean NOT NULL DEFAULT false;

-- The few open rows that recomputation and the board's gauge look at.
CREATE INDEX callback_tasks_provisional ON callback_tasks (task_id)
    WHERE state = 'open' AND (due_provisional OR expires_provisional);
CREATE INDEX findings_provisional ON findings (finding_id) WHERE status = 'open' AND follow_up_provisional;

-- Every date that recomputation moved: what it was, what it became, and when.
CREATE TABLE calendar_recomputations (
    id          bigserial PRIMARY KEY,
    item        text NOT NULL CHECK (item IN ('callback_task', 'finding', 'monthly_report')),
    item_id     text NOT NULL,               -- task or finding id, or the report's month
    field       text NOT NULL,               -- due_at, expires_at, follow_up_due_at, due_date
    old_value   text NOT NULL,
    new_value   text NOT NULL,
    provisional boolean NOT NULL,            -- whether the new value is still provisional
    recomputed_at timestamptz NOT NULL
);
