"""Canned answers: ``/snippet add NAME TEXT``, ``/snippet list``, ``/snippet del NAME``, and ``/s NAME`` in a
conversation topic, which sends the snippet to that phone with ``{name}`` and the contact's other fields
filled in, the way typing there does (the same channel, the same Confirm rules, the same road).

Snippets are in the store, so every instance and every operator has the same ones.
"""

from __future__ import annotations

import re
import time

from telegram import Update

from ..errors import MessageRejected
from ..templates import TemplateError, parse, render
from .commands import command_text, topic_phone
from .context import BotContext, message_of
from .conversations import send_from_topic

__all__ = ["snippet_command", "use_snippet", "DESK_COMMANDS"]

DESK_COMMANDS = {
    "snippet": "Canned answers: /snippet add NAME TEXT, /snippet list, /snippet del NAME",
    "s": "In a conversation topic: /s NAME sends that snippet to its phone",
}
_NAME = re.compile(r"[\w-]{1,40}")


async def snippet_command(update: Update, context: BotContext) -> None:
    message, store = message_of(update), context.services.store
    action, _, rest = command_text(message).strip().partition(" ")
    name, _, text = rest.strip().partition(" ")
    if action == "list" and not rest.strip():
        found = await store.run(store.desk.snippets)
        await message.reply_text("\n".join(f"• {s.name}: {s.text}" for s in found) if found else
                                 "No snippets yet. Add one: /snippet add NAME TEXT")
        return
    if action in ("del", "delete") and name and not text:
        gone = await store.run(store.desk.delete_snippet, name)
        await message.reply_text(f"🗑 Snippet {name} deleted." if gone else f"No snippet named {name}.")
        return
    if action == "add" and _NAME.fullmatch(name) and text.strip():
        try:
            parse(text)  # {fields} are checked now, not when a customer is waiting
        except TemplateError as exc:
            await message.reply_text(f"❗ Not saved: {exc.reason}")
            return
        who = message.from_user.full_name if message.from_user else None
        new = await store.run(store.desk.save_snippet, name, text.strip(), who, time.time())
        await message.reply_text(f"📝 Snippet {name} {'saved' if new else 'replaced'}. Use it in a topic: /s {name}")
        return
    await message.reply_text("Usage: /snippet add NAME TEXT ({name} and other contact fields are filled in), "
                             "/snippet list, /snippet del NAME")


async def use_snippet(update: Update, context: BotContext) -> None:
    message, store = message_of(update), context.services.store
    phone = await topic_phone(update, context)
    name = command_text(message).strip()
    if phone is None:
        await message.reply_text("/s NAME works in a conversation topic: it sends the snippet to that phone.")
        return
    snippet = await store.run(store.desk.snippet, name) if name else None
    if snippet is None:
        await message.reply_text(f"No snippet named {name or '?'}. /snippet list shows them.")
        return
    contact = await store.run(store.contacts.get, phone)
    fields = {"phone": f"+{phone}", **(contact.fields if contact else {}),
              **({"name": contact.name} if contact and contact.name else {})}
    try:
        text = render(snippet.text, fields)
    except MessageRejected as exc:  # a field this contact has no value for
        await message.reply_text(f"❗ Nothing sent: snippet {name}: {exc.reason} for +{phone} "
                                 "(/name NAME sets a name).")
        return
    await send_from_topic(update, context, phone, text)
