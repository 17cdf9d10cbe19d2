"""The sender options, one meaning on every command that sends: ``--sender`` is the chosen channel's sender.

``--sender`` names the sender of the channel asked for (SMS, Viber or RCS), so
``--channel viber --sender Shop`` and ``--channel sms --sender Shop`` both just
work. For ``viber+sms`` and ``rcs+sms`` it names the SMS fallback's sender too,
unless ``--sms-sender`` or the configured ``[alphasms] sms_sender`` gives that
one its own. The channel-named options say which sender they set whatever the
channel, and win over ``--sender``; a sender the channel does not use is
refused by name (``messages.build``), never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..channels import Channel

__all__ = ["sender_options", "senders_for"]

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
