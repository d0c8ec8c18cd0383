from models.task_progress import next_status


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
