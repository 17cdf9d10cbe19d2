"""The desk's commands: canned answers, a phone's history, and search.

``/snippet add NAME TEXT``, ``/snippet list``, ``/snippet del NAME``, and ``/s NAME`` in a conversation topic,
which sends the snippet to that phone with ``{name}`` and the contact's other fields filled in, the way
typing there does (the same channel, the same Confirm rules, the same road). Snippets are in the store,
so every instance and every operator has the same ones.

``/history`` in a topic (or ``/history PHONE``): that phone's last messages both ways, with statuses;
``/find TEXT``: the newest sent texts and replies containing it, each with a link to its phone's topic.

``/claim`` in a topic makes the conversation yours for ``[desk] claim_ttl`` (its title shows your name);
another operator typing there is asked before it goes out; ``/unclaim`` and ``/mine``.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from telegram import Update

from ..errors import MessageRejected
from ..i18n import N_
from ..i18n import gettext as _
from ..phone import InvalidPhone, normalize_phone
from ..store.desk import Said
from ..templates import TemplateError, parse, render
from .commands import command_args, command_text, topic_phone
from .context import BotContext, message_of
from .conversations import send_from_topic

__all__ = ["snippet_command", "use_snippet", "history_command", "find_command", "claim_command", "mine_command",
           "expire_claims", "DESK_COMMANDS"]

DESK_COMMANDS = {
    "snippet": N_("Canned answers: /snippet add NAME TEXT, /snippet list, /snippet del NAME"),
    "s": N_("In a conversation topic: /s NAME sends that snippet to its phone"),
    "history": N_("A phone's last messages both ways: /history PHONE (or in its topic)"),
    "find": N_("Search sent texts and replies: /find TEXT"),
    "claim": N_("In a conversation topic: it is yours (others are asked before they answer)"),
    "unclaim": N_("In a conversation topic: it is no longer yours"),
    "mine": N_("The conversations you have claimed"),
}
_NAME = re.compile(r"[\w-]{1,40}")


async def snippet_command(update: Update, context: BotContext) -> None:
    message, store = message_of(update), context.services.store
    action, _space, rest = command_text(message).strip().partition(" ")
    name, _space, text = rest.strip().partition(" ")
    if action == "list" and not rest.strip():
        found = await store.run(store.desk.snippets)
        await message.reply_text("\n".join(f"• {s.name}: {s.text}" for s in found) if found else
                                 _("No snippets yet. Add one: /snippet add NAME TEXT"))
        return
    if action in ("del", "delete") and name and not text:
        gone = await store.run(store.desk.delete_snippet, name)
        await message.reply_text((_("🗑 Snippet {name} deleted.") if gone else _("No snippet named {name}.")).format(
            name=name))
        return
    if action == "add" and _NAME.fullmatch(name) and text.strip():
        try:
            parse(text)  # {fields} are checked now, not when a customer is waiting
        except TemplateError as exc:
            await message.reply_text(_("❗ Not saved: {reason}").format(reason=exc.reason))
            return
        who = message.from_user.full_name if message.from_user else None
        new = await store.run(store.desk.save_snippet, name, text.strip(), who, time.time())
        await message.reply_text((_("📝 Snippet {name} saved. Use it in a topic: /s {name}") if new else
                                  _("📝 Snippet {name} replaced. Use it in a topic: /s {name}")).format(name=name))
        return
    await message.reply_text(_("Usage: /snippet add NAME TEXT ({fields} and other contact fields are filled in), "
                               "/snippet list, /snippet del NAME").format(fields="{name}"))


async def use_snippet(update: Update, context: BotContext) -> None:
    message, store = message_of(update), context.services.store
    phone = await topic_phone(update, context)
    name = command_text(message).strip()
    if phone is None:
        await message.reply_text(_("/s NAME works in a conversation topic: it sends the snippet to that phone."))
        return
    snippet = await store.run(store.desk.snippet, name) if name else None
    if snippet is None:
        await message.reply_text(_("No snippet named {name}. /snippet list shows them.").format(name=name or "?"))
        return
    contact = await store.run(store.contacts.get, phone)
    fields = {"phone": f"+{phone}", **(contact.fields if contact else {}),
              **({"name": contact.name} if contact and contact.name else {})}
    try:
        text = render(snippet.text, fields)
    except MessageRejected as exc:  # a field this contact has no value for
        await message.reply_text(_("❗ Nothing sent: snippet {name}: {reason} for +{phone} "
                                   "(/name NAME sets a name).").format(name=name, reason=exc.reason, phone=phone))
        return
    await send_from_topic(update, context, phone, text)


def _line(said: Said, link: str | None = None) -> str:
    when = datetime.fromtimestamp(said.at).strftime("%m-%d %H:%M")
    text = " ".join((said.text or _("[media]")).split())
    text = text if len(text) <= 300 else text[:299] + "…"
    arrow = f"📤 {said.status or _('sent')}" if said.out else "💬"
    return f"{when} {arrow} {text}" + (f" {link}" if link else "")


async def history_command(update: Update, context: BotContext) -> None:
    message, store = message_of(update), context.services.store
    args = (await command_args(update, context)).split()
    try:
        phone = normalize_phone(args[0]) if len(args) == 1 else None
    except InvalidPhone:
        phone = None
    if phone is None:
        await message.reply_text(_("Usage: /history PHONE, or /history in a conversation topic"))
        return
    said = await store.run(store.desk.history, phone, 15)
    if not said:
        await message.reply_text(_("Nothing sent to or received from +{phone} yet.").format(phone=phone))
        return
    await message.reply_text(_("🗂 +{phone}, the last {n}:").format(phone=phone, n=len(said)) + "\n"
                             + "\n".join(_line(s) for s in said))


async def find_command(update: Update, context: BotContext) -> None:
    message, services = message_of(update), context.services
    text = command_text(message).strip()
    if len(text) < 2:
        await message.reply_text(_("Usage: /find TEXT (at least 2 characters)"))
        return
    found = await services.store.run(services.store.desk.find, text, 20)
    if not found:
        await message.reply_text(_("Nothing sent or received contains «{text}».").format(text=text))
        return
    lines = []
    for said in found:
        lines.append(f"+{said.phone} " + _line(said, await _topic_link(services, said.phone)))
    await message.reply_text(_("🔎 «{text}», the newest {n}:").format(text=text, n=len(found)) + "\n"
                             + "\n".join(lines))


async def _topic_link(services: Any, phone: int) -> str | None:
    """A link to the phone's topic in the forum (Telegram's t.me/c/ form for supergroups), if it has one."""
    topics = services.topics
    if topics is None:
        return None
    topic = await services.store.run(services.store.topics.get, topics.chat_id, phone)
    internal = str(topics.chat_id).removeprefix("-100")
    return f"https://t.me/c/{internal}/{topic.thread_id}" if topic is not None else None


async def claim_command(update: Update, context: BotContext) -> None:
    message, services = message_of(update), context.services
    phone = await topic_phone(update, context)
    command = (message.text or "").split(None, 1)[0].lstrip("/").split("@")[0].lower()
    if phone is None or services.topics is None:
        await message.reply_text(_("/{command} works in a conversation topic.").format(command=command))
        return
    store, chat = services.store, services.topics.chat_id
    user = message.from_user
    if user is None:
        return
    if command == "unclaim":
        gone = await store.run(store.desk.unclaim, chat, phone)
        said = _("🙌 +{phone} is no longer claimed.").format(phone=phone) if gone else \
            _("Nobody has claimed this conversation.")
    else:
        ttl = services.settings.desk.claim_ttl
        await store.run(store.desk.claim, chat, phone, user.id, user.first_name or user.full_name, time.time() + ttl)
        said = _("🙋 {operator} has this conversation for {hours} h (/unclaim frees it).").format(
            operator=user.full_name, hours=f"{ttl / 3600:g}")
    await services.topics.retitle(phone)
    await message.reply_text(said)


async def mine_command(update: Update, context: BotContext) -> None:
    message, services = message_of(update), context.services
    if services.topics is None or message.from_user is None:
        await message.reply_text(_("/mine needs forum topics ([telegram] topics_chat)."))
        return
    claims = await services.store.run(services.store.desk.claims_of, services.topics.chat_id,
                                      message.from_user.id, time.time())
    if not claims:
        await message.reply_text(_("You have claimed no conversation (/claim in a topic)."))
        return
    lines = [(_("+{phone} until {time}").format(phone=c.phone, time=datetime.fromtimestamp(c.until).strftime("%H:%M"))
              + f" {await _topic_link(services, c.phone) or ''}").rstrip() for c in claims]
    await message.reply_text(_("🙋 Yours:") + "\n" + "\n".join(lines))


async def expire_claims(services: Any) -> None:
    """Claims whose time is over free their topics' titles (by whichever instance takes them)."""
    if services.topics is None:
        return
    for claim in await services.store.run(services.store.desk.expired_claims, time.time()):
        if claim.chat_id == services.topics.chat_id:
            await services.topics.retitle(claim.phone)
