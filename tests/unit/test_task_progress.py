from datetime import datetime, timedelta, timezone

from models.dispatch.rules import DispatchRules
from models.dispatch.tasks import (ACK_TIMED_OUT, TERMINAL, WITHDRAWN, TaskDue, TaskStatus, TaskStep, arrived_on_time,
                                  duty_until, next_status, step_after, task_due)


def test_progress_moves_forward():
    assert next_status("assigned", "task_accepted") == "accepted"
    assert next_status("accepted", "customer_contacted") == "contacted"
    assert next_status("contacted", "arrived_at_scene") == "arrived"
    assert next_status("arrived", "survey_completed") == "completed"


def test_a_duplicate_or_late_event_changes_nothing():
    assert next_status("accepted", "task_accepted") is None
    assert next_status("arrived", "customer_contacted") is None
    assert next_status("completed", "arrived_at_scene") is None


def test_events_out_of_order_still_move_forward():
    assert next_status("assigned", "arrived_at_scene") == "arrived"


def test_a_decline_only_counts_before_the_surveyor_is_on_the_way():
    assert next_status("assigned", "task_declined") == "declined"
    assert next_status("accepted", "task_declined") == "declined"
    assert next_status("arrived", "task_declined") is None
    assert next_status("declined", "task_accepted") is None


def test_a_task_nobody_acknowledged_is_cancelled_only_while_still_merely_assigned():
    assert step_after("assigned", ACK_TIMED_OUT) == TaskStep(TaskStatus.CANCELLED, "no_acknowledgement")
    assert step_after("accepted", ACK_TIMED_OUT) == TaskStep(None)
    assert step_after("completed", ACK_TIMED_OUT) == TaskStep(None)


def test_what_each_step_does_around_the_task():
    declined = step_after("accepted", "task_declined")
    assert declined.back_to_dispatch == "declined" and declined.frees_surveyor
    assert not declined.at_scene and not declined.calls_back
    completed = step_after("arrived", "survey_completed")
    assert completed.at_scene and completed.calls_back and completed.frees_surveyor
    assert completed.back_to_dispatch is None
    arrived = step_after("accepted", "arrived_at_scene")
    assert arrived.status is TaskStatus.ARRIVED
    assert not (arrived.frees_surveyor or arrived.at_scene or arrived.calls_back or arrived.back_to_dispatch)


def test_the_watchdog_limits_of_a_new_task_follow_its_regions_rules():
    at = datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc)
    due = task_due(at, DispatchRules(ack_within_minutes=4, contact_within_minutes=12))
    assert due == TaskDue(at + timedelta(minutes=4), at + timedelta(minutes=12))


def test_an_arrival_on_the_deadline_meets_it():
    deadline = datetime(2026, 12, 3, 3, 30, tzinfo=timezone.utc)
    assert arrived_on_time(deadline, deadline)
    assert not arrived_on_time(deadline + timedelta(seconds=1), deadline)


def test_a_shift_change_from_the_app_holds_twelve_hours():
    at = datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc)
    assert duty_until(at) == at + timedelta(hours=12)


def test_withdrawn_tasks_are_the_declined_and_the_cancelled():
    assert WITHDRAWN == {TaskStatus.DECLINED, TaskStatus.CANCELLED} and WITHDRAWN < TERMINAL


def test_an_arrival_is_on_time_on_the_limit_or_else_on_promise_by_the_promised_time():
    from datetime import datetime, timedelta, timezone

    from models.dispatch.tasks import arrival_verdict

    limit = datetime(2026, 12, 3, 2, 30, tzinfo=timezone.utc)
    promise = limit + timedelta(minutes=20)
    assert arrival_verdict(limit, limit, promise) == (True, False)                        # on the limit
    assert arrival_verdict(limit + timedelta(minutes=5), limit, promise) == (False, True)  # by the promise
    assert arrival_verdict(promise + timedelta(seconds=1), limit, promise) == (False, False)
    assert arrival_verdict(limit + timedelta(minutes=5), limit, None) == (False, False)    # none promised
