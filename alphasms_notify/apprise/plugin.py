"""``NotifyAlphaSMS``: Apprise's ``alphasms://`` URLs, sent through this project's client.

URLs::

    alphasms://{apikey}@{sender}/{phone}/{phone}/...
    alphasms://{apikey}/{phone}/...?from={sender}&to={phone},{phone}

Arguments: ``mode=sms|viber|viber+sms`` (default sms), ``from`` (SMS
alpha-name), ``viber_from`` (Viber alpha-name, default ``from``), ``rcs_from``
(RCS sender for ``mode=rcs|rcs+sms``, default ``from``), ``image``,
``link``, ``button`` (Viber; the viber type follows from what is given),
``batch=yes|no`` (one request per ``batch_size`` targets, or one per target),
``endpoint`` (another API URL such as the sandbox; env ``ALPHASMS_API_URL``
is the fallback).

Every send goes through the project's client with the plugin hooks loaded,
so ``alphasms_prepare_message`` and ``alphasms_message_sent`` fire for
Apprise sends too; targets go out ``batch_size`` to a request with no
throttle between them.

Apprise's own retries (``retry=N``, ``wait=``) are the only ones: the
client makes one attempt per Apprise attempt. The messages built on the
first attempt are kept with ``remember``/``recall``, so every attempt
carries the same ids and the client asks the provider about any whose
outcome was unknown instead of sending it again. As Apprise's own plugins
do, ``verify=no`` skips the certificate check, ``cto=``/``rto=`` bound the
connect and the answer (an attempt takes at most cto + rto),
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` and the proxy variables are
honoured, and everything is logged through Apprise's logger. SMS longer than ``[alphasms] max_parts`` are split to fit
(``overflow=split`` is the default; ``truncate`` cuts); with
``overflow=upstream`` such a text is refused with the reason in the log.
"""

from __future__ import annotations

import math
import ssl
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from apprise.common import NotifyType, OverflowMode
from apprise.exception import AppriseImproperlyConfigured
from apprise.locale import gettext_lazy as _
from apprise.plugins.base import NotifyBase
from apprise.url import PrivacyMode
from apprise.utils.parse import parse_bool, parse_phone_no

from ..channels import Channel
from ..defaults import DEFAULT_API_URL, DEFAULT_BATCH_SIZE, DEFAULT_MAX_PARTS
from ..redact import safe_url
from ..segments import GSM7_MULTI, UCS2_MULTI, sms_units
from ..tls import ssl_context

# The client, the checks and phonenumbers load when a notification is made, not when Apprise starts.
SMS_SENDER_MAX, VIBER_TEXT_MAX = 11, 1000  # as in alphasms_notify.messages (a test checks they agree)

__all__ = ["NotifyAlphaSMS", "register"]

MODES = ("sms", "viber", "viber+sms", "rcs", "rcs+sms")
_SMS_MODES = ("sms", "viber+sms", "rcs+sms")  # the modes that send (or fall back to) an SMS
_ATTEMPT = "alphasms-messages"  # what an attempt of a notification remembers for Apprise's next retry


