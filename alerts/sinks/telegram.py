"""Telegram through python-telegram-bot: one message per alert to each chat in `chat_ids`.

HTML parse mode with every piece of alert text escaped (`safe_text.escape_html`); our own markup
is only the bold title, the post link and the italic footer. Messages longer than Telegram's
4,096 characters are split between lines; each part Telegram accepts is reported
(`Outgoing.part_sent`, kept in the outbox), and a retry sends only the parts not yet
delivered (`Outgoing.parts_sent`). A timeout or a dropped connection after a part went out
leaves its outcome unknown: the retry carries the possible-duplicate mark. Telegram's
`retry_after` is clamped to 1 s .. 1 h before python-telegram-bot reads it
(`SafeRequest`), so `inf`, `nan` or `1e12` cannot overflow its `timedelta`. Each alert
carries two inline buttons, acknowledge and mute, with callback data `ack:<alert id>` and
`mute:<alert id>`, and one row of label buttons (positive / neutral / negative) per comment
it quotes, `lab:<alert id>:<n>:<p|u|n>` for the n-th of `evidence["samples"]`: ids only,
well under 64 bytes. The chat bot
(alerts/bot/) handles the presses. `base_url` points the bot at another Bot API server (the tests'
local fake). The token is part of every request URL, so the loggers of httpx and
python-telegram-bot get a filter that blanks it while the sink is open.

Limits: at most one message a second to a chat, and 20 a minute to a group (a negative chat
id), as Telegram's Bot FAQ gives them. Every request that posts into the chat (each part, the
digest's document) waits for its turn on the sink's `Meter`, which runs on the dispatcher's
clock, and counts once accepted; the dispatcher's per-minute budget sees the same count.
python-telegram-bot's `AIORateLimiter` is not used: it lives on `telegram.ext.ExtBot`, waits
on the event loop's own clock (the tests would wait in real time), lets a burst of 20 into a
group at once (no one-a-second limit per chat), and its count is invisible to the
dispatcher, which coalesces a burst instead of queueing it for minutes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import aiohttp
import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from alerts import chat_markup, i18n, safe_text
from alerts.sinks.base import (
    Meter,
    Outgoing,
    PermanentError,
    RedactFilter,
    RejectedError,
    Sink,
    TransientError,
)
from monitor.config import SinkConfig
from monitor.runtime.delays import MAX_DELAY, clamp_delay

MESSAGE_LIMIT = 4096  # characters (UTF-16 code units) after entity parsing
READ_TIMEOUT = 20.0  # seconds for Telegram's answer (after it, the outcome is unknown)
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
MUTE_BUTTON_SECONDS = 24 * 3600  # what the mute button ("button.mute") promises
# positive, neutral, negative: the label buttons, and their codes in callback data
LABELS = (("positive", "p"), ("neutral", "u"), ("negative", "n"))
LABEL_CODES = tuple(code for _, code in LABELS)
MAX_LABEL_ROWS = 3


class SafeRequest(HTTPXRequest):
    """python-telegram-bot's HTTPX transport, with the server's `retry_after` clamped before
    the library turns it into a `timedelta` (which overflows on inf or 1e12)."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        data = HTTPXRequest.parse_json_payload(payload)
        parameters = data.get("parameters") if isinstance(data, dict) else None
        if isinstance(parameters, dict) and "retry_after" in parameters:
            seconds = clamp_delay(parameters["retry_after"])
            # unreadable (nan, text): wait as long as we ever do rather than hammer the API
            parameters["retry_after"] = math.ceil(seconds if seconds is not None else MAX_DELAY)
        return data


def outcome_unknown(err: TelegramError) -> bool:
    """Could Telegram have accepted the request that ended in `err`? Only an error that
    proves the request never left (no connection, a full pool) says no."""
    if not isinstance(err, NetworkError):
        return False  # Telegram answered: it did not take the message
    cause = err.__cause__
    return not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _library_loggers() -> list[logging.Logger]:
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".")[0] in ("telegram", "httpx", "httpcore")
    ]
    return [logging.getLogger(name) for name in sorted({*names, "httpx", "httpcore", "telegram"})]


