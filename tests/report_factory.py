"""A valid loss report as a dict, for tests at every level."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone


def report_dict(at=(30.3191, 120.1551), report_id: str | None = None, now: datetime | None = None, **overrides) -> dict:
    now = now or datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
    data = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": now.isoformat(),
        "schema_version": 1,
        "type": "loss_reported",
        "report_id": report_id or f"RPT-T-{uuid.uuid4().hex[:10]}",
        "channel": "phone",
        "reporter": {"name": "王偉", "phone": "13812345678", "relation": "insured"},
        "insured": {"name": "王偉", "id_number": "330102199001011234"},
        "policy": {"number": "P00012345678", "line_of_business": "motor"},
        "loss_time": (now - timedelta(minutes=10)).isoformat(),
        "location": {"address": "West Lake Road 1", "lat": at[0], "lon": at[1]},
        "cause": "rear-end collision",
        "description": "",
        "loss_type": "vehicle",
        "injuries": {"count": 0, "severity": "none"},
        "police": {"involved": False},
        "original_scene": True,
        "vehicle_drivable": True,
        "insured_vehicle": {"plate": "浙A12345"},
        "third_party_vehicles": [{"plate": "浙B54321"}],
        "estimated_loss": "3500.00",
    }
    data.update(overrides)
    return data