class NotifyAlphaSMS(NotifyBase):
    """Send SMS and Viber through AlphaSMS (alphasms.ua)."""

    service_name = _("AlphaSMS")  # type: ignore[assignment]  # None in apprise's base
    service_url = "https://alphasms.ua"  # type: ignore[assignment]  # None in apprise's base
    secure_protocol = "alphasms"  # type: ignore[assignment]  # None in apprise's base
    setup_url = "https://alphasms.ua/api/"  # type: ignore[assignment]  # None in apprise's base
    # We batch many targets into one request ourselves: no throttle between them.
    request_rate_per_sec = 0
    # SMS: max_parts parts of the text's encoding (set per notification); Viber: 1000 characters.
    body_maxlen = GSM7_MULTI * DEFAULT_MAX_PARTS
    title_maxlen = 0  # SMS and Viber have no title: Apprise merges it into the body
    attachment_support = True  # a remote http(s) attachment can be the Viber image

    templates = (  # type: ignore[assignment]  # () in apprise's base
        "{schema}://{apikey}@{sender}/{targets}", "{schema}://{apikey}/{targets}")
    template_tokens = dict(
        NotifyBase.template_tokens,
        **{
            "apikey": {"name": _("API Key"), "type": "string", "required": True, "private": True},
            "sender": {"name": _("Sender"), "type": "string", "map_to": "source"},
            "target_phone": {"name": _("Target Phone No"), "type": "string", "prefix": "+",
                             "regex": (r"^[0-9\s)(+-]+$", "i"), "map_to": "targets"},
            "targets": {"name": _("Targets"), "type": "list:string", "required": True},
        },
    )
    template_args = dict(
        NotifyBase.template_args,
        **{
            "to": {"alias_of": "targets"},
            "from": {"alias_of": "sender"},
            "source": {"alias_of": "sender"},
            "viber_from": {"name": _("Viber Sender"), "type": "string"},
            "rcs_from": {"name": _("RCS Sender"), "type": "string"},
            "mode": {"name": _("Mode"), "type": "choice:string", "values": MODES, "default": "sms"},
            "image": {"name": _("Viber Image URL"), "type": "string"},
            "link": {"name": _("Viber Button Link"), "type": "string"},
            "button": {"name": _("Viber Button Text"), "type": "string"},
            "batch": {"name": _("Batch Mode"), "type": "bool", "default": True},
            "endpoint": {"name": _("API URL"), "type": "string"},
            "category": {"name": _("Category"), "type": "choice:string", "values": ("service", "marketing")},
            "unsubscribe": {"name": _("Unsubscribe Link"), "type": "bool", "default": False},
            "shortlinks": {"name": _("Short Links"), "type": "bool", "default": False},
            "hook": {"name": _("Status Hook URL"), "type": "string"},
        },
    )

    def __init__(self, apikey: str, targets: Any = None, source: str | None = None, viber_from: str | None = None,
                 mode: str | None = None, rcs_from: str | None = None, image: str | None = None,
                 link: str | None = None, button: str | None = None, batch: bool | None = None,
                 endpoint: str | None = None, category: str | None = None, unsubscribe: bool | None = None,
                 shortlinks: bool | None = None, hook: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.apikey = (apikey or "").strip()
        if not self.apikey:
            raise AppriseImproperlyConfigured("An AlphaSMS API key is required (alphasms://KEY@Sender/PHONE).")
        self.mode = (mode or "sms").strip().lower()
        if self.mode not in MODES:
            raise AppriseImproperlyConfigured(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
        from ..plugins import settings_or_defaults

        configured = settings_or_defaults().alphasms  # senders, max_parts: the config file and the environment
        self.source = (source or "").strip() or configured.sms_sender or None
        self.viber_from = (viber_from or "").strip() or configured.viber_sender or None
        self.rcs_from = (rcs_from or "").strip() or configured.rcs_sender or None
        if not self.source and not (self.mode == "viber" and self.viber_from) and not (
                self.mode == "rcs" and self.rcs_from):
            raise AppriseImproperlyConfigured("An AlphaSMS sender (alpha-name) is required: KEY@Sender or ?from=.")
        if self.source and len(self.source) > SMS_SENDER_MAX and self.mode in _SMS_MODES:
            raise AppriseImproperlyConfigured(f"The SMS sender {self.source!r} is longer than {SMS_SENDER_MAX}.")
        self.image, self.link, self.button = image or None, link or None, button or None
        self.batch = self.template_args["batch"]["default"] if batch is None else bool(batch)
        self.endpoint = endpoint or None
        # the message category for opt-outs (NotifyBase's own ``category`` is apprise's kind of plugin)
        self.message_category = (category or "").strip().lower() or None
        if self.message_category not in (None, "service", "marketing"):
            raise AppriseImproperlyConfigured(f"category must be service or marketing, not {category!r}.")
        self.unsubscribe, self.shortlinks, self.hook = bool(unsubscribe), bool(shortlinks), hook or None
        if self.mode != "sms" and (self.unsubscribe or self.shortlinks or self.hook):
            raise AppriseImproperlyConfigured("unsubscribe=, shortlinks= and hook= are for SMS (mode=sms) only.")
        self.batch_size = DEFAULT_BATCH_SIZE if self.batch else 1
        self.max_parts = configured.max_parts
        if self.mode != "sms":
            self.body_maxlen = VIBER_TEXT_MAX
        if "overflow" not in kwargs:
            # Viber refuses over 1000 characters, SMS over max_parts: split rather than fail. A text
            # within the limit still goes as one (multipart) message.
            self.overflow_mode = OverflowMode.SPLIT

        from ..phone import InvalidPhone, normalize_phone

        self.targets: list[int] = []
        self.invalid_targets: list[str] = []
        for target in parse_phone_no(targets):
            try:
                phone = normalize_phone(target)
            except InvalidPhone as exc:
                self.logger.warning(f"Dropped invalid phone # ({target}) specified: {exc}.")
                self.invalid_targets.append(target)
                continue
            if phone not in self.targets:  # one number written two ways gets one message
                self.targets.append(phone)

    @property
    def url_identifier(self) -> tuple[str, str, str]:  # type: ignore[override]  # an attribute in apprise's base
        """One account on one endpoint: the same key on the sandbox and on AlphaSMS are two services."""
        return (self.secure_protocol, self.apikey, self.endpoint or DEFAULT_API_URL)

    def __len__(self) -> int:
        """The number of requests a notify makes: one per ``batch_size`` targets."""
        return max(1, math.ceil(len(self.targets) / self.batch_size))

    def _apply_overflow(self, body: Any, title: Any = None, overflow: Any = None, *args: Any,
                        **kwargs: Any) -> list[dict[str, str]]:
        """Apprise's split/truncate, with the SMS size in characters that ``max_parts`` parts hold
        for this text's encoding (GSM-7 or UCS-2)."""
        if self.mode in _SMS_MODES:
            text = f"{title or ''}\r\n{body or ''}"
            gsm, widest = sms_units(text)
            # characters that surely fit: a part may lose one unit at its end, as a two-unit
            # character (GSM-7 extension, emoji in UCS-2) never straddles two parts
            budget = ((GSM7_MULTI if gsm else UCS2_MULTI) - 1) * self.max_parts // widest
            self.body_maxlen = min(budget, VIBER_TEXT_MAX) if self.mode != "sms" else budget
        return super()._apply_overflow(body, title, overflow, *args, **kwargs)

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        params: dict[str, str] = {"mode": self.mode, "batch": "yes" if self.batch else "no"}
        for key in ("viber_from", "rcs_from", "image", "link", "button", "endpoint", "hook"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        if self.message_category:
            params["category"] = self.message_category
        for key in ("unsubscribe", "shortlinks"):
            if getattr(self, key):
                params[key] = "yes"
        if self.endpoint and privacy:
            params["endpoint"] = safe_url(self.endpoint)  # user:password@ in the endpoint is a secret
        params.update(self.url_parameters(*args, privacy=privacy, **kwargs))
        key = self.pprint(self.apikey, privacy, mode=PrivacyMode.Secret, safe="")
        sender = f"@{self.quote(self.source, safe='')}" if self.source else ""
        targets = [str(t) for t in self.targets] + [self.quote(t, safe="") for t in self.invalid_targets]
        return "{schema}://{key}{sender}/{targets}/?{params}".format(
            schema=self.secure_protocol, key=key, sender=sender, targets="/".join(targets),
            params=self.urlencode(params))

    def _image(self, attach: Any) -> str | None:
        """The Viber image: ``image=``, or a remote http(s) attachment. Raises LocalAttachment for a
        local one, which cannot be sent (the provider takes an image by URL only)."""
        if self.image or not attach:
            return self.image
        image = None
        for attachment in attach:
            url = getattr(attachment, "url", None)
            location = url(privacy=False) if callable(url) else ""
            if not location.startswith(("http://", "https://")):
                raise LocalAttachment(getattr(attachment, "name", None) or "attachment")
            image = image or _without_apprise_args(location)
        return image

    def _messages(self, body: str, attach: Any) -> list[Any]:
        from ..messages import build

        targets = self.targets
        if self.mode == "sms" and attach:
            raise LocalAttachment("attachment", sms=True)
        image, text = (None, body) if self.mode == "sms" else (self._image(attach), body or None)
        if self.mode != "viber" and image and text and not self.link:
            self.logger.warning(f"AlphaSMS {self.mode}: an image needs link= and button=; sending the text only.")
            image = None
        options: dict[str, Any] = {}
        if self.mode in _SMS_MODES:
            options["sms_sender"] = self.source
        if self.mode != "sms":
            options.update(image=image, link=self.link, button=self.button)
        if self.mode.startswith("viber"):
            options["viber_sender"] = self.viber_from or self.source
        elif self.mode.startswith("rcs"):
            options["rcs_sender"] = self.rcs_from or self.source
        # Without a link, the reference has no type for a picture with a text: split_image sends them
        # as two Viber messages (image, then text) so neither is lost.
        if self.mode == "sms":
            options.update(unsubscribe_link=self.unsubscribe, short_link=self.shortlinks, hook=self.hook)
        meta = {"source": "apprise", **({"category": self.message_category} if self.message_category else {})}
        return build(cast(Channel, self.mode), targets, text, meta=meta, split_image=self.mode == "viber", **options)

    def _done(self, target: int) -> bool:
        return bool(getattr(self, "is_delivered", None) and self.is_delivered(target))

    def send(self, body: str, title: str = "", notify_type: NotifyType = NotifyType.INFO, attach: Any = None,
             **kwargs: Any) -> bool:
        if not self.targets:
            self.logger.warning("There are no valid AlphaSMS targets to notify.")
            return False
        from ..errors import RequestError, ValidationError
        from ..plugins import settings_or_defaults
        from ..service import make_client

        messages = self.recall(_ATTEMPT)  # an earlier attempt of this notification: the same messages, ids kept
        if messages is None:
            try:
                messages = self._messages(body, attach)
            except (ValidationError, LocalAttachment) as exc:
                self.logger.warning(f"AlphaSMS notification not sent, invalid message: {exc}")
                return False
            self.remember(_ATTEMPT, messages)
        messages = [m for m in messages if not self._done(m.phone)]
        if not messages:
            return True  # a retry after every target was delivered
        settings = settings_or_defaults()
        settings.alphasms.api_key = self.apikey
        settings.alphasms.api_url = self.endpoint or settings.alphasms.api_url
        client = make_client(settings, batch_size=self.batch_size, retries=0,  # Apprise's retry= retries
                             timeout=float(self.socket_read_timeout),
                             connect_timeout=float(self.socket_connect_timeout),
                             verify=self._verify(), logger=self.logger)
        self.logger.debug(f"AlphaSMS POST URL: {safe_url(client.api_url)} ({len(messages)} {self.mode} message(s))")
        try:
            with client:
                outcomes = client.send(messages)
        except ValidationError as exc:
            self.logger.warning(f"AlphaSMS notification not sent, invalid message: {exc}")
            return False
        except RequestError as exc:
            self._report(exc.outcomes)
            self.logger.warning(f"Failed to send AlphaSMS notification: {exc}")
            return False
        return self._report(outcomes)

    def _verify(self) -> bool | ssl.SSLContext:
        """``verify=no``, or the CA bundle requests would use (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE)."""
        if not self.verify_certificate:
            return False
        from ..settings import ca_bundle

        return ssl_context(True, cafile=ca_bundle())  # made once per bundle, not once per chunk sent

    def _report(self, outcomes: list[Any]) -> bool:
        """Log each outcome (sent, failed, unknown) and mark the targets Apprise need not retry."""
        failed_phones = {o.message.phone for o in outcomes if not o.ok}
        for outcome in outcomes:
            phone = outcome.message.phone
            if outcome.unknown:
                self.logger.warning(f"AlphaSMS notification to {phone} may have been sent (id {outcome.message.id}):"
                                    f" {outcome.error}")
            elif not outcome.ok:
                self.logger.warning(f"Failed to send AlphaSMS notification to {phone}: {outcome.error}")
            elif phone not in failed_phones:
                self._delivered(phone)
                self.logger.info(f"Sent AlphaSMS {self.mode} notification to {phone}.")
            for line in outcome.warnings or ():
                self.logger.warning(f"AlphaSMS notification to {phone} was sent, but {line}")
        return not failed_phones

    def _delivered(self, target: int) -> None:
        if hasattr(self, "mark_delivered"):
            self.mark_delivered(target)

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:  # type: ignore[override]  # as apprise's plugins do
        results = NotifyBase.parse_url(url, verify_host=False)
        if not results:
            return results
        qsd = results["qsd"]
        if results.get("user"):
            results["apikey"] = NotifyAlphaSMS.unquote(results["user"])
            results["source"] = NotifyAlphaSMS.unquote(results["host"])
        else:
            results["apikey"] = NotifyAlphaSMS.unquote(results["host"])
        results["targets"] = NotifyAlphaSMS.split_path(results["fullpath"])
        if qsd.get("to"):
            results["targets"] += NotifyAlphaSMS.parse_phone_no(qsd["to"])
        for name in ("from", "source"):
            if qsd.get(name):
                results["source"] = NotifyAlphaSMS.unquote(qsd[name])
        for name in ("viber_from", "rcs_from", "mode", "image", "link", "button", "endpoint", "category", "hook"):
            if qsd.get(name):
                results[name] = NotifyAlphaSMS.unquote(qsd[name])
        if "batch" in qsd and qsd["batch"]:
            results["batch"] = parse_bool(qsd["batch"], True)
        for name in ("unsubscribe", "shortlinks"):
            if qsd.get(name):
                results[name] = parse_bool(qsd[name], False)
        return results


class LocalAttachment(ValueError):
    """An attachment that is not a remote http(s) URL: AlphaSMS takes a Viber image by URL only."""

    def __init__(self, name: str, *, sms: bool = False) -> None:
        super().__init__(f"attachment {name!r} cannot be sent: SMS carry no attachments" if sms else
                         f"attachment {name!r} is a local file; AlphaSMS takes a Viber image by its "
                         "http(s) URL only (use image=URL or a remote attachment)")


_ATTACH_ARGS = {"cache", "mime", "name", "verify", "rto", "cto"}


def _without_apprise_args(url: str) -> str:
    """The attachment's own URL, without the arguments Apprise adds to it (cache=, mime=, ...)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in _ATTACH_ARGS and not k.startswith(("+", "-", ":"))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def register() -> None:
    """Add ``alphasms://`` to Apprise's plugin manager (once; safe to call again)."""
    from apprise.manager_plugins import NotificationManager

    manager = NotificationManager()
    if NotifyAlphaSMS.secure_protocol not in manager.schemas():
        manager.add(NotifyAlphaSMS)
