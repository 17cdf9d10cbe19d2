"""The smaller settings sections (``[cli]``, ``[pricing]``, ``[verify]``, ``[metrics]``, ``[plugins]``,
``[consent]``) and what every section shares; :mod:`.settings` puts them together with the main ones.

Kept apart so that :mod:`.settings` stays one screen of what a configuration file can say at the top.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

__all__ = ["CliSettings", "PricingSettings", "VerifySettings", "MetricsSettings", "PluginsSettings",
           "ConsentSettings", "DeskSettings", "Positive", "Count"]

Positive = Annotated[float, Meta(gt=0, le=1e6)]  # also refuses nan and inf
Count = Annotated[int, Meta(ge=1)]

DEFAULT_STOP_WORDS = ["стоп", "stop", "відписатися", "відписка", "відписатись", "unsubscribe", "отписаться"]
DEFAULT_START_WORDS = ["старт", "start"]


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    _secrets: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            shown.append(f"{name}={'***' if name in type(self)._secrets and value else repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"


class CliSettings(_Section):
    """``[cli]``: the ``alphasms`` command on a terminal."""

    confirm_above: Annotated[int, Meta(ge=0)] = 20  # more recipients than this: a preview and "Send?"


class PricingSettings(_Section):
    """``[pricing]``: your prices (the provider's API reports none), for a campaign's estimate; unset: none."""

    sms_part: Annotated[float, Meta(ge=0)] | None = None  # per SMS part
    viber: Annotated[float, Meta(ge=0)] | None = None  # per Viber message
    rcs: Annotated[float, Meta(ge=0)] | None = None  # per RCS message


class VerifySettings(_Section):
    """``[verify]``: phone verification codes (``alphasms verify``, :mod:`alphasms_notify.verify`)."""

    _secrets: ClassVar[tuple[str, ...]] = ("secret",)

    ttl: Positive = 300.0  # seconds a code is valid
    max_attempts: Count = 5  # wrong codes before the code is void
    cooldown: Annotated[float, Meta(ge=0, le=86400)] = 30.0  # seconds before another code to the same phone
    hourly_limit: Count = 5  # codes a phone may get in an hour
    # codes one caller (the IP or account id a web app passes) may ask for in an hour, to any phones: the
    # SMS-pumping fraud asks one form for codes to many numbers
    caller_hourly_limit: Count = 10
    global_hourly_limit: Count = 1000  # codes in all in an hour: a ceiling on what an attack can cost
    caller_hourly_checks: Count = 60  # codes one caller may check in an hour, on any phones
    # the countries (ISO 3166 codes) codes may go to; other numbers are refused before anything is sent
    countries: list[str] = msgspec.field(default_factory=lambda: ["UA"])
    code_length: Annotated[int, Meta(ge=4, le=10)] = 6
    template: str = "Ваш код: {code}. Your code: {code}"
    via: list[Literal["sms", "viber", "viber+sms", "rcs", "rcs+sms", "call"]] = msgspec.field(
        default_factory=lambda: ["sms"])  # the channels in order: the next is tried when one fails
    # the key codes are hashed with, kept out of the store (a copy of the store reveals no code); None: the
    # key file in the user's config folder, made on first use. Several hosts on one store need the same one.
    secret: str | None = None

    def __post_init__(self) -> None:
        if "{code}" not in self.template:
            raise ValueError("template: must contain {code}")
        if not self.via:
            raise ValueError("via: needs at least one channel")
        self.countries = [c.upper() for c in self.countries]
        if not self.countries:
            raise ValueError("countries: needs at least one country (codes could go nowhere)")
        from .phone import known_regions

        # the default needs no check (and loading the numbering metadata costs every command 30 ms)
        if unknown := [c for c in self.countries if c != "UA" and c not in known_regions()]:
            raise ValueError(f"countries: {', '.join(unknown)} is not an ISO 3166 country code with phone numbers"
                             " (for example UA, PL, DE)")


class MetricsSettings(_Section):
    """``[metrics]``: where the bot serves ``/healthz``, ``/readyz`` and ``/metrics`` (off when unset)."""

    # host:port, or a port alone for loopback (9464 is 127.0.0.1:9464): other hosts must be named
    address: str | None = None

    def __post_init__(self) -> None:
        if self.address is not None:
            host, _, port = self.address.rpartition(":")
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"address: expected host:port or a port (for example 127.0.0.1:9464 or 9464), "
                                 f"not {self.address!r}")

    def host_port(self) -> tuple[str, int] | None:
        if not self.address:
            return None
        host, _, port = self.address.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


class PluginsSettings(_Section):
    """``[plugins]``: a folder of ``.py`` plugins loaded by path."""

    dir: str | None = None


class ConsentSettings(_Section):
    """``[consent]``: opt-outs (:mod:`alphasms_notify.consent`): who must not get which messages."""

    # what a message without a category is: one-off sends, Apprise notifications, library sends
    default_category: Literal["service", "marketing"] = "service"
    stop_words: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_STOP_WORDS))
    start_words: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_START_WORDS))
    stop_scope: Literal["marketing", "all"] = "marketing"  # what a STOP reply opts out of
    confirm_text: str | None = None  # sent once, by the channel the reply came by, when a STOP reply opts out
    allow_restart: bool = False  # a START reply opts back in

    def __post_init__(self) -> None:
        if not self.stop_words:
            raise ValueError("stop_words: needs at least one word (or people could not say stop)")
        if self.confirm_text is not None and not self.confirm_text.strip():
            raise ValueError("confirm_text: empty; leave it out to send no confirmation")


class DeskSettings(_Section):
    """``[desk]``: the operators' desk in Telegram: office hours and the answer given outside them."""

    hours: str | None = None  # "Mon-Fri 09:00-18:00, Sat 10:00-14:00", in tz; unset: always open
    tz: str = "Europe/Kyiv"  # the recipients' time zone
    auto_reply: str | None = None  # sent by Viber to a reply outside the hours, once per phone per closed period
    claim_ttl: Positive = 4 * 3600.0  # seconds a /claim lasts: a forgotten one frees itself

    def __post_init__(self) -> None:
        if self.hours is not None:
            from .hours import parse_hours

            parse_hours(self.hours, self.tz)
        if self.auto_reply is not None and not self.auto_reply.strip():
            raise ValueError("auto_reply: empty; leave it out to send none")
        if self.auto_reply and not self.hours:
            raise ValueError("auto_reply: needs hours (outside which it is sent)")
