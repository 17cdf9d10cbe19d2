"""The hooks a plugin can implement. Each is documented in docs/plugins.md.

Implementations may be plain functions or ``async def``; the core awaits what
needs awaiting. A plugin that raises in a notification hook is logged by name
and the others still run; in ``alphasms_prepare_message`` any exception stops
that message (a half-prepared message, say a template left unrendered, must
never go out as it is).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import click

    from .messages import SendMessage
    from .results import MessageStatus, Outcome, Reply, StatusResult

__all__ = ["hookspec", "hookimpl", "PROJECT_NAME"]

PROJECT_NAME = "alphasms_notify"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def alphasms_prepare_message(message: SendMessage) -> None:
    """Change or refuse an outgoing message before it is validated and sent.

    :param message: an ``Sms``, ``Viber``, ``ViberSms``, ``Rcs`` or ``RcsSms``; change its fields in
        place (text, phone, sender, ``meta``; ``meta["source"]`` names the
        front end). Raise ``alphasms_notify.errors.MessageRejected("reason")``
        to stop this message: it gets a failed outcome ``rejected: reason``
        and the other messages of the batch still go out. Any other exception
        stops it too, as ``rejected: plugin NAME failed: ...``.
    """


@hookspec
def alphasms_message_sent(message: SendMessage, result: Outcome[Any]) -> None:
    """Called once for every item after its request was answered.

    :param message: the message as it was sent (phone normalized, id set).
    :param result: its ``Outcome``: ``result.ok`` and ``result.result`` (a
        ``SendResult``) on success, ``result.error`` with the provider's text on failure.
    """


@hookspec
def alphasms_batch_sent(outcomes: list[Outcome[Any]]) -> None:
    """Called once for every request batch, after ``alphasms_message_sent`` for each of its items.

    For plugins that write what was sent somewhere: one write a batch (the tracking plugin stores up to
    100 messages in one transaction) instead of one a message.

    :param outcomes: every item's ``Outcome``, in the batch's order (``outcome.message`` is the message).
    """


@hookspec
def alphasms_status_changed(
    message_id: int, old: MessageStatus | str | None, new: MessageStatus | str, status: StatusResult
) -> None:
    """A tracked message changed status.

    :param message_id: the message's ``id``.
    :param old: the status before (None the first time one is seen).
    :param new: the status now; a ``MessageStatus`` or the provider's raw text.
    :param status: the whole ``StatusResult``, replies included.
    """


@hookspec
def alphasms_reply_received(message_id: int, reply: Reply) -> None:
    """A two-way Viber reply arrived for a tracked message; called exactly once per reply.

    :param message_id: the ``id`` of the message that was answered.
    :param reply: its ``Reply`` (datetime, message text, media).
    """


@hookspec
def alphasms_verification_started(phone: int, via: str, ok: bool, reason: str, status: str) -> None:
    """A verification code was asked for ``phone``: sent by ``via`` (``ok``, ``status`` ``pending``), or not
    and why (``status``: ``rate_limited``, ``refused`` or ``failed``; ``reason`` says it in words).

    The code itself is never passed: an audit log can record this safely.
    """


@hookspec
def alphasms_verification_checked(phone: int, ok: bool, reason: str, status: str) -> None:
    """A code was checked for ``phone``: right (``ok``, ``status`` ``approved``), or not: ``status`` is
    ``wrong_code``, ``expired``, ``max_attempts_reached``, ``not_found``, ``canceled`` or ``rate_limited``."""


@hookspec
def alphasms_campaign_started(campaign: str, total: int) -> None:
    """Campaign ``campaign`` (``total`` recipients) began sending: its first runner moved it from scheduled."""


@hookspec
def alphasms_campaign_paused(campaign: str, reason: str) -> None:
    """Campaign ``campaign`` stopped sending until resumed: the money ran out, the key was refused, or an operator."""


@hookspec
def alphasms_campaign_finished(campaign: str, counts: dict[str, int]) -> None:
    """Campaign ``campaign`` has nothing left to send; ``counts`` is its recipients by state (sent, failed, ...)."""


@hookspec
def alphasms_register_bot_commands(register: Callable[..., Any]) -> None:
    """Add Telegram bot commands.

    :param register: call ``register(name, callback, description)``; the
        callback is a python-telegram-bot handler callback ``(update, context)``.
    """


@hookspec
def alphasms_register_cli_commands(cli: click.Group) -> None:
    """Add ``alphasms`` subcommands.

    :param cli: the top-level click group; use ``@cli.command()``.
    """
