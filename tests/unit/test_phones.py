import pytest

from models.callbacks.phones import InvalidPhoneNumber, legacy_phone_hash, lookup_hashes, normalise, phone_hash


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
