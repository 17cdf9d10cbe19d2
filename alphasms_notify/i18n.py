"""Ukrainian and English: the gettext catalogs, and which of the two the text being made is in.

Why a context variable and not a language argument: the bot serves operators
of both languages at once on one event loop. Each update's task carries its
operator's language (set by the gate), so every line made below a handler
(usage, outcomes, errors) comes out in it without a language threaded through
every function; the CLI sets it once from ``LANG``. English is the source
text, so English reads no catalog at all.

The catalog's source is ``locale/uk/LC_MESSAGES/alphasms_notify.po`` (edited
and committed); the wheel carries the ``.mo`` compiled from it at build time
(``hatch_build.py``). A source checkout has no ``.mo`` (a generated file is
never committed): there the ``.po`` is compiled in memory, with Babel, the
first time Ukrainian is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - imported when a catalog is first read: English needs none
    import gettext as _gettext

__all__ = ["LANGUAGES", "DOMAIN", "LOCALE_DIR", "gettext", "ngettext", "N_", "normalize", "language_from_env",
           "current_language", "set_language", "reset_language", "use_language", "translations"]

LANGUAGES = ("en", "uk")  # English, the source text, first
DOMAIN = "alphasms_notify"
LOCALE_DIR = Path(__file__).with_name("locale")

_current: ContextVar[str] = ContextVar("alphasms_notify_language", default="en")


def normalize(code: str | None) -> str | None:
    """One of :data:`LANGUAGES` for a Telegram ``language_code`` ("uk", "en-GB") or a locale
    ("uk_UA.UTF-8"); None for anything else (so the caller's default applies)."""
    if not code:
        return None
    base = code.replace("-", "_").split(".", 1)[0].split("@", 1)[0].split("_", 1)[0].strip().lower()
    return base if base in LANGUAGES else None


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The language a terminal asks for, looked up in gettext's own order: ``LANGUAGE`` (a list), then
    ``LC_ALL``, ``LC_MESSAGES``, ``LANG``; the first that is set decides (``C`` is English)."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if not value:
            continue
        for code in value.split(":") if name == "LANGUAGE" else [value]:
            if (found := normalize(code)) is not None:
                return found
        if name != "LANGUAGE":
            return "en"
    return "en"


def current_language() -> str:
    return _current.get()


def set_language(language: str | None) -> Token[str]:
    """Make the text of this task (and what it awaits) ``language``; an unknown one is English."""
    return _current.set(normalize(language) or "en")


def reset_language(token: Token[str]) -> None:
    _current.reset(token)


@contextmanager
def use_language(language: str | None) -> Iterator[None]:
    token = set_language(language)
    try:
        yield
    finally:
        _current.reset(token)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The catalog of ``language``: the compiled one when installed from a wheel, else the ``.po``
    compiled now; English (and any language without a catalog) translates nothing."""
    import gettext as _gettext

    if language == "en":
        return _gettext.NullTranslations()
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    compiled = folder / f"{DOMAIN}.mo"
    if compiled.is_file():
        with compiled.open("rb") as fp:
            return _gettext.GNUTranslations(fp)
    source = folder / f"{DOMAIN}.po"
    if not source.is_file():
        return _gettext.NullTranslations()
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with source.open("rb") as fp:
        catalog = read_po(fp, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def gettext(message: str) -> str:
    """``message`` in the current language (modules import it as ``_``)."""
    language = _current.get()
    return message if language == "en" else translations(language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for ``n`` (Ukrainian has three); the caller formats the number in."""
    language = _current.get()
    if language == "en":
        return singular if n == 1 else plural
    return translations(language).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translate later"
    """Mark a module-level text for the catalog; it is translated where it is shown, with :func:`gettext`."""
    return message
