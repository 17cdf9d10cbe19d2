"""Checks before sending: phone numbers, texts, Viber fields, senders; and SMS parts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphasms_notify import InvalidPhone, Sms, Viber, ViberSms, count_segments, normalize_phone
from alphasms_notify.checks import check
from alphasms_notify.segments import GSM7_BASIC, GSM7_EXTENSION


@pytest.mark.parametrize("typed", ["+380 97 123 45 67", "0971234567", "380971234567", "+38 (097) 123-45-67",
                                   "097-123-45-67", 380971234567])
def test_phone_as_operators_type_it(typed):
    assert normalize_phone(typed) == 380971234567


def test_foreign_numbers_with_plus_or_country_code():
    assert normalize_phone("+1 202 555 0123") == 12025550123
    assert normalize_phone("48501234567") == 48501234567


@pytest.mark.parametrize("bad, reason", [("", "empty"), ("12345", "not a valid"), ("abc", "not a phone number"),
                                         ("+380 97 123", "not a valid"), ("0971234567x", "not a phone number"),
                                         (True, "not a phone number")])
def test_invalid_phones_say_why(bad, reason):
    with pytest.raises(InvalidPhone, match=reason):
        normalize_phone(bad)


@given(st.sampled_from([50, 63, 66, 67, 68, 73, 93, 95, 96, 97, 98, 99]), st.integers(0, 9_999_999),
       st.sampled_from(["+380{c}{n}", "0{c}{n}", "380{c}{n}", "+380 {c} {n}", "0{c}-{n}"]))
def test_every_ukrainian_mobile_normalizes_to_one_integer(code, number, form):
    assert normalize_phone(form.format(c=code, n=f"{number:07d}")) == int(f"380{code}{number:07d}")


def problems(message):
    return [(field, reason) for _, field, reason in check(message, 0)[1]]


def test_valid_messages_have_no_problems_and_get_integer_phones():
    ready, found = check(Sms("0971234567", "Hi", sender="Shop"))
    assert found == [] and ready.phone == 380971234567


@pytest.mark.parametrize("message, field, reason", [
    (Sms("0971234567", "  ", sender="Shop"), "text", "empty"),
    (Sms("0971234567", "Hi", sender=""), "sender", "empty"),
    (Sms("0971234567", "Hi", sender="TwelveLetter"), "sender", "longer than 11"),
    (Sms("0971234567", "Hi", sender="Shop", lifetime=0), "lifetime", "positive"),
    (Sms("0971234567", "Hi", sender="Shop", id=-4), "id", "positive"),
    (Viber("0971234567", "x" * 1001, sender="Shop"), "text", "over the limit of 1000"),
    (Viber("0971234567", "Hi", link="https://a.b", sender="Shop"), "button", "a link needs a button"),
    (Viber("0971234567", "Hi", button="Go", sender="Shop"), "link", "a button needs a link"),
    (Viber("0971234567", image="ftp://a.b/x.png", sender="Shop"), "image", "http(s) URL"),
    (Viber("0971234567", image="https://a.b/x.png", link="https://a.b", button="Go", sender="Shop"),
     "text", "need a text"),
    (Viber("0971234567", "Hi", image="https://a.b/x.png", sender="Shop"), "link", "needs a link"),
    (Viber("0971234567", sender="Shop"), "text", "needs a text or an image"),
    (ViberSms("0971234567", image="https://a.b/x.png", sender="Shop", sms_sender="Shop"), "sms_text", "empty"),
    (ViberSms("0971234567", "Hi", sender="Shop", sms_sender=None), "sms_sender", "empty"),
])
def test_each_problem_names_the_field_and_the_reason(message, field, reason):
    found = problems(message)
    assert any(f == field and reason in r for f, r in found), found


def test_problem_label_names_the_message():
    _, found = check(Sms("12", "Hi", sender="Shop", id=5), 2)
    assert found[0][0] == "message 3 (sms to 12, id 5)"


@pytest.mark.parametrize("fields, viber_type", [
    ({"text": "Hi"}, "text"),
    ({"image": "https://a.b/i.png"}, "image"),
    ({"text": "Hi", "link": "https://a.b", "button": "Go"}, "text+link"),
    ({"text": "Hi", "image": "https://a.b/i.png", "link": "https://a.b", "button": "Go"}, "text+image+link"),
])
def test_viber_type_follows_from_the_fields(fields, viber_type):
    assert Viber("0971234567", sender="S", **fields).viber_type() == viber_type


@pytest.mark.parametrize("text, encoding, units, parts", [
    ("", "GSM-7", 0, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),
    ("€" * 81, "GSM-7", 162, 2),
    ("a" * 152 + "€", "GSM-7", 154, 1),
    ("a" * 158 + "€" + "a", "GSM-7", 161, 2),
    ("Привіт", "UCS-2", 6, 1),
    ("ї" * 70, "UCS-2", 70, 1),
    ("ї" * 71, "UCS-2", 71, 2),
    ("ї" * 134, "UCS-2", 134, 2),
    ("ї" * 135, "UCS-2", 135, 3),
    ("👋" * 35, "UCS-2", 70, 1),
    ("👋" * 36, "UCS-2", 72, 2),
    ("ї" * 66 + "👋", "UCS-2", 68, 1),
])
def test_segments_by_the_3gpp_rules(text, encoding, units, parts):
    seg = count_segments(text)
    assert (seg.encoding, seg.units, seg.parts) == (encoding, units, parts)


def test_escape_pair_never_straddles_a_part_boundary():
    # 152 septets then a two-septet euro: 154 > 153, so the euro starts part 2 in a split message
    assert count_segments("a" * 152 + "€" + "a" * 10).parts == 2
    assert count_segments("a" * 152 + "€" + "a" * 152).parts == 3


def test_surrogate_pair_never_straddles_a_part_boundary():
    assert count_segments("ї" * 66 + "👋" + "ї" * 67).parts == 3


gsm_chars = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))


@given(st.text(gsm_chars, max_size=600))
def test_gsm_text_parts_by_rule(text):
    seg = count_segments(text)
    units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    assert seg.encoding == "GSM-7" and seg.units == units
    if units <= 160:
        assert seg.parts == 1
    else:
        assert math.ceil(units / 153) <= seg.parts <= math.ceil(units / 152)


@given(st.text(min_size=1, max_size=300).filter(lambda t: any(c not in GSM7_BASIC | GSM7_EXTENSION for c in t)))
def test_unicode_text_parts_by_rule(text):
    seg = count_segments(text)
    units = len(text.encode("utf-16-le")) // 2
    assert seg.encoding == "UCS-2" and seg.units == units
    if units <= 70:
        assert seg.parts == 1
    else:
        assert math.ceil(units / 67) <= seg.parts <= math.ceil(units / 66)


@given(st.integers(0, 999_999_999))
def test_fast_ukrainian_validity_agrees_with_phonenumbers(national):
    import phonenumbers

    from alphasms_notify.phone import is_valid_ukrainian

    number = phonenumbers.PhoneNumber(country_code=380, national_number=national)
    assert is_valid_ukrainian(f"{national:09d}") == phonenumbers.is_valid_number(number) or national < 10**8


@given(st.sampled_from(["39", "50", "63", "66", "67", "68", "73", "89", "91", "92", "93", "94", "95", "96", "97",
                        "98", "99", "44", "32", "56", "80", "90", "12", "00"]), st.integers(0, 9_999_999))
def test_fast_validity_agrees_on_every_prefix(prefix, rest):
    import phonenumbers

    from alphasms_notify.phone import is_valid_ukrainian

    nsn = f"{prefix}{rest:07d}"
    number = phonenumbers.PhoneNumber(country_code=380, national_number=int(nsn))
    assert is_valid_ukrainian(nsn) == phonenumbers.is_valid_number(number)


def test_the_ua_rules_read_from_the_data_file_are_phonenumbers_own():
    import phonenumbers

    from alphasms_notify.phone import _region_metadata

    ours, theirs = _region_metadata("UA"), phonenumbers.PhoneMetadata.metadata_for_region("UA")
    for name in ("general_desc", "mobile", "fixed_line", "premium_rate", "toll_free", "shared_cost", "voip",
                 "personal_number", "pager", "uan", "voicemail"):
        mine, real = getattr(ours, name), getattr(theirs, name)
        assert (mine is None) == (real is None or real.national_number_pattern is None), name
        if mine is not None:
            assert mine.national_number_pattern == real.national_number_pattern, name
            assert tuple(mine.possible_length or ()) == tuple(real.possible_length or ()), name


@given(st.text(max_size=700), st.sampled_from([None, "Shop", "", "Very Long Sender", "Sh\nop"]),
       st.sampled_from([None, 0, 3600]))
def test_the_clients_quick_check_of_an_sms_says_what_the_full_check_says(text, sender, lifetime):
    """The client checks an SMS whose text is printable without building a probe per text; whatever the text,
    the problems it finds are those of the one full check (checks.check, then the parts limit)."""
    from alphasms_notify import AlphaSMS
    from alphasms_notify.checks import check
    from alphasms_notify.errors import ValidationError

    client = AlphaSMS("key", "http://127.0.0.1:9/api", max_parts=3)
    message = Sms(380971234567, text, sender=sender, lifetime=lifetime, id=7)
    try:
        client.validate([message])
        quick: list[tuple[str, str, str]] = []
    except ValidationError as exc:
        quick = sorted(exc.problems)
    _, full = check(Sms(380971234567, text, sender=sender, lifetime=lifetime, id=7), 0)
    client._check_parts(message, 0, full)
    assert quick == sorted(full)
