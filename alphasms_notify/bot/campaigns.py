"""``/campaigns`` and ``/campaign NAME [pause|resume]``: the operators see and steer campaigns from the chat.

The campaigns live in the bot's store (the one ``alphasms campaign`` uses with the same ``[store]``), so
what a runner on any host does shows here, and a pause here stops every runner after its batch in flight.
"""

from __future__ import annotations

from telegram import Update

from ..plugins import call_hook
from .commands import command_text
from .context import BotContext, message_of

__all__ = ["campaigns_command", "campaign_command", "CAMPAIGN_COMMANDS"]

CAMPAIGN_COMMANDS = {
    "campaigns": "Campaigns: their state and progress",
    "campaign": "One campaign: /campaign NAME [pause|resume]",
}


def _line(name: str, state: str, total: int, counts: dict[str, int], reason: str | None) -> str:
    done = counts["sent"] + counts["failed"] + counts["expired"] + counts["skipped"]
    shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n and s != "pending")
    return (f"📣 {name}: {state}{f' ({reason})' if reason else ''}, {done} of {total} done"
            + (f": {shown}" if shown else ""))


async def campaigns_command(update: Update, context: BotContext) -> None:
    store = context.services.store
    found = await store.run(store.campaigns.all)
    if not found:
        await message_of(update).reply_text("No campaigns. Make one with: alphasms campaign create NAME ...")
        return
    lines = []
    for c in found[-20:]:
        counts = await store.run(store.campaigns.counts, c.name)
        lines.append(_line(c.name, c.state, c.total, counts, c.reason))
    await message_of(update).reply_text("\n".join(lines))


async def campaign_command(update: Update, context: BotContext) -> None:
    words = command_text(message_of(update)).split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("pause", "resume")):
        await message_of(update).reply_text("Usage: /campaign NAME, /campaign NAME pause, /campaign NAME resume")
        return
    name, store = words[0], context.services.store
    found = await store.run(store.campaigns.get, name)
    if found is None:
        await message_of(update).reply_text(f"No campaign named {name}. /campaigns lists them.")
        return
    if len(words) == 2:
        pausing = words[1] == "pause"
        moved = await store.run(store.campaigns.set_state, name, "paused" if pausing else "running",
                                "paused by an operator in Telegram" if pausing else None,
                                only_from=("scheduled", "running") if pausing else ("paused",))
        if not moved:
            await message_of(update).reply_text(f"Campaign {name} is {found.state}: it cannot be "
                                                f"{'paused' if pausing else 'resumed'} now.")
            return
        if pausing:
            call_hook(context.services.plugins, "alphasms_campaign_paused", campaign=name,
                      reason="paused by an operator in Telegram")
        found = await store.run(store.campaigns.get, name) or found
    counts = await store.run(store.campaigns.counts, name)
    await message_of(update).reply_text(_line(name, found.state, found.total, counts, found.reason)
                                        + ("\nRunners go on with: alphasms campaign run " + name
                                           if found.state == "running" and len(words) == 2 else ""))
