"""The channels a send can take; its own tiny module so the CLI can offer them without loading messages."""

from __future__ import annotations

from typing import Literal

__all__ = ["Channel", "CHANNELS"]

Channel = Literal["sms", "viber", "viber+sms", "rcs", "rcs+sms"]
CHANNELS: tuple[Channel, ...] = ("sms", "viber", "viber+sms", "rcs", "rcs+sms")
