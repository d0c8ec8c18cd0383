import json

import structlog

from models.privacy import mask_name, mask_phone, scrub_text
from streams.log_config import configure_logging, mask_personal_data


def test_phone_keeps_only_the_last_four_digits():
    assert mask_phone("138-1234-5678") == "*******5678"


def test_name_keeps_the_first_character():
    assert mask_name("王小明") == "王**"


def test_free_text_is_scrubbed_of_phone_and_id_numbers():
    text = scrub_text("call 13812345678 or id 330102199001011234 now")
    assert "13812345678" not in text and "330102199001011234" not in text and "5678" in text


def test_log_lines_mask_personal_fields(capsys):
    configure_logging("json", "INFO")
    try:
        structlog.get_logger("t").info("handled", phone="13812345678", name="王小明", detail="from 13912345678")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        structlog.reset_defaults()  # the configured stderr is pytest's capture, closed after this test
    assert line["phone"].endswith("5678") and "1381234" not in line["phone"]
    assert line["name"] == "王**"
    assert "13912345678" not in line["detail"]
    assert mask_personal_data(None, None, {"x": 1}) == {"x": 1}