def html_chunks(message: Outgoing, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The message as Telegram HTML, split between lines into chunks of at most `limit`."""
    lines = [f"<b>{safe_text.escape_html(message.title_line())}</b>"]
    for line in message.body_lines():
        # a single overlong line is cut before escaping, so no entity is cut in half
        for piece in safe_text.split_lines([line], limit // 2, safe_text.utf16_len):
            lines.append(safe_text.escape_html(piece))
    link = message.link()
    if link:
        label = i18n.t(message.language, "button.open_post")
        lines.append(f'<a href="{safe_text.escape_html(link)}">{label}</a>')
    lines.append(f"<i>{safe_text.escape_html(message.footer())}</i>")
    return safe_text.split_lines(lines, limit, safe_text.utf16_len)


def buttons(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons or len(message.alert_ids) != 1:
        return None
    language = i18n.lang_of(message.language)
    ack = i18n.t(language, "button.ack")
    rows = [
        [
            InlineKeyboardButton(ack, callback_data=f"ack:{message.alert_id}"),
            mute_button(language, message.alert_id),
        ]
    ]
    samples = message.evidence.get("samples")
    if isinstance(samples, list):
        quoted = [i for i, item in enumerate(samples) if isinstance(item, dict) and item.get("id")]
        rows += [label_row(language, message.alert_id, index) for index in quoted[:MAX_LABEL_ROWS]]
    return InlineKeyboardMarkup(rows)


def mute_button(language: str, alert_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(i18n.t(language, "button.mute"), callback_data=f"mute:{alert_id}")


def label_row(language: str, alert_id: int, index: int) -> list[InlineKeyboardButton]:
    """Positive / neutral / negative for the quoted comment `evidence["samples"][index]`;
    the first button says which comment ("第2条：正面")."""
    texts = [i18n.name(language, "label", label) for label, _ in LABELS]
    texts[0] = i18n.t(language, "button.label", n=index + 1, label=texts[0])
    return [
        InlineKeyboardButton(text, callback_data=f"lab:{alert_id}:{index}:{code}")
        for text, (_, code) in zip(texts, LABELS, strict=True)
    ]


PER_CHAT_PER_SECOND = 1
PER_GROUP_PER_MINUTE = 20


class _Paced:
    """The bot as the sink posts with it: each message waits for its turn, counts once sent."""

    def __init__(self, bot: Bot, meter: Meter) -> None:
        self.bot = bot
        self.meter = meter

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        await self.meter.turn()
        result = await self.bot.send_message(*args, **kwargs)
        self.meter.sent()
        return result

    async def send_document(self, *args: Any, **kwargs: Any) -> Any:
        await self.meter.turn()
        result = await self.bot.send_document(*args, **kwargs)
        self.meter.sent()
        return result


class TelegramSink(Sink):
    type = "telegram"
    per_second = PER_CHAT_PER_SECOND

    def __init__(
        self, label: str, config: SinkConfig, env: Mapping[str, str], chat_id: int
    ) -> None:
        # groups and channels have negative ids; a private chat has no per-minute limit
        self.per_minute = PER_GROUP_PER_MINUTE if chat_id < 0 else None
        super().__init__(label, config, env)
        self.chat_id = chat_id
        self._token = self.secret(config.token_env, env)
        self._bot: Bot | None = None
        self._filter = RedactFilter(self._secrets)
        self._filtered: list[logging.Logger] = []

    def target(self) -> str:
        return f"{self.config.base_url or DEFAULT_BASE_URL}|{self.chat_id}"

    async def open(self, session: aiohttp.ClientSession) -> None:
        await super().open(session)
        for logger in _library_loggers():
            logger.addFilter(self._filter)
            self._filtered.append(logger)
        bot = Bot(
            self._token,
            base_url=self.config.base_url or DEFAULT_BASE_URL,
            request=SafeRequest(connect_timeout=10.0, read_timeout=READ_TIMEOUT),
        )
        try:
            await bot.initialize()  # getMe: checks the token
        except TelegramError as err:
            await _shutdown(bot)
            raise self._translate(err) from None
        self._bot = bot

    async def close(self) -> None:
        if self._bot is not None:
            await _shutdown(self._bot)
            self._bot = None
        for logger in self._filtered:
            logger.removeFilter(self._filter)
        self._filtered.clear()

    def messages_for(self, message: Outgoing) -> int:
        if chat_markup.is_digest(message):
            return 2 if chat_markup.document(message) is not None else 1
        chunks = len(html_chunks(message))
        return chunks - min(message.parts_sent, chunks - 1)

    async def send(self, message: Outgoing) -> None:
        if self._bot is None:
            raise TransientError("not opened")
        bot = _Paced(self._bot, self.meter)
        if chat_markup.is_digest(message):
            try:  # the short summary, with the HTML page attached as a document
                await chat_markup.send_telegram(bot, self.chat_id, message)
            except TelegramError as err:
                raise self._translate(err) from None
            return
        chunks = html_chunks(message)
        first = min(message.parts_sent, len(chunks) - 1)  # the last part is always sent
        for index in range(first, len(chunks)):
            chunk = chunks[index]
            last = index == len(chunks) - 1
            try:
                await bot.send_message(
                    chat_id=self.chat_id,
                    text=chunk,
                    parse_mode="HTML",
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=buttons(message) if last else None,
                )
            except TelegramError as err:
                raise self._translate(err) from None
            if message.part_sent is not None and not last:
                message.part_sent(index + 1)  # the last part's success is the delivery's

    def _translate(self, err: TelegramError) -> Exception:
        reason = self.redact(str(err.message if hasattr(err, "message") else err))[:200]
        if isinstance(err, RetryAfter):
            with warnings.catch_warnings():  # int now, timedelta in a later major version
                warnings.simplefilter("ignore")
                wait = err.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else wait
            return TransientError(f"rate limited: {reason}", clamp_delay(seconds))
        if isinstance(err, InvalidToken | EndPointNotFound):
            return PermanentError("the bot token was rejected (check token_env and base_url)")
        if isinstance(err, Forbidden):
            return PermanentError(f"forbidden: {reason}")
        if isinstance(err, ChatMigrated):
            return PermanentError(
                f"the group became a supergroup; put {err.new_chat_id} in chat_ids"
            )
        if isinstance(err, BadRequest):
            if "chat not found" in reason.lower() or "not enough rights" in reason.lower():
                return PermanentError(reason)
            return RejectedError(reason)
        if isinstance(err, NetworkError):
            return TransientError(reason, outcome_unknown=outcome_unknown(err))
        return RejectedError(reason)


async def _shutdown(bot: Bot) -> None:
    with contextlib.suppress(TelegramError, RuntimeError):
        await bot.shutdown()
