"""What can be sent or asked, the one factory that builds it, and the rules it must meet.

Every front end (library, CLI, Apprise, Telegram, templates) turns what a
person asked for into messages through :func:`build`, and the rules live here
once: which Viber type a set of fields makes (:data:`VIBER_TYPE_FIELDS`, also
used by the codec), the viber+sms fallback text (:attr:`ViberSms.fallback_text`),
and the limits; the checks themselves are :mod:`alphasms_notify.checks`. Messages are
plain mutable dataclasses so that ``alphasms_prepare_message`` plugins can change them.

Two fields of a send message are the client's, documented here rather than hidden
on the object: ``sent``, how the last send of this very object ended (its
``SendResult``, ``"unknown"`` when the provider may have it, or None), and
``id_drawn``, that the client drew its ``id`` (the caller did not choose it). A
resend of the same objects, by any layer (Apprise's ``retry=``, a loop around
``send``), reads them: what was accepted is not sent again, what is unknown is
asked about first, and only a drawn id is trusted to be this message's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from .channels import CHANNELS, Channel  # noqa: F401 - re-exported
from .errors import ValidationError
from .i18n import gettext as _

__all__ = [
    "Sms",
    "Viber",
    "ViberSms",
    "Rcs",
    "RcsSms",
    "CallOtp",
    "Hlr",
    "Balance",
    "Status",
    "Message",
    "SendMessage",
    "Channel",
    "CHANNELS",
    "ViberType",
    "VIBER_TYPE_FIELDS",
    "build",
    "label_of",
    "replaced",
    "to_data",
    "from_data",
    "SMS_SENDER_MAX",
    "VIBER_SENDER_MAX",
    "VIBER_TEXT_MAX",
    "VIBER_BUTTON_MAX",
]

SMS_SENDER_MAX = 11  # alphanumeric originator limit of GSM (TP-OA)
VIBER_SENDER_MAX = 28  # Viber business sender names
VIBER_TEXT_MAX = 1000
VIBER_BUTTON_MAX = 30

ViberType = Literal["text", "image", "text+link", "text+image+link"]

# The reference's Viber types and the message fields each one carries: the one table both the
# checks (which type do these fields make?) and the codec (which keys go on the wire?) read.
VIBER_TYPE_FIELDS: dict[ViberType, tuple[str, ...]] = {
    "text": ("text",),
    "image": ("image",),
    "text+link": ("text", "link", "button"),
    "text+image+link": ("text", "image", "link", "button"),
}
_TYPE_OF_FIELDS = {frozenset(names): kind for kind, names in VIBER_TYPE_FIELDS.items()}


@dataclass
class _Viberish:
    """Fields shared by Viber and Viber-with-SMS-fallback messages."""

    def viber_type(self) -> ViberType | None:
        """The reference's ``viber_type`` that the given fields make, or None if none fits."""
        given = frozenset(name for name in ("text", "image", "link", "button") if getattr(self, name))
        return _TYPE_OF_FIELDS.get(given)


@dataclass
class Sms:
    """An SMS. ``sender`` is the alpha-name (``sms_signature``); None means the client default."""

    phone: str | int
    text: str
    sender: str | None = None
    id: int | None = None
    lifetime: int | None = None  # sms_lifetime, seconds; sent only when given
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sent: Any = field(default=None, compare=False, repr=False)  # kept by the client: see the module's note
    id_drawn: bool = field(default=False, compare=False, repr=False)  # kept by the client: see the note
    # the provider's per-SMS options, sent only when asked for: it appends an unsubscribe link, shortens
    # the links in the text, and notifies ``hook`` (an http(s) URL) of the message's progress
    unsubscribe_link: bool = False
    short_link: bool = False
    hook: str | None = None
    type: ClassVar[str] = "sms"


@dataclass
class Viber(_Viberish):
    """A Viber message; the fields given choose the ``viber_type`` (see :meth:`viber_type`)."""

    phone: str | int
    text: str | None = None
    image: str | None = None
    link: str | None = None
    button: str | None = None
    sender: str | None = None
    id: int | None = None
    lifetime: int | None = None  # viber_lifetime, seconds; sent only when given
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sent: Any = field(default=None, compare=False, repr=False)  # kept by the client: see the module's note
    id_drawn: bool = field(default=False, compare=False, repr=False)  # kept by the client: see the note
    type: ClassVar[str] = "viber"


