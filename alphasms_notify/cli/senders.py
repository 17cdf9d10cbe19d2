"""The sender options, one meaning on every command that sends: ``--sender`` is the chosen channel's sender.

``--sender`` names the sender of the channel asked for (SMS, Viber or RCS), so
``--channel viber --sender Shop`` and ``--channel sms --sender Shop`` both just
work. For ``viber+sms`` and ``rcs+sms`` it names the SMS fallback's sender too,
unless ``--sms-sender`` or the configured ``[alphasms] sms_sender`` gives that
one its own. The channel-named options say which sender they set whatever the
channel, and win over ``--sender``; a sender the channel does not use is
refused by name (``messages.build``), never dropped.

The message options are shared the same way: ``--category`` (what an opt-out stops) and the
provider's SMS options ``--unsubscribe-link``, ``--short-links``, ``--hook URL``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..channels import Channel

__all__ = ["message_options", "message_extras", "sender_options", "senders_for"]

F = TypeVar("F", bound=Callable[..., Any])


def sender_options(command: F) -> F:
    """Add ``--sender``, ``--sms-sender``, ``--viber-sender`` and ``--rcs-sender`` to a command."""
    for option in reversed([
        click.option("--sender", help="The sender of the chosen channel (SMS, Viber or RCS); for viber+sms and "
                                      "rcs+sms the SMS fallback's too, unless --sms-sender or [alphasms] "
                                      "sms_sender names that one."),
        click.option("--sms-sender", help="The SMS sender (the fallback's, for viber+sms and rcs+sms); "
                                          "default: --sender for sms, then [alphasms] sms_sender."),
        click.option("--viber-sender", help="The Viber sender; default: --sender, then [alphasms] viber_sender."),
        click.option("--rcs-sender", help="The RCS sender; default: --sender, then [alphasms] rcs_sender, then "
                                          "the SMS one."),
    ]):
        command = option(command)
    return command


def senders_for(channel: Channel, opts: dict[str, Any], configured_sms_sender: str | None) -> dict[str, Any]:
    """``build()``'s sender arguments for ``channel`` from the options (None: the client's default)."""
    sender = opts.get("sender")
    sms, viber, rcs = opts.get("sms_sender"), opts.get("viber_sender"), opts.get("rcs_sender")
    if sender is not None:
        if channel == "sms":
            sms = sms or sender
        elif channel.startswith("viber"):
            viber = viber or sender
        else:
            rcs = rcs or sender
        if channel.endswith("+sms") and sms is None and not configured_sms_sender:
            sms = sender  # the fallback SMS goes from the same name unless one is set for SMS
    return {"sms_sender": sms, "viber_sender": viber, "rcs_sender": rcs}


def message_options(default_category: str | None) -> Callable[[F], F]:
    """``--category`` (opt-outs: ``marketing`` or ``service``) and the provider's SMS options
    (``--unsubscribe-link``, ``--short-links``, ``--hook URL``), the same on every command that sends."""
    shown = default_category or "[consent] default_category, service unless set"

    def add(command: F) -> F:
        for option in reversed([
            click.option("--category", type=click.Choice(["marketing", "service"]), default=default_category,
                         help=f"What the message is, for opt-outs: a marketing opt-out stops marketing "
                              f"messages, not service ones (default: {shown})."),
            click.option("--unsubscribe-link", is_flag=True,
                         help="SMS: the provider appends an unsubscribe link (unsubscribe_link)."),
            click.option("--short-links", "short_link", is_flag=True,
                         help="SMS: the provider shortens the links in the text (short_link)."),
            click.option("--hook", metavar="URL", help="SMS: a URL the provider notifies about the message (hook)."),
        ]):
            command = option(command)
        return command

    return add


def message_extras(opts: dict[str, Any], source: str) -> dict[str, Any]:
    """``build()``'s meta (source, category) and SMS options from ``message_options``' values (taken out)."""
    category = opts.pop("category", None)
    meta = {"source": source, **({"category": category} if category else {})}
    return {"meta": meta, "unsubscribe_link": opts.pop("unsubscribe_link", False),
            "short_link": opts.pop("short_link", False), "hook": opts.pop("hook", None)}
