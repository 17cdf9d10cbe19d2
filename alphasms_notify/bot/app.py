"""Build and run the Telegram application: handlers, operator gate, polling jobs.

The gate is a ``TypeHandler`` in group -1 (as in python-telegram-bot's
examples): it sees every update first, refuses strangers with their user id
(decided from the settings alone, before the store is asked anything), logs
the refusal, and stops the update before any handler (and so the provider) is
reached; an error inside the gate stops the update too (it fails closed).
In groups, only operators' commands count. It also
stops commands older than ``[telegram] max_command_age`` (typed while the bot
was down) and tells the operator; edited messages never run a command.

Every update is run once: the store records its id first (shared by every
instance), so one Telegram delivers again (after a crash before the offset
was confirmed, a webhook retried, a new polling instance) is not run twice.

On SQLite, one bot per store: the store's lock is taken before polling
starts, so a second bot on the same store refuses to start
(:class:`~alphasms_notify.store.StoreBusy`). On PostgreSQL (``[store] url``)
several instances run together: with a webhook each takes the updates it
gets; with polling one holds the getUpdates lock (:mod:`.leader`) and the
others take over when it dies; status polling, forwarding, notices, Confirm
buttons and verification codes are shared through the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, BotCommandScope, BotCommandScopeChat, BotCommandScopeChatMember, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    Updater,
    filters,
)
from telegram.request import HTTPXRequest

from ..consent import ensure_consent
from ..i18n import LANGUAGES, use_language
from ..i18n import gettext as _
from ..logs import RedactSecrets, safe_url
from ..plugins import PluginManager, call_hook, get_plugin_manager
from ..service import make_async_client
from ..settings import ConfigError, Settings
from ..status_poll import Tracker
from ..store import StoreLock, default_store_path
from ..tls import ssl_context
from ..tracking import ensure_tracking
from . import campaigns, commands, conversations, desk, optouts, pending, queries, sending
from .context import CONTEXT_TYPES, BotContext, Services
from .forwarding import TelegramForwarder
from .gate import gate
from .monitor import Monitor
from .topics import Topics, check_forum

__all__ = ["build_application", "run_bot", "running"]

BotApp = Application[Any, Any, Any, Any, Any, Any]  # the bot's context types are set at run time (CONTEXT_TYPES)

log = logging.getLogger(__name__)
# What the bot handles, and so all it asks Telegram for.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


async def poll_job(context: BotContext) -> None:
    """One tracker cycle; what it found goes straight to the forwarder (no rescan of the store)."""
    services = context.services
    now = time.time()
    if now - services.swept > 3600:  # once an hour: what no instance needs any more
        services.swept = now
        await services.store.run(services.store.bot.forget_updates, now - 7 * 86400)
        await services.store.run(services.store.bot.forget_pending, now - 86400)
    started = time.monotonic()
    stats = await services.tracker.poll_once()
    if stats.checked or stats.error:
        log.info("status poll: %d tracked, %d request(s), %d changed, %d new repl(ies)%s", stats.checked,
                 stats.requests, stats.changed, stats.replies, f", error: {stats.error}" if stats.error else "")
    forwarded = await services.forwarder.handle(stats.events)  # also retries replies Telegram refused earlier
    telegram = services.settings.telegram
    desk_chat = telegram.topics_chat if telegram.topics_chat is not None else telegram.replies_chat
    try:
        await desk.expire_claims(services)
        await campaigns.watch_campaigns(services, context.bot, (desk_chat, None) if desk_chat is not None else None)
    except Exception as exc:  # noqa: BLE001 - the campaigns' messages must never stop the status poll
        log.warning("claims or campaign progress not updated this cycle: %s: %s", type(exc).__name__, exc)
    if services.monitor is not None:
        services.monitor.poll_done(stats, time.monotonic() - started, forwarded)


async def on_error(update: object, context: BotContext) -> None:
    """Log it, and tell the operator: a command must never end in silence."""
    log.error("error while handling an update: %s", context.error, exc_info=context.error)
    if isinstance(context.error, TelegramError) and context.services.monitor is not None:
        context.services.monitor.telegram_error()
    message = update.effective_message if isinstance(update, Update) else None
    if message is None:
        return
    try:
        await message.reply_text(_("⚠️ Something went wrong with this: {error}. Check /status before sending it "
                                   "again.").format(error=f"{type(context.error).__name__}: {context.error}"))
    except TelegramError as exc:
        log.warning("could not tell the operator about the error: %s", exc)


# builder options that shape a request pool: given any, PTB builds that pool itself from them
_REQUEST_OPTIONS = {"request", "connection_pool_size", "proxy", "socket_options", "connect_timeout", "read_timeout",
                    "write_timeout", "pool_timeout", "media_write_timeout", "http_version"}


def build_application(settings: Settings, *, plugins: PluginManager | None = None,
                      **builder_options: Any) -> BotApp:
    """The bot, ready for ``run_polling``/``run_webhook`` or ``async with`` in tests and the demo."""
    telegram = settings.telegram.require()
    if not settings.store.target:
        settings.store.path = str(default_store_path())
    target = settings.store.target or str(default_store_path())
    token = telegram.token or ""  # require() refused a missing one
    plugins = plugins if plugins is not None else get_plugin_manager(settings)
    tracking = ensure_tracking(plugins, target)  # the bot always tracks what it sends
    consent = ensure_consent(plugins, target, settings.consent)  # and refuses what an opt-out forbids
    client = make_async_client(settings, plugins=plugins)
    builder = (ApplicationBuilder().token(token).base_url(telegram.api_url)
               .concurrent_updates(True)  # a slow provider call holds up only its own command
               .rate_limiter(AIORateLimiter(max_retries=5)).context_types(CONTEXT_TYPES))
    for get_updates, prefix in ((False, ""), (True, "get_updates_")):
        if not any(name.startswith(prefix) and name[len(prefix):] in _REQUEST_OPTIONS for name in builder_options):
            # PTB's own defaults, with the process's one TLS context instead of a new one per request pool
            request = HTTPXRequest(connection_pool_size=1 if get_updates else 256,
                                   httpx_kwargs={"verify": ssl_context()})
            builder = builder.get_updates_request(request) if get_updates else builder.request(request)
    for name, value in builder_options.items():
        builder = getattr(builder, name)(value)
    app = builder.build()
    try:
        store = tracking.store
        store.messages.active(limit=1)  # a corrupt file shows itself now, not at the first poll
    except Exception as exc:  # sqlite3.Error, psycopg.Error, OSError
        shown = RedactSecrets(settings.store.secrets()).redact(f"{exc}")
        raise ConfigError(f"the store {safe_url(target)} cannot be used: {shown}") from None
    if converted := pending.convert_legacy(store):  # Confirm questions an older version asked still work
        log.info("%d pending Confirm send(s) from an older version rewritten as JSON", converted)
    lock = StoreLock(target) if store.engine == "sqlite" else None  # PostgreSQL: instances share the work
    lease = telegram.poll_interval * 0.9  # each message polled about once per poll_interval, by one instance
    topics = Topics(app.bot, store, telegram.topics_chat) if telegram.topics_chat is not None else None
    # forwarding renews its lease before each post; a dead instance's replies are taken over after it
    forwarder = TelegramForwarder(app.bot, store, telegram.replies_chat, topics, consent=settings.consent,
                                  lease=max(2 * telegram.poll_interval, 10.0))
    tracker = Tracker(store, client, plugins, reply_window=telegram.reply_window, lease=lease,
                      consent=settings.consent, desk=settings.desk)
    monitor = Monitor(telegram.poll_interval, app.bot)
    plugins.register(monitor)  # counts every send of this instance, from any command
    app.bot_data.services = Services(settings, store, client, plugins, tracker, forwarder, lock, topics,
                                     monitor=monitor)
    monitor.services = app.bot_data.services
    forwarder.language_for = app.bot_data.services.language_for

    app.add_handler(TypeHandler(Update, gate), group=-1)
    described = dict(commands.COMMANDS)
    new = filters.UpdateType.MESSAGE  # not edited messages: an edit must not run a command again
    app.add_handler(CommandHandler(["start", "help"], commands.help_command, filters=new))
    app.add_handler(CommandHandler("balance", queries.balance, filters=new))
    app.add_handler(CommandHandler(["send", "viber", "vibersms", "rcs", "rcssms"], sending.send_command,
                                   filters=new))
    app.add_handler(CommandHandler("callotp", queries.callotp, filters=new))
    app.add_handler(CommandHandler("hlr", queries.hlr, filters=new))
    app.add_handler(CommandHandler("status", queries.status, filters=new))
    app.add_handler(CommandHandler("campaigns", campaigns.campaigns_command, filters=new))
    app.add_handler(CommandHandler("campaign", campaigns.campaign_command, filters=new))
    described.update(campaigns.CAMPAIGN_COMMANDS)
    app.add_handler(CommandHandler(["optout", "optin"], optouts.optout_command, filters=new))
    described.update(optouts.OPTOUT_COMMANDS)
    app.add_handler(CallbackQueryHandler(sending.confirm))
    if topics is not None:
        app.add_handler(CommandHandler("close", conversations.close_topic, filters=new))
        app.add_handler(CommandHandler("name", conversations.name_contact, filters=new))
        described.update(commands.TOPIC_COMMANDS)
        app.add_handler(CommandHandler("s", desk.use_snippet, filters=new))
        app.add_handler(CommandHandler(["claim", "unclaim"], desk.claim_command, filters=new))
        app.add_handler(CommandHandler("mine", desk.mine_command, filters=new))
    app.add_handler(CommandHandler("snippet", desk.snippet_command, filters=new))
    app.add_handler(CommandHandler("history", desk.history_command, filters=new))
    app.add_handler(CommandHandler("find", desk.find_command, filters=new))
    described.update({k: v for k, v in desk.DESK_COMMANDS.items()
                      if topics is not None or k not in ("s", "claim", "unclaim", "mine")})

    def register(name: str, callback: Any, description: str) -> None:
        app.add_handler(CommandHandler(name, callback, filters=new))
        described[name] = description

    call_hook(plugins, "alphasms_register_bot_commands", register=register)
    if topics is not None:  # before the answer-by-reply handler: in a forum every message "replies"
        app.add_handler(MessageHandler(new & filters.Chat(topics.chat_id) & ~filters.COMMAND
                                       & ~filters.StatusUpdate.ALL, conversations.topic_message))
    app.add_handler(MessageHandler(new & filters.REPLY & filters.TEXT & ~filters.COMMAND, conversations.answer_reply))
    app.add_handler(MessageHandler(new & filters.COMMAND, commands.unknown))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.COMMAND, commands.edited))
    app.add_error_handler(on_error)

    async def post_init(application: BotApp) -> None:
        if lock is not None:
            lock.acquire()  # before any forward: one bot per SQLite store
            store.leases.drop_all()  # so what a killed bot had claimed is not left waiting for its leases to end
        await application.bot.delete_my_commands()
        await _menus(application, described, telegram.operators, topics.chat_id if topics is not None else None,
                     telegram.language)
        if (where := settings.metrics.host_port()) is not None:
            await monitor.start(*where)
        assert application.job_queue is not None  # the job-queue extra is a dependency
        application.job_queue.run_repeating(poll_job, interval=telegram.poll_interval, first=telegram.poll_interval,
                                            name="alphasms-status-poll")

    async def post_shutdown(application: BotApp) -> None:
        await monitor.stop()
        plugins.unregister(monitor)
        await forwarder.aclose()
        await client.aclose()
        tracking.close()  # opens again on next use, should this manager serve another bot
        consent.close()
        if lock is not None:
            lock.release()

    app.post_init = post_init
    app.post_shutdown = post_shutdown
    return app


async def _menus(application: BotApp, described: dict[str, str], operators: frozenset[int], topics_chat: int | None,
                 forced: str | None) -> None:
    """The command menu, only in operators' private chats (strangers see none) and for operators in the support
    group; one per language (Telegram shows each user the menu of their ``language_code``, English otherwise),
    or the one ``[telegram] language`` forces."""
    for language in (forced,) if forced else LANGUAGES:
        with use_language(language):
            menu = [BotCommand(n, _(d)[:256]) for n, d in described.items()]
        code = None if forced or language == "en" else language
        for operator in sorted(operators):
            scopes: list[BotCommandScope] = [BotCommandScopeChat(operator)]
            if topics_chat is not None:
                scopes.append(BotCommandScopeChatMember(topics_chat, operator))
            for scope in scopes:
                try:
                    await application.bot.set_my_commands(menu, scope=scope, language_code=code)
                except TelegramError as exc:  # e.g. an operator who never opened the bot
                    log.warning("no command menu for operator %s (%s): %s", operator, scope.type, exc)


@asynccontextmanager
async def running(app: BotApp, *, poll_timeout: float = 1.0) -> AsyncIterator[BotApp]:
    """Run the bot inside the caller's event loop (tests, the demo), as ``run_polling`` would."""
    async with app:
        await _check_topics(app)
        await _hooks(app.post_init, app)
        await app.start()
        await _updater(app).start_polling(poll_interval=0, timeout=int(poll_timeout), allowed_updates=ALLOWED_UPDATES)
        try:
            yield app
        finally:
            await _updater(app).stop()
            await app.stop()
            await _hooks(app.post_shutdown, app)


