"""``/campaigns`` and ``/campaign NAME [pause|resume]``, and the campaigns' progress messages.

The campaigns live in the bot's store (the one ``alphasms campaign`` uses with the same ``[store]``), so
what a runner on any host does shows here, and a pause here stops every runner after its batch in flight.

A ``/campaign NAME`` answer is a progress message: each status cycle edits it while the campaign runs,
and when the campaign pauses or finishes the chat is told in a new message (an edit makes no sound).
A campaign that starts running also gets one in the desk chat (``[telegram] topics_chat``, else
``replies_chat``). Which message shows which campaign, and what each chat was last told, are in the
store: every instance edits the same messages, and one of them (the one whose compare-and-set wins)
announces each change, once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from telegram import ReplyParameters, Update
from telegram.error import BadRequest, TelegramError

from ..i18n import N_, use_language
from ..i18n import gettext as _
from ..plugins import call_hook
from ..store import Store
from ..store.campaigns import CampaignRow, Post, done_count
from .commands import command_text
from .context import BotContext, Services, message_of

__all__ = ["campaigns_command", "campaign_command", "watch_campaigns", "progress_text", "CAMPAIGN_COMMANDS"]

log = logging.getLogger("alphasms_notify.bot")

CAMPAIGN_COMMANDS = {
    "campaigns": N_("Campaigns: their state and progress"),
    "campaign": N_("One campaign: /campaign NAME [pause|resume]"),
}
# a campaign's states and its recipients' counts, as the operators read them
LABELS = {"scheduled": N_("scheduled"), "running": N_("running"), "held": N_("held"), "paused": N_("paused"),
          "finished": N_("finished"), "canceled": N_("canceled"), "pending": N_("pending"), "sent": N_("sent"),
          "failed": N_("failed"), "unknown": N_("unknown"), "expired": N_("expired"), "skipped": N_("skipped"),
          "delivered": N_("delivered"), "read": N_("read"), "replied": N_("replied"),
          "undelivered": N_("undelivered")}
_LIVE = ("scheduled", "running", "paused")
RECENT = 900.0  # seconds: a campaign that ended this recently is news to a desk that has not shown it
_NEWS = {"paused": N_("⏸ Campaign {name} paused: {reason}. Go on with /campaign {name} resume"),
         "finished": N_("✅ Campaign {name} finished: {counts}"),
         "canceled": N_("⛔ Campaign {name} canceled: {counts}")}


def _label(key: str) -> str:
    return _(LABELS[key]) if key in LABELS else key


def _shown(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {_label(s)}" for s, n in counts.items() if n and s != "pending") or _("nothing sent yet")


def _line(name: str, state: str, total: int, counts: dict[str, int], reason: str | None) -> str:
    shown = ", ".join(f"{n} {_label(s)}" for s, n in counts.items() if n and s != "pending")
    return (f"📣 {name}: {_label(state)}{f' ({reason})' if reason else ''}, "
            + _("{done} of {total} done").format(done=done_count(counts), total=total)
            + (f": {shown}" if shown else ""))


def progress_text(campaign: CampaignRow, counts: dict[str, int], delivery: dict[str, int]) -> str:
    """The progress message: the line ``/campaigns`` shows, a bar, and what the status poll learned."""
    done, total = done_count(counts), max(campaign.total, 1)
    filled = round(20 * done / total)
    lines = [_line(campaign.name, campaign.state, campaign.total, counts, campaign.reason),
             f"{'▓' * filled}{'░' * (20 - filled)} {100 * done // total}%"]
    if any(delivery.values()):  # from the status poll
        lines.append(", ".join(f"{n:,} {_label(what)}" for what, n in delivery.items() if n))
    return "\n".join(lines)


async def campaigns_command(update: Update, context: BotContext) -> None:
    store = context.services.store
    found = await store.run(store.campaigns.all)
    if not found:
        await message_of(update).reply_text(_("No campaigns. Make one with: alphasms campaign create NAME ..."))
        return
    lines = []
    for c in found[-20:]:
        counts = await store.run(store.campaigns.counts, c.name)
        lines.append(_line(c.name, c.state, c.total, counts, c.reason))
    await message_of(update).reply_text("\n".join(lines))


async def campaign_command(update: Update, context: BotContext) -> None:
    words = command_text(message_of(update)).split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("pause", "resume")):
        await message_of(update).reply_text(_("Usage: /campaign NAME, /campaign NAME pause, /campaign NAME resume"))
        return
    name, store = words[0], context.services.store
    found = await store.run(store.campaigns.get, name)
    if found is None:
        await message_of(update).reply_text(_("No campaign named {name}. /campaigns lists them.").format(name=name))
        return
    if len(words) == 2:
        pausing = words[1] == "pause"
        moved = await store.run(store.campaigns.set_state, name, "paused" if pausing else "running",
                                "paused by an operator in Telegram" if pausing else None,
                                only_from=("scheduled", "running") if pausing else ("paused",))
        if not moved:
            await message_of(update).reply_text(
                (_("Campaign {name} is {state}: it cannot be paused now.") if pausing else
                 _("Campaign {name} is {state}: it cannot be resumed now.")).format(name=name,
                                                                                     state=_label(found.state)))
            return
        if pausing:
            call_hook(context.services.plugins, "alphasms_campaign_paused", campaign=name,
                      reason="paused by an operator in Telegram")
        found = await store.run(store.campaigns.get, name) or found
    text = (await store.run(_progress, store, found))[0]
    if found.state == "running" and len(words) == 2:
        text += "\n" + _("Runners go on with: alphasms campaign run {name}").format(name=name)
    posted = await message_of(update).reply_text(text)
    if found.state in _LIVE:  # this message follows the campaign from now on (and says when it ends)
        await store.run(store.campaigns.set_post, name, posted.chat_id, posted.message_thread_id,
                        posted.message_id, text, found.state)


def _progress(store: Store, campaign: CampaignRow) -> tuple[str, dict[str, int]]:
    """The progress text, and the counts it was made of (an announcement says them too)."""
    counts = store.campaigns.counts(campaign.name)
    return progress_text(campaign, counts, store.campaigns.delivery(campaign.name)), counts


async def watch_campaigns(services: Services, bot: Any, desk: tuple[int, int | None] | None,
                          now: float | None = None) -> None:
    """One cycle: a progress message in ``desk`` (chat, thread) for each campaign that started, every
    progress message brought up to date, and each pause or end announced once in each chat."""
    store = services.store
    campaigns = {c.name: c for c in await store.run(store.campaigns.all)}
    posts = await store.run(store.campaigns.posts)
    if desk is not None:
        have = {p.campaign for p in posts if p.chat_id == desk[0]}
        for c in campaigns.values():
            if c.name not in have and c.state != "scheduled":
                with use_language(services.language_for(desk[0])):
                    await _post(store, bot, c, desk, time.time() if now is None else now)
        posts = await store.run(store.campaigns.posts)
    for post in posts:
        campaign = campaigns.get(post.campaign)
        if campaign is None:
            await store.run(store.campaigns.retire_post, post.campaign, post.chat_id)
        elif post.message_id > 0:  # 0: another instance is posting it now; -1: it said its last word
            with use_language(services.language_for(post.chat_id)):
                await _update(store, bot, post, campaign)


async def _post(store: Store, bot: Any, campaign: CampaignRow, desk: tuple[int, int | None], now: float) -> None:
    """The desk's progress message of a campaign it has not shown yet: one that runs or is paused, or ended
    in the last quarter of an hour (one long over is only marked seen: a bot's first start posts no history)."""
    chat, thread = desk
    if campaign.state in ("finished", "canceled"):
        last = await store.run(store.campaigns.last_done, campaign.name)
        if last is None or now - last > RECENT:
            if await store.run(store.campaigns.take_post, campaign.name, chat, thread, campaign.state):
                await store.run(store.campaigns.retire_post, campaign.name, chat)
            return
    # a running one's start is not news; a paused or ended one's state is, once (below, in _update)
    if not await store.run(store.campaigns.take_post, campaign.name, chat, thread,
                           campaign.state if campaign.state == "running" else None):
        return
    text = (await store.run(_progress, store, campaign))[0]
    try:
        posted = await bot.send_message(chat, text, message_thread_id=thread)
    except TelegramError as exc:
        log.warning("could not post campaign %s's progress: %s", campaign.name, exc)
        await store.run(store.campaigns.retire_post, campaign.name, chat)
        return
    await store.run(store.campaigns.set_post, campaign.name, chat, thread, posted.message_id, text,
                    campaign.state if campaign.state == "running" else None)


async def _update(store: Store, bot: Any, post: Post, campaign: CampaignRow) -> None:
    text, counts = await store.run(_progress, store, campaign)
    if text != post.shown:
        try:
            await bot.edit_message_text(text, chat_id=post.chat_id, message_id=post.message_id)
        except BadRequest as exc:  # deleted by someone, or already showing this text
            if "not modified" not in str(exc).lower():
                log.info("campaign %s's progress message in %s is gone: %s", campaign.name, post.chat_id, exc)
                await store.run(store.campaigns.retire_post, campaign.name, post.chat_id)
                return
        except TelegramError as exc:
            log.warning("could not update campaign %s's progress: %s", campaign.name, exc)
            return
        await store.run(store.campaigns.shown, campaign.name, post.chat_id, text)
    if campaign.state != post.state and \
            await store.run(store.campaigns.announce, campaign.name, post.chat_id, post.state, campaign.state):
        news = _NEWS.get(campaign.state)
        if news is not None:
            try:
                await bot.send_message(post.chat_id, _(news).format(name=campaign.name, reason=campaign.reason or
                                                                    _("no reason given"), counts=_shown(counts)),
                                       message_thread_id=post.thread_id,
                                       reply_parameters=ReplyParameters(post.message_id,
                                                                        allow_sending_without_reply=True))
            except TelegramError as exc:
                log.warning("could not announce campaign %s %s: %s", campaign.name, campaign.state, exc)
    if campaign.state in ("finished", "canceled"):
        await store.run(store.campaigns.retire_post, campaign.name, post.chat_id)  # its last word is said
