"""Build and run the Telegram application: handlers, operator gate, polling jobs.

The gate is a ``TypeHandler`` in group -1 (as in python-telegram-bot's
examples): it sees every update first, refuses strangers once with their user
id, logs the refusal, and stops the update before any handler (and so the
provider) is reached. In groups, only operators' commands count.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from ..client import AsyncAlphaSMS
from ..config import Settings
from ..plugins import PluginManager, call_hook, get_plugin_manager
from ..store import Store
from ..tracking import Tracker
from . import handlers
from .forwarding import TelegramForwarder
from .settings import BotSettings

__all__ = ["build_application", "run_bot", "running"]

log = logging.getLogger(__name__)


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    settings: BotSettings = context.application.bot_data["services"].settings
    user = update.effective_user
    if user is not None and user.id in settings.operators:
        return
    message = update.effective_message
    chat = update.effective_chat
    is_command = bool(message and message.text and message.text.startswith("/"))
    if chat is not None and chat.type != "private" and not is_command and update.callback_query is None:
        raise ApplicationHandlerStop  # group chatter from non-operators is simply not for us
    who = f"{user.id} (@{user.username})" if user else "unknown user"
    log.warning("refused %s in chat %s", who, chat.id if chat else "?")
    if update.callback_query is not None:
        await update.callback_query.answer("Only operators can do that.", show_alert=True)
    elif message is not None and user is not None:
        await message.reply_text(f"⛔ This bot is for operators only. Your Telegram user id is {user.id}; "
                                 "ask an administrator to add it to [telegram] operators.")
    raise ApplicationHandlerStop


async def poll_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    data = context.application.bot_data
    stats = await data["tracker"].poll_once()
    if stats.checked or stats.error:
        log.info("status poll: %d tracked, %d request(s), %d changed, %d new repl(ies)%s", stats.checked,
                 stats.requests, stats.changed, stats.replies, f", error: {stats.error}" if stats.error else "")
    await data["forwarder"].forward_pending()  # replies Telegram refused earlier


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling an update: %s", context.error, exc_info=context.error)


def build_application(alphasms: Settings, settings: BotSettings, *, plugins: PluginManager | None = None,
                      **builder_options: Any) -> Application:
    """The bot, ready for ``run_polling``/``run_webhook`` or ``async with`` in tests and the demo."""
    plugins = plugins if plugins is not None else get_plugin_manager()
    options = alphasms.client_options()
    if not options["api_key"]:
        raise ValueError("no AlphaSMS API key: set ALPHASMS_API_KEY or [alphasms] api_key")
    builder = (ApplicationBuilder().token(settings.token).base_url(settings.api_url)
               .rate_limiter(AIORateLimiter(max_retries=5)))
    for name, value in builder_options.items():
        builder = getattr(builder, name)(value)
    app = builder.build()
    store = Store(settings.store_path)
    client = AsyncAlphaSMS(plugins=plugins, **options)
    services = handlers.Services(settings, alphasms, store, client, plugins)
    forwarder = TelegramForwarder(app.bot, store, settings.replies_chat)
    app.bot_data.update(services=services, forwarder=forwarder,
                        tracker=Tracker(store, client, plugins, reply_window=settings.reply_window))

    app.add_handler(TypeHandler(Update, gate), group=-1)
    commands = dict(handlers.COMMANDS)
    app.add_handler(CommandHandler(["start", "help"], handlers.help_command))
    app.add_handler(CommandHandler("balance", handlers.balance))
    app.add_handler(CommandHandler(["send", "viber", "vibersms"], handlers.send_command))
    app.add_handler(CommandHandler("hlr", handlers.hlr))
    app.add_handler(CommandHandler("status", handlers.status))
    app.add_handler(CallbackQueryHandler(handlers.confirm, pattern=r"^(ok|no):"))

    def register(name: str, callback: Any, description: str) -> None:
        app.add_handler(CommandHandler(name, callback))
        commands[name] = description

    call_hook(plugins, "alphasms_register_bot_commands", register=register)
    app.add_handler(MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, handlers.answer_reply))
    app.add_handler(MessageHandler(filters.COMMAND, handlers.unknown))
    app.add_error_handler(on_error)

    async def post_init(application: Application) -> None:
        plugins.register(forwarder, name="telegram-forwarder")
        await application.bot.set_my_commands([BotCommand(n, d[:256]) for n, d in commands.items()])
        application.job_queue.run_repeating(poll_job, interval=settings.poll_interval, first=settings.poll_interval,
                                            name="alphasms-status-poll")

    async def post_shutdown(application: Application) -> None:
        if plugins.is_registered(forwarder):
            plugins.unregister(forwarder)
        await forwarder.aclose()
        await client.aclose()
        store.close()

    app.post_init = post_init
    app.post_shutdown = post_shutdown
    return app


@asynccontextmanager
async def running(app: Application, *, poll_timeout: float = 1.0) -> AsyncIterator[Application]:
    """Run the bot inside the caller's event loop (tests, the demo), as ``run_polling`` would."""
    async with app:
        await app.post_init(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=int(poll_timeout), allowed_updates=Update.ALL_TYPES)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
            await app.post_shutdown(app)


def run_bot(alphasms: Settings, settings: BotSettings, *, plugins: PluginManager | None = None) -> None:
    """Run until SIGINT/SIGTERM; polling, or a webhook when ``webhook_url`` is set."""
    app = build_application(alphasms, settings, plugins=plugins)
    if settings.webhook_url:
        path = urlsplit(settings.webhook_url).path.strip("/")
        app.run_webhook(listen=settings.listen, port=settings.port, url_path=path, webhook_url=settings.webhook_url,
                        secret_token=settings.webhook_secret, allowed_updates=Update.ALL_TYPES)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=10)
