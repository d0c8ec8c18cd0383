"""structlog set-up: JSON lines in production, readable lines on a terminal; personal data masked."""

from __future__ import annotations

import logging
import sys

import structlog

from models.privacy import mask_name, mask_phone, scrub_text

_PHONE_KEYS = {"phone", "mobile", "telephone"}
_NAME_KEYS = {"name", "reporter_name", "insured_name", "customer_name"}
_ID_KEYS = {"id_number"}


def mask_personal_data(_logger, _method, event_dict: dict) -> dict:
    """A safety net: code binds ids, not people, but anything that slips in is masked here."""
    for key, value in list(event_dict.items()):
        if not isinstance(value, str):
            continue
        if key in _PHONE_KEYS or key in _ID_KEYS:
            event_dict[key] = mask_phone(value)
        elif key in _NAME_KEYS:
            event_dict[key] = mask_name(value)
        else:
            event_dict[key] = scrub_text(value)
    return event_dict


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    renderer = structlog.processors.JSONRenderer() if log_format == "json" else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
