import pytest
from hypothesis import given, strategies as st

from models.callbacks.phones import InvalidPhoneNumber, caller_hash, legacy_phone_hash, lookup_hashes, normalise, phone_hash


def test_one_number_however_it_is_written():
    forms = ["13800138000", "+86 138-0013-8000", "138 0013 8000", "+8613800138000", "(+86) 138 0013 8000"]
    assert {normalise(f) for f in forms} == {"+8613800138000"}
    assert len({phone_hash(f) for f in forms}) == 1
    assert normalise("0571-87654321") == "+8657187654321"
    assert normalise("+1 650 253 0000") == "+16502530000"


@pytest.mark.parametrize("bad", ["abc", "", "12", "' OR 1=1 --", "12345678901", "1" * 40])
def test_what_is_not_a_number_is_refused_without_repeating_it(bad):
    with pytest.raises(InvalidPhoneNumber) as exc:
        normalise(bad)
    assert bad not in str(exc.value) or not bad


def test_a_lookup_finds_entries_made_before_numbers_were_normalised():
    assert lookup_hashes("+86 138-0013-8000") == [phone_hash("13800138000"), legacy_phone_hash("+86 138-0013-8000")]
    assert lookup_hashes("garbage 12") == [legacy_phone_hash("garbage 12")]


_WRITTEN = st.sampled_from(["{n}", "+86{n}", "+86 {a}-{b}-{c}", "{a} {b} {c}", "0086 {a} {b} {c}", "(+86) {a}.{b}.{c}"])


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), _WRITTEN, _WRITTEN)
def test_a_caller_is_compared_by_the_hash_the_do_not_call_list_keeps(n, one, other):
    forms = [f.format(n=n, a=n[:3], b=n[3:7], c=n[7:]) for f in (one, other)]
    assert caller_hash(forms[0]) == caller_hash(forms[1])
    try:
        assert caller_hash(forms[0]) == phone_hash(n)  # the shortcut and the full parse agree
    except InvalidPhoneNumber:
        pass  # eleven digits no operator has: still one hash for one caller


def test_callers_not_on_a_mobile_number():
    assert caller_hash("0571-87654321") == phone_hash("+86 571 8765 4321")
    assert caller_hash("+1 650 253 0000") == phone_hash("+16502530000")
    assert caller_hash("garbage 12") is None and caller_hash("12345678901") is None
