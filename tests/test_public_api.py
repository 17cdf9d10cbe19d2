"""What README shows is what the package gives: every name it imports from ``alphasms_notify`` exists,
``__all__`` lists exactly the public names, and each loads."""

from __future__ import annotations

import re
from pathlib import Path

import alphasms_notify

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _readme_names() -> set[str]:
    names: set[str] = set()
    for block in re.findall(r"from alphasms_notify import \(?([^)\n]*(?:\n[^)\n]*)*?)\)?\n", README):
        names |= {n.strip() for n in block.replace("\n", ",").split(",") if n.strip().isidentifier()}
    return names


def test_every_name_readme_imports_from_the_package_is_there():
    names = _readme_names()
    assert {"AlphaSMS", "Sms", "Viber", "ViberSms"} <= names  # the parser found README's imports
    missing = sorted(n for n in names if not hasattr(alphasms_notify, n))
    assert missing == []
    assert names <= set(alphasms_notify.__all__)


def test_rcs_and_calls_are_public_as_readme_says():
    from alphasms_notify import CallOtp, OtpResult, Rcs, RcsSms

    assert Rcs("0971234567", "hi").type == "rcs" and RcsSms.type == "rcs+sms"
    assert CallOtp and OtpResult
    assert "`Rcs`, `RcsSms`" in README


def test_all_lists_only_names_that_load():
    for name in alphasms_notify.__all__:
        assert getattr(alphasms_notify, name) is not None, name