def _updater(app: BotApp) -> Updater:
    if app.updater is None:  # built with .updater(None): a caller's own way of getting updates
        raise ConfigError("the bot was built without an updater: it cannot poll Telegram")
    return app.updater


async def _hooks(hook: Callable[[BotApp], Awaitable[None]] | None, app: BotApp) -> None:
    if hook is not None:
        await hook(app)


async def _preflight(app: BotApp) -> None:
    """Ask Telegram who the bot is: raises InvalidToken or NetworkError before anything runs
    (and ConfigError when ``topics_chat`` is not a forum the bot is in)."""
    async with app.bot:
        await app.bot.get_me()
        await _check_topics(app)


async def _check_topics(app: BotApp) -> None:
    topics = app.bot_data.services.topics
    if topics is not None:
        await check_forum(app.bot, topics.chat_id)


def run_bot(settings: Settings, *, plugins: PluginManager | None = None) -> None:
    """Run until SIGINT/SIGTERM; polling, or a webhook when ``[telegram] webhook_url`` is set.

    Raises ConfigError (a broken store), StoreBusy (another bot on the store),
    InvalidToken or NetworkError (Telegram refused or unreachable) before running.
    """
    app = build_application(settings, plugins=plugins)
    services = app.bot_data.services
    if services.lock is not None:  # refuse now, with one line, rather than from inside the polling loop's retries
        services.lock.acquire()
    asyncio.run(_preflight(app))
    telegram = settings.telegram
    if services.lock is None and not telegram.webhook_url:
        asyncio.run(_run_shared(app, settings.store.url or ""))
    elif telegram.webhook_url:
        path = urlsplit(telegram.webhook_url).path.strip("/")
        app.run_webhook(listen=telegram.listen, port=telegram.port, url_path=path, webhook_url=telegram.webhook_url,
                        secret_token=telegram.webhook_secret, allowed_updates=ALLOWED_UPDATES)
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES, timeout=10)


async def _run_shared(app: BotApp, url: str) -> None:
    """Polling with several instances on PostgreSQL: all share the store's work, the lock holder polls."""
    import signal

    from .leader import LEADER_RETRY, PollingLeader

    leader = PollingLeader(url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with app:
        await _check_topics(app)
        await _hooks(app.post_init, app)
        await app.start()
        polling = False
        try:
            while not stop.is_set():
                if not polling and await asyncio.to_thread(leader.try_acquire):
                    await _updater(app).start_polling(allowed_updates=ALLOWED_UPDATES, timeout=10)
                    polling = True
                    log.info("this instance polls Telegram now (it holds the getUpdates lock)")
                elif polling and not await asyncio.to_thread(leader.still_held):
                    await _updater(app).stop()
                    polling = False
                    log.warning("lost the getUpdates lock (the database session ended): polling stopped")
                try:
                    await asyncio.wait_for(stop.wait(), timeout=LEADER_RETRY)
                except TimeoutError:
                    pass
        finally:
            if polling:
                await _updater(app).stop()
            await app.stop()
            await _hooks(app.post_shutdown, app)
            leader.release()