@dataclass
class ViberSms(_Viberish):
    """Viber first; if it cannot be delivered, the provider sends ``sms_text`` by SMS."""

    phone: str | int
    text: str | None = None
    sms_text: str | None = None  # None: the Viber text
    image: str | None = None
    link: str | None = None
    button: str | None = None
    sender: str | None = None  # Viber alpha-name
    sms_sender: str | None = None
    id: int | None = None
    viber_lifetime: int | None = None
    sms_lifetime: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sent: Any = field(default=None, compare=False, repr=False)  # kept by the client: see the module's note
    id_drawn: bool = field(default=False, compare=False, repr=False)  # kept by the client: see the note
    type: ClassVar[str] = "viber+sms"

    @property
    def fallback_text(self) -> str | None:
        """What goes by SMS when Viber cannot deliver: ``sms_text``, or the Viber text when not given."""
        return self.sms_text if self.sms_text is not None else self.text


@dataclass
class Rcs(_Viberish):
    """An RCS message: text, image, a link with its button.

    The provider publishes no rules for RCS (which combinations it takes, its
    limits), so the checks are Viber's: a text or an image, a link needs a
    button, an image with a text needs a link. Only the fields given are sent.
    """

    phone: str | int
    text: str | None = None
    image: str | None = None
    link: str | None = None
    button: str | None = None
    sender: str | None = None  # rcs_signature
    id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sent: Any = field(default=None, compare=False, repr=False)  # kept by the client: see the module's note
    id_drawn: bool = field(default=False, compare=False, repr=False)  # kept by the client: see the note
    type: ClassVar[str] = "rcs"


@dataclass
class RcsSms(_Viberish):
    """RCS first; if it cannot be delivered, the provider sends ``sms_text`` by SMS."""

    phone: str | int
    text: str | None = None
    sms_text: str | None = None  # None: the RCS text
    image: str | None = None
    link: str | None = None
    button: str | None = None
    sender: str | None = None  # RCS sender
    sms_sender: str | None = None
    id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sent: Any = field(default=None, compare=False, repr=False)  # kept by the client: see the module's note
    id_drawn: bool = field(default=False, compare=False, repr=False)  # kept by the client: see the note
    type: ClassVar[str] = "rcs+sms"

    @property
    def fallback_text(self) -> str | None:
        """What goes by SMS when RCS cannot deliver: ``sms_text``, or the RCS text when not given."""
        return self.sms_text if self.sms_text is not None else self.text


@dataclass
class CallOtp:
    """Verify a phone by a call: the provider calls it, and the caller's number ends with the code."""

    phone: str | int
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    type: ClassVar[str] = "call/otp"


@dataclass
class Hlr:
    """Ask the network about a number: is it live, which operator, ported or not."""

    phone: str | int
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    type: ClassVar[str] = "hlr"


@dataclass
class Balance:
    """Ask for the account balance."""

    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    type: ClassVar[str] = "balance"


@dataclass
class Status:
    """Ask for the delivery status (and Viber replies) of a message by its ``id``."""

    id: int
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    type: ClassVar[str] = "status"


SendMessage = Sms | Viber | ViberSms | Rcs | RcsSms
Message = Sms | Viber | ViberSms | Rcs | RcsSms | CallOtp | Hlr | Balance | Status
RICH = (Viber, ViberSms, Rcs, RcsSms)  # the channels with a text, an image and a button
WITH_SMS_FALLBACK = (ViberSms, RcsSms)
_SEND_BY_TYPE: dict[str, type[SendMessage]] = {c.type: c for c in (Sms, Viber, ViberSms, Rcs, RcsSms)}


M = TypeVar("M", bound="Message")


def replaced(message: M, **changes: Any) -> M:
    """A shallow copy of ``message`` with ``changes``: what ``copy.copy`` and setting them make (the client's
    own fields, ``id_drawn`` and ``sent``, kept), at a third of its cost, since batches copy thousands. Nothing
    is checked here: the checks make their copies with it."""
    ready = object.__new__(type(message))
    ready.__dict__.update(message.__dict__)
    ready.__dict__.update(changes)
    return ready


def label_of(message: Message, index: int | None = None) -> str:
    """A short name for a message in errors: its position, type and recipient."""
    name = _("message {n}").format(n=index + 1) if index is not None else _("message")
    detail = message.type
    phone = getattr(message, "phone", None)
    if phone not in (None, ""):
        detail += " " + _("to {phone}").format(phone=phone)
    if getattr(message, "id", None) is not None:
        detail += f", id {message.id}"  # type: ignore[union-attr]
    return f"{name} ({detail})"


