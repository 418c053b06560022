"""The bot's python-telegram-bot Application, and `run_bot`, a task of `pingfan run`.

`run_bot` never calls `run_polling()` (that owns the event loop and the signals): inside the
daemon's TaskGroup it does `async with application`, `start()`, `updater.start_polling()`,
waits for the daemon's stop event, then stops the updater and the application. Stopping
makes one last getUpdates that confirms what was fetched, so nothing is answered twice after a
restart.

The bot must be the telegram sink's bot ([bot] token_env): Telegram sends a press on a button
to the bot that sent the message. The token comes only from the environment; it is kept out
of logs (redact.py) and out of reprs (`_Bot`). When the Bot API cannot be reached at start,
`run_bot` retries with a growing pause; when it refuses the token, the bot logs one line and
stays off while the rest of pingfan runs on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from telegram import BotCommand
from telegram.error import EndPointNotFound, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, ExtBot

from alerts import i18n
from alerts.bot.handlers import DigestHook, TeamBot
from alerts.bot.redact import TokenFilter, token_filtered
from alerts.sinks.telegram import SafeRequest
from monitor.config import Config, bot_mismatch
from monitor.errors import ConfigError
from monitor.store import Store

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")
FIRST_RETRY = 5.0  # seconds before trying to reach the Bot API again
LONGEST_RETRY = 300.0
# the command menu, in this order (each described by "bot.command.<name>")
COMMANDS = ("status", "top", "negative", "ugc", "kol", "digest", "label", "mute", "unmute", "help")


class _Bot(ExtBot[None]):
    """python-telegram-bot's bot, whose repr (and so the Application's) hides the token."""

    def __repr__(self) -> str:
        return "ExtBot[token=***]"


def bot_token(config: Config, env: Mapping[str, str] | None = None) -> str:
    """The token in `$[bot] token_env`; a ConfigError naming the variable when it is unset."""
    name = config.bot.token_env
    token = (os.environ if env is None else env).get(name, "").strip() if name else ""
    if not token:
        raise ConfigError(
            f"{config.source}: [bot] is enabled but ${name or '(token_env)'} is not set; "
            "export the bot token there or set [bot] enabled = false"
        )
    return token


def config_problems(config: Config, env: Mapping[str, str] | None = None) -> list[str]:
    """What stops the enabled bot from starting, one line each ([] when fine or disabled)."""
    if not config.bot.enabled:
        return []
    problems = []
    mismatch = bot_mismatch(config)
    if mismatch:
        problems.append(mismatch)
    try:
        bot_token(config, env)
    except ConfigError as err:
        problems.append(str(err))
    parts = urllib.parse.urlsplit(config.bot.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(
            f"{config.source}: [bot] base_url must be a full http(s) URL, e.g. "
            "'https://api.telegram.org/bot'"
        )
    if not config.bot.allowed_chat_ids and not config.bot.allowed_user_ids:
        problems.append(
            f"{config.source}: [bot] allows nobody; put the team's group in allowed_chat_ids "
            "(or people in allowed_user_ids)"
        )
    return problems


def build_application(
    config: Config,
    store: Store,
    *,
    token: str,
    now: Callable[[], datetime],
    digest: DigestHook | None = None,
) -> Application:
    """The Application with the team's handlers, talking to `[bot] base_url`."""
    read_timeout = 20.0
    bot = _Bot(
        token,
        base_url=config.bot.base_url,
        # SafeRequest: Telegram's retry_after clamped to 1 s .. 1 h (inf would overflow)
        request=SafeRequest(connect_timeout=10.0, read_timeout=read_timeout),
        # a long poll waits `poll_timeout` for news; python-telegram-bot adds it to this
        get_updates_request=SafeRequest(connect_timeout=10.0, read_timeout=read_timeout),
    )
    application = ApplicationBuilder().bot(bot).job_queue(None).build()
    TeamBot(config, store, now=now, digest=digest).register(application)
    return application


async def run_bot(
    config: Config,
    store: Store,
    stop: asyncio.Event,
    *,
    now: Callable[[], datetime],
    env: Mapping[str, str] | None = None,
    digest: DigestHook | None = None,
) -> None:
    """Answer the team's chat until `stop` is set, then stop cleanly and return.

    `now` is the daemon's clock (replies are about that moment); `env` the environment to read
    the token from (os.environ by default); `digest` makes /digest's text once the digest is
    built. `[bot] base_url` points it at another Bot API server (the tests' fake). Returns at
    once when `[bot] enabled` is false; raises ConfigError when the token is not set.
    """
    if not config.bot.enabled:
        log.info("chat bot: off ([bot] enabled = false)")
        return
    token = bot_token(config, env)
    with token_filtered(token) as redactor:
        pause = FIRST_RETRY
        while not stop.is_set():
            application = build_application(config, store, token=token, now=now, digest=digest)
            try:
                await _serve(application, config, stop, redactor)
                return
            except (InvalidToken, EndPointNotFound, Forbidden):
                log.error(
                    "chat bot: the Bot API at %s refused the token in $%s; the bot stays off "
                    "(fix [bot] token_env or base_url and restart); monitoring goes on",
                    _host(config.bot.base_url),
                    config.bot.token_env,
                )
                return
            except NetworkError as err:
                log.warning(
                    "chat bot: cannot reach the Bot API at %s (%s); trying again in %.0f s",
                    _host(config.bot.base_url),
                    redactor.redact(str(err))[:200],
                    pause,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, LONGEST_RETRY)


async def _serve(
    application: Application, config: Config, stop: asyncio.Event, redactor: TokenFilter
) -> None:
    async with application:  # initialize (getMe: checks the token), shutdown at the end
        await _describe_commands(application, config)
        await application.start()
        try:
            updater = application.updater
            assert updater is not None  # the builder makes one
            await updater.start_polling(
                timeout=timedelta(seconds=config.bot.poll_timeout),
                allowed_updates=ALLOWED_UPDATES,
                error_callback=lambda err: _polling_failed(err, redactor),
            )
            log.info(
                "chat bot @%s: answering %d chats and %d people",
                application.bot.username,
                len(config.bot.allowed_chat_ids),
                len(config.bot.allowed_user_ids),
            )
            try:
                await stop.wait()
            finally:
                if updater.running:
                    await updater.stop()  # one last getUpdates confirms what was fetched
        finally:
            if application.running:
                await application.stop()  # handles what was fetched, then returns
    log.info("chat bot: stopped")


async def _describe_commands(application: Application, config: Config) -> None:
    """The command menu in the chat's "/" list; a failure here costs only the menu."""
    language = config.ui.language
    commands = [BotCommand(name, i18n.t(language, f"bot.command.{name}")) for name in COMMANDS]
    try:
        await application.bot.set_my_commands(commands)
    except TelegramError as err:
        log.warning("chat bot: could not set the command menu (%s)", type(err).__name__)


def _polling_failed(err: TelegramError, redactor: TokenFilter) -> None:
    log.warning(
        "chat bot: getUpdates failed (%s: %s); python-telegram-bot retries",
        type(err).__name__,
        redactor.redact(str(err.message))[:200],
    )


def _host(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).netloc or url
    except ValueError:
        return "?"
