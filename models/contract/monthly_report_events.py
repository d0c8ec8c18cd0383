"""`reports.monthly`: a monthly callback analysis report and brief were published."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from models.contract.event import Event


class MonthlyReportPublished(Event):
    type: Literal["monthly_report_published"] = "monthly_report_published"
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The topic key, YYYY-MM.")
    due_date: date = Field(description="5th working day of the following month.")
    due_date_provisional: bool = Field(
        default=False,
        description="The due date was reckoned on a provisional holiday calendar (the year's official schedule "
                    "is not published yet).")
    locations: dict[str, str] = Field(description="Format (html, markdown, json) to where it can be fetched.")
