"""Phone numbers as the do-not-call list and callbacks compare them: parsed and normalised to E.164 by the
maintained `phonenumbers` library (China as the default region), then kept only as a SHA-256 hash.

``+86 138-0013-8000``, ``138 0013 8000`` and ``13800138000`` are one number (``+8613800138000``); text that
is not a valid number (``abc``, ``12``, an SQL fragment) is refused where a number is stored.
"""

from __future__ import annotations

import hashlib
import re

import phonenumbers

DEFAULT_REGION = "CN"


class InvalidPhoneNumber(ValueError):
    """Not a valid phone number (the message never repeats the input: it may be one)."""


def normalise(raw: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 form (``+8613800138000``), or InvalidPhoneNumber."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("not a valid phone number for its region")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_hash(raw: str, region: str = DEFAULT_REGION) -> str:
    """The hash the do-not-call list keeps for a valid number."""
    return hashlib.sha256(normalise(raw, region).encode()).hexdigest()


# A mainland mobile number as people write it: +86 / 0086 or nothing before eleven digits from 13…19,
# grouped by spaces, dashes or dots.
_MOBILE = re.compile(r"(?:\+86|0086)?(1[3-9]\d{9})")
_SEPARATORS = re.compile(r"[\s.\-()]")


def caller_hash(raw: str) -> str | None:
    """The hash duplicate detection compares callers by, None when ``raw`` is not a number.

    The hotline's usual case, a mainland mobile number, is normalised by pattern (a full parse costs about
    30 µs, a tenth of a report's intake); it gives the hash ``phone_hash`` gives for that number, and eleven
    such digits ``phonenumbers`` thinks unassigned still hash alike each time they are typed. Anything
    else goes through ``phone_hash``."""
    m = _MOBILE.fullmatch(_SEPARATORS.sub("", raw))
    if m:
        return hashlib.sha256(f"+86{m.group(1)}".encode()).hexdigest()
    try:
        return phone_hash(raw)
    except InvalidPhoneNumber:
        return None


def legacy_phone_hash(raw: str) -> str:
    """The hash entries were kept under before numbers were normalised (SHA-256 of the digits as typed):
    still looked up, so that an entry made then keeps excluding its number."""
    return hashlib.sha256("".join(re.findall(r"\d", raw)).encode()).hexdigest()


def lookup_hashes(raw: str, region: str = DEFAULT_REGION) -> list[str]:
    """Every hash under which ``raw`` may be on the list (a customer's number as a business event gives it)."""
    hashes = [legacy_phone_hash(raw)]
    try:
        hashes.insert(0, phone_hash(raw, region))
    except InvalidPhoneNumber:
        pass
    return hashes