def build(
    channel: Channel,
    phones: str | int | Iterable[str | int],
    text: str | None = None,
    *,
    image: str | None = None,
    link: str | None = None,
    button: str | None = None,
    sms_text: str | None = None,
    sms_sender: str | None = None,
    viber_sender: str | None = None,
    rcs_sender: str | None = None,
    id: int | None = None,
    meta: Mapping[str, Any] | None = None,
    split_image: bool = False,
    unsubscribe_link: bool = False,
    short_link: bool = False,
    hook: str | None = None,
) -> list[SendMessage]:
    """Turn what a person asked for into messages: one per phone, in order.

    The one place every front end (CLI, bot, Apprise, templates) builds sends,
    so an option means the same everywhere. Options that the channel cannot
    carry are refused (:class:`ValidationError` naming the field) rather than
    silently dropped; everything else is checked later by :func:`check`, after
    plugins had their say. ``None`` senders mean the client's defaults.
    ``split_image`` (channel viber): an image with a text but no link (a
    combination the reference has no Viber type for) goes as two Viber
    messages, image then text, instead of being refused; Apprise uses it so an
    attachment is not lost.
    """
    if channel not in CHANNELS:
        raise ValidationError([("message", "channel", _("must be one of {channels}, not {channel}").format(
            channels=", ".join(CHANNELS), channel=repr(channel)))])
    targets = [phones] if isinstance(phones, str | int) else list(phones)
    problems: list[tuple[str, str, str]] = []
    if not targets:
        problems.append(("message", "phone", _("no recipient given")))
    if id is not None and len(targets) > 1:
        problems.append(("message", "id", _("can only be used with one recipient")))
    unfit: dict[str, Any] = {"sms": {"image": image, "link": link, "button": button, "sms_text": sms_text,
                     "viber_sender": viber_sender, "rcs_sender": rcs_sender},
             "viber": {"sms_text": sms_text, "sms_sender": sms_sender, "rcs_sender": rcs_sender},
             "viber+sms": {"rcs_sender": rcs_sender},
             "rcs": {"sms_text": sms_text, "sms_sender": sms_sender, "viber_sender": viber_sender},
             "rcs+sms": {"viber_sender": viber_sender}}[channel]
    if channel != "sms":  # the provider's SMS-only options
        unfit.update(unsubscribe_link=unsubscribe_link or None, short_link=short_link or None, hook=hook)
    for name, value in unfit.items():
        if value is not None:
            problems.append(("message", name, _("is not used by the {channel} channel").format(channel=channel)))
    if problems:
        raise ValidationError(problems)
    extra = meta or {}  # each message gets its own copy below: plugins may change one message's meta
    if channel == "sms":
        return [Sms(p, text or "", sender=sms_sender, id=id, meta=dict(extra), unsubscribe_link=unsubscribe_link,
                    short_link=short_link, hook=hook) for p in targets]
    text = text or None
    if channel == "rcs":
        return [Rcs(p, text, image=image, link=link, button=button, sender=rcs_sender, id=id, meta=dict(extra))
                for p in targets]
    if channel == "rcs+sms":
        return [RcsSms(p, text, sms_text=sms_text, image=image, link=link, button=button, sender=rcs_sender,
                       sms_sender=sms_sender, id=id, meta=dict(extra)) for p in targets]
    if channel == "viber":
        if split_image and image and text and not link:
            return [m for p in targets for m in (Viber(p, image=image, sender=viber_sender, meta=dict(extra)),
                                                 Viber(p, text, sender=viber_sender, meta=dict(extra)))]
        return [Viber(p, text, image=image, link=link, button=button, sender=viber_sender, id=id, meta=dict(extra))
                for p in targets]
    return [ViberSms(p, text, sms_text=sms_text, image=image, link=link, button=button, sender=viber_sender,
                     sms_sender=sms_sender, id=id, meta=dict(extra)) for p in targets]


def _field_names(cls: type) -> tuple[str, ...]:
    import dataclasses

    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # looked up per message: a campaign stores 100,000


def to_data(message: SendMessage) -> dict[str, Any]:
    """A send message as plain data (``{"type", "fields"}``), for rows that outlive this code's classes
    (Confirm questions, campaigns): never pickled. How its last send ended (``sent``) is left out."""
    import orjson

    fields = {name: getattr(message, name) for name in _field_names(type(message)) if name != "sent"}
    meta = fields.get("meta") or {}
    # what a plugin put there, as JSON would keep it
    fields["meta"] = orjson.loads(orjson.dumps(meta, default=str, option=orjson.OPT_NON_STR_KEYS)) if meta else {}
    return {"type": message.type, "fields": fields}


def from_data(data: Mapping[str, Any]) -> SendMessage:
    """The message :func:`to_data` stored; fields this version does not know are left out."""
    cls = _SEND_BY_TYPE.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"a stored message of unknown type {data.get('type')!r}")
    known = _field_names(cls)
    return cls(**{k: v for k, v in data["fields"].items() if k in known})
