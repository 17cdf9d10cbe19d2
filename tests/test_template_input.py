"""Templates that never run Python, and recipients counted once: the real ``alphasms`` command, the sandbox."""

from __future__ import annotations

import resource
import subprocess

import pytest
from helpers import ALPHASMS, sandbox_env

from alphasms_notify.errors import MessageRejected
from alphasms_notify.templates import MAX_TEXT, TemplateError, parse, render


def cli(sandbox, *args, stdin=None, memory_mb=None):
    def limit():  # a runaway text would need hundreds of MB: the process is not given them
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    return subprocess.run([ALPHASMS, *args], env=sandbox_env(sandbox), capture_output=True, text=True, timeout=60,
                          input=stdin, preexec_fn=limit if memory_mb else None)


@pytest.mark.parametrize("template, needle", [
    ("Hi {name.__class__.__mro__}", "field {name.__class__.__mro__}: attribute lookups ('.') are not allowed"),
    ("Hi {name[0]}", "field {name[0]}: index lookups ('[') are not allowed"),
    ("Hi {name!r}", "conversions ('!') are not allowed"),
    ("Hi {name!x}", "conversions ('!') are not allowed"),
    ("Hi {name:d}", "format specs (':') are not allowed"),
    ("Hi {name:>30000000}", "format specs (':') are not allowed"),
    ("Hi {}", "column 4: {} has no field name"),
    ("Hi {0}", None),  # a column may be named 0: a plain name, no value in this CSV
    ("Hi {name", "column 4: a '{' that is never closed"),
    ("Hi name}", "column 8: a '}' with no '{' before it"),
    ("Line one\nHi {name.x}", "line 2, column 4: field {name.x}"),
])
def test_a_template_that_is_not_plain_names_is_refused_before_anything_is_sent(alphasms_sandbox, tmp_path,
                                                                                template, needle):
    people = tmp_path / "people.csv"
    people.write_text("phone,name,name.__class__.__mro__\n0971234567,Оксана,x\n0501234567,Taras,y\n")
    result = cli(alphasms_sandbox, "send-template", "--csv", str(people), template)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    if needle:
        assert result.stderr.startswith("Error: template ") and needle in result.stderr
    else:
        assert "line 2 (0971234567): template field(s) 0 have no value; nothing was sent" in result.stderr
    assert alphasms_sandbox.messages() == []


def test_a_column_named_like_an_attribute_lookup_is_only_ever_text(alphasms_sandbox, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("phone,name,name.__class__.__mro__\n0971234567,Оксана,x\n")
    result = cli(alphasms_sandbox, "send-template", "--csv", str(people), "Hi {name}, {{braces}} stay")
    assert result.returncode == 0, result.stderr
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["Hi Оксана, {braces} stay"]


def test_a_huge_rendered_text_is_refused_while_it_is_built_in_bounded_memory(alphasms_sandbox, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("phone,name\n0971234567," + "x" * 5000 + "\n")
    template = "{name}" * 150_000  # 750 MB of text if it were built; refused at MAX_TEXT characters
    result = cli(alphasms_sandbox, "send-template", "--csv", str(people), "-", stdin=template, memory_mb=600)
    assert result.returncode == 2, result.stderr[-500:]
    assert f"the rendered text is longer than {MAX_TEXT:,} characters; nothing was sent" in result.stderr
    assert alphasms_sandbox.messages() == []


def test_render_and_parse_by_the_modules_own_rules():
    assert parse("a {x} b {{c}}") == [("a ", "x"), (" b {c}", None)]
    assert render("{Ім'я} {order id}", {"Ім'я": "Оля", "order id": "A-1"}) == "Оля A-1"
    with pytest.raises(TemplateError):
        render("{a.b}", {"a": "x"})
    with pytest.raises(MessageRejected, match="longer than 10 characters"):
        render("{a}{a}", {"a": "x" * 6}, limit=10)


def test_a_prepare_plugin_that_fails_stops_the_template_text_going_out_as_written(alphasms_sandbox):
    """Library use (meta fields): a template the renderer refuses fails that message; the text is never sent."""
    from alphasms_notify import AlphaSMS, Sms
    from alphasms_notify.plugins import make_plugin_manager

    pm = make_plugin_manager(defaults=("alphasms_notify.default_plugins.templates",))
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop", plugins=pm) as sms:
        bad, good = sms.send([Sms("0971234567", "Hi {name:d}", meta={"fields": {"name": "x"}}),
                              Sms("0501234567", "Hi {name}", meta={"fields": {"name": "Taras"}})])
    assert not bad.ok and "format specs (':') are not allowed" in bad.error
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["Hi Taras"]


def test_one_phone_written_three_ways_gets_one_message_and_a_warning(alphasms_sandbox, tmp_path):
    phones = tmp_path / "phones.txt"
    phones.write_text("0971234567\n+380971234567\n380 97 123 45 67\n0501234567\n")
    result = cli(alphasms_sandbox, "send", "--to-file", str(phones), "--to", "+38 (097) 123-45-67", "Hello")
    assert result.returncode == 0, result.stderr
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == [380501234567, 380971234567]
    assert ("warning: +380971234567 is given 4 times (+38 (097) 123-45-67, 0971234567, +380971234567, "
            "380 97 123 45 67): it gets one message") in result.stderr


def test_a_template_says_when_one_phone_is_on_several_rows(alphasms_sandbox, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("phone,order\n0971234567,A-1\n0501234567,B-2\n+380971234567,A-3\n")
    result = cli(alphasms_sandbox, "send-template", "--csv", str(people), "Order {order}")
    assert result.returncode == 0, result.stderr
    assert "warning: +380971234567 is on 2 rows (lines 2, 4): it gets a message for each" in result.stderr
    assert len(alphasms_sandbox.messages()) == 3  # one per row, as the CSV asks
