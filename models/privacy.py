"""Masking of personal data (phone numbers, names, ID numbers) before anything is logged."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")
# Mainland mobile numbers, landlines with area code, and 15/18-character resident ID numbers.
_PHONE_OR_ID = re.compile(r"(?<!\d)(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{17}[\dXx]|\d{15})(?!\d)")


def mask_phone(phone: str) -> str:
    """Keep the last 4 digits: enough for a person to recognise, useless to anyone else."""
    digits = _DIGITS.findall(phone)
    return "*" * max(0, len(digits) - 4) + "".join(digits[-4:]) if len(digits) > 4 else "****"


def mask_name(name: str) -> str:
    """Keep the first character only (姓 or initial)."""
    name = name.strip()
    return (name[:1] + "*" * max(1, len(name) - 1)) if name else ""


def scrub_text(text: str) -> str:
    """Replace anything that looks like a phone or ID number in free text."""
    return _PHONE_OR_ID.sub(lambda m: mask_phone(m.group(0)), text)
