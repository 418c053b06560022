"""The bot's commands and button presses, as python-telegram-bot handlers.

Each command answers in one message, from the store's named queries, written by `Replies`.
Presses (callbacks.py lists the data) change state in the store, then the message they came
from: an acknowledged alert gains a line saying who and when; a muted one's mute button turns
into an undo button; a label given on a quoted comment is checked on its row; a /label card
shows the next comment. A press whose data is not on its message's keyboard is refused as
forged, one naming an alert or a comment the store no longer holds as stale; both say so.

Handlers run one update at a time on the daemon's event loop, so they share the store with
the rest of `pingfan run` without locks; every query they run is small (monitor/store/team.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from alerts import i18n, safe_text
from alerts.bot import callbacks
from alerts.bot.auth import Gate
from alerts.bot.callbacks import Press
from alerts.bot.label_choice import next_label_candidate, record_label_answer
from alerts.bot.replies import MESSAGE_LIMIT, Replies, fit, parse_window
from alerts.sinks.telegram import MUTE_BUTTON_SECONDS, mute_button
from monitor.config import Config
from monitor.models import PLATFORMS
from monitor.store import Store

log = logging.getLogger(__name__)

DigestHook = Callable[[datetime], Awaitable[str]]  # this week's digest at a time, as plain text
Context = ContextTypes.DEFAULT_TYPE

DAY = 86400.0
WINDOW_SHORTEST, WINDOW_LONGEST = 3600.0, 30 * DAY  # /top, /negative, /kol
DEFAULT_MUTE = DAY
MUTE_SHORTEST, MUTE_LONGEST = 60.0, 365 * DAY
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_PLATFORM_WORDS: dict[str, str] = {
    **{p: p for p in PLATFORMS},
    **{i18n.platform_name(lang, p): p for lang in i18n.LANGUAGES for p in PLATFORMS},
}


@dataclass(frozen=True)
class Subject:
    """What a /mute or /unmute names: a post or account, or the subject of an alert."""

    platform: str | None
    id: str
    alert_id: int | None = None


class Refused(Exception):
    """A press that is not honoured; `key` is the catalogue line that says why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


class TeamBot:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        now: Callable[[], datetime],
        digest: DigestHook | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.now = now
        self.digest_hook = digest
        self.replies = Replies(config, store)
        self.gate = Gate(config.bot, self.replies)

    def register(self, application: Application) -> None:
        application.add_handler(TypeHandler(Update, self.gate.check), group=-1)
        commands = {
            "status": self.status,
            "top": self.top,
            "negative": self.negative,
            "ugc": self.ugc,
            "kol": self.kol,
            "digest": self.digest,
            "label": self.label,
            "mute": self.mute,
            "unmute": self.unmute,
            "help": self.help,
            "start": self.help,
        }
        for name, callback in commands.items():
            application.add_handler(CommandHandler(name, callback))
        application.add_handler(MessageHandler(filters.COMMAND, self.unknown))
        application.add_handler(CallbackQueryHandler(self.press))
        application.add_error_handler(self.on_error)

    # --- replies ----------------------------------------------------------------------

    async def send(
        self, update: Update, html: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        await chat.send_message(
            html, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW, reply_markup=markup
        )

    # --- commands ---------------------------------------------------------------------

    async def help(self, update: Update, context: Context) -> None:
        await self.send(update, self.replies.help())

    async def unknown(self, update: Update, context: Context) -> None:
        message = update.effective_message
        command = (message.text or "").split()[0] if message and message.text else ""
        _, at, addressee = command.partition("@")
        if at and addressee.lower() != (context.bot.username or "").lower():
            return  # a command for another bot in the same group
        await self.send(update, self.replies.line("unknown"))

    async def status(self, update: Update, context: Context) -> None:
        await self.send(update, self.replies.status(self.now()))

    async def top(self, update: Update, context: Context) -> None:
        seconds = await self._window(update, context, DAY)
        if seconds is not None:
            await self.send(update, self.replies.top(self.now(), seconds))

    async def negative(self, update: Update, context: Context) -> None:
        seconds = await self._window(update, context, DAY)
        if seconds is not None:
            await self.send(update, self.replies.negative(self.now(), seconds))

    async def ugc(self, update: Update, context: Context) -> None:
        await self.send(update, self.replies.ugc(self.now()))

    async def kol(self, update: Update, context: Context) -> None:
        seconds = await self._window(update, context, 7 * DAY)
        if seconds is not None:
            await self.send(update, self.replies.kol(self.now(), seconds))

    async def digest(self, update: Update, context: Context) -> None:
        if self.digest_hook is None:
            await self.send(update, self.replies.line("digest.missing"))
            return
        text = await self.digest_hook(self.now())
        lines = [safe_text.escape_html(safe_text.clean_line(line)) for line in text.splitlines()]
        await self.send(update, fit(line for line in lines if line))

    async def label(self, update: Update, context: Context) -> None:
        candidate = next_label_candidate(self.store)
        markup = self._card_keyboard(candidate.pk) if candidate else None
        await self.send(update, self.replies.label(candidate), markup)

    async def mute(self, update: Update, context: Context) -> None:
        args = context.args or []
        now = self.now()
        if not args:
            await self.send(update, self.replies.mutes(self.store.team.mutes_at(now)))
            return
        if len(args) > 2:
            await self.send(update, self.replies.line("mute.usage"))
            return
        seconds = DEFAULT_MUTE
        if len(args) == 2:
            parsed = parse_window(
                args[1], DEFAULT_MUTE, shortest=MUTE_SHORTEST, longest=MUTE_LONGEST
            )
            if parsed is None:
                await self.send(update, self._bad_window(args[1], MUTE_SHORTEST, MUTE_LONGEST))
                return
            seconds = parsed
        subject = self.resolve(args[0])
        if isinstance(subject, str):
            await self.send(update, subject)
            return
        until = now + timedelta(seconds=seconds)
        self.store.outbox.mute(
            subject.platform,
            subject.id,
            until,
            at=now,
            by=display_name(update.effective_user),
            reason=f"alert {subject.alert_id}" if subject.alert_id else "/mute",
        )
        await self.send(
            update,
            self.replies.line(
                "mute.done", subject=self.subject_text(subject), until=self.replies.time(until)
            ),
        )

    async def unmute(self, update: Update, context: Context) -> None:
        args = context.args or []
        if len(args) != 1:
            await self.send(update, self.replies.line("mute.usage"))
            return
        subject = self.resolve(args[0])
        if isinstance(subject, str):
            await self.send(update, subject)
            return
        done = self.store.outbox.unmute(subject.platform, subject.id)
        key = "unmute.done" if done else "unmute.none"
        await self.send(update, self.replies.line(key, subject=self.subject_text(subject)))

    async def _window(self, update: Update, context: Context, default: float) -> float | None:
        args = context.args or []
        seconds = parse_window(
            args[0] if args else None, default, shortest=WINDOW_SHORTEST, longest=WINDOW_LONGEST
        )
        if seconds is None:
            await self.send(update, self._bad_window(args[0], WINDOW_SHORTEST, WINDOW_LONGEST))
        return seconds

    def _bad_window(self, value: str, low: float, high: float) -> str:
        return self.replies.line(
            "window.bad",
            value=value[:20],
            low=self.replies.window(low),
            high=self.replies.window(high),
        )

    # --- what /mute and /unmute name ---------------------------------------------------

    def resolve(self, token: str) -> Subject | str:
        """The subject `token` names ("#12": alert 12's; "weibo:4390…"; a bare id the store
        knows on one platform; a bare number naming an alert), else the reply saying why not."""
        token = token.strip()[:80]
        if token[:1] in ("#", "＃"):
            return self._alert_subject(token[1:], token)
        word, colon, rest = token.replace("：", ":").partition(":")
        if colon and word.lower() in _PLATFORM_WORDS and rest:
            return Subject(_PLATFORM_WORDS[word.lower()], rest)
        platforms = self.store.team.subject_platforms(token)
        if len(platforms) == 1:
            return Subject(platforms[0], token)
        if len(platforms) > 1:
            return self.replies.line("id.ambiguous", id=token)
        return self._alert_subject(token, token)

    def _alert_subject(self, number: str, token: str) -> Subject | str:
        alert = self.store.outbox.outbox_alert(int(number)) if number.isdigit() else None
        if alert is None:
            return self.replies.line("id.unknown", id=token)
        if not alert.subject_id:
            return self.replies.line("id.no_subject", id=alert.id)
        return Subject(alert.platform, alert.subject_id, alert.id)

    def subject_text(self, subject: Subject) -> str:
        plain = self.replies.subject(subject.platform, subject.id)
        if subject.alert_id is None:
            return plain
        return safe_text.clean_line(
            str(self.replies.line("subject.alert", id=subject.alert_id, subject=plain))
        )

    # --- button presses ---------------------------------------------------------------

    async def press(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            message, press = self._checked(query)
            if press.action == "lq":
                toast = await self._card(query, message, press)
            elif press.action == "lab":
                toast = await self._alert_label(query, message, press)
            elif press.action == "ack":
                toast = await self._ack(query, message, press)
            else:
                toast = await self._mute_button(query, message, press)
        except Refused as refused:
            chat = query.message.chat.id if query.message else "?"
            log.warning(
                "refused a button press in chat %s by user %s: %s",
                chat,
                query.from_user.id,
                refused.reason,
            )
            await query.answer(self.replies.line(refused.key), show_alert=True)
            return
        await query.answer(toast)

    def _checked(self, query: CallbackQuery) -> tuple[Message, Press]:
        message = query.message
        if not isinstance(message, Message):
            raise Refused("press.old", "the message is no longer accessible")
        press = callbacks.parse(query.data)
        if press is None or not callbacks.on_keyboard(message, query.data or ""):
            raise Refused("press.forged", "its data is not one of the message's buttons")
        return message, press

    async def _card(self, query: CallbackQuery, message: Message, press: Press) -> str:
        candidate = self.store.team.label_candidate(press.id)
        if candidate is None:
            raise Refused("press.stale", f"comment row {press.id} is gone")
        now = self.now()
        who = f"telegram:{query.from_user.id}"
        if press.code == callbacks.SKIP:
            record_label_answer(self.store, candidate, None, by=who, at=now)
            previous, toast = "skip", str(self.replies.line("label.skip"))
        else:
            label = press.label or "neutral"
            record_label_answer(self.store, candidate, label, by=who, at=now)
            previous = label
            toast = str(self.replies.line("label.saved", label=self.replies.label_name(label)))
        following = next_label_candidate(self.store)
        markup = self._card_keyboard(following.pk) if following else None
        await self._edit_text(message, self.replies.label(following, previous), markup)
        return toast

    async def _alert_label(self, query: CallbackQuery, message: Message, press: Press) -> str:
        alert = self.store.outbox.outbox_alert(press.id)
        samples = alert.evidence.get("samples") if alert else None
        sample = (
            samples[press.index]
            if isinstance(samples, list) and press.index < len(samples)
            else None
        )
        comment_id = str(sample.get("id") or "") if isinstance(sample, dict) else ""
        if alert is None or not comment_id:
            raise Refused("press.stale", f"alert {press.id} or its quoted comment is gone")
        post = alert.evidence.get("post")
        platform = alert.platform or (post.get("platform") if isinstance(post, dict) else None)
        comment = self.store.team.stored_comment(str(platform), comment_id) if platform else None
        if comment is None:
            raise Refused("press.stale", f"the comment quoted by alert {press.id} is gone")
        label = press.label or "neutral"
        self.store.labels.add_label(
            comment.text,
            label,
            platform=comment.platform,
            comment_id=comment.id,
            given_by=f"telegram:{query.from_user.id}",
            given_at=self.now(),
        )
        prefix = callbacks.label_prefix(press.id, press.index)
        markup = callbacks.mark_chosen(message.reply_markup, prefix, query.data or "")
        await self._edit_markup(message, markup)
        return str(self.replies.line("label.saved", label=self.replies.label_name(label)))

    async def _ack(self, query: CallbackQuery, message: Message, press: Press) -> str:
        before = self.store.team.alert_ack(press.id)
        ack = before or self.store.team.ack_alert(
            press.id,
            by=display_name(query.from_user),
            by_id=str(query.from_user.id),
            at=self.now(),
        )
        if ack is None:
            raise Refused("press.stale", f"alert {press.id} is gone")
        when = self.replies.time(ack.at)
        line = self.replies.line("ack.line", name=ack.by, time=when)
        ack_data = f"ack:{press.id}"
        without_ack = callbacks.rebuilt(
            message.reply_markup, lambda b: None if b.callback_data == ack_data else b
        )
        text = message.text or ""
        if text and safe_text.utf16_len(f"{text}\n{line}") <= MESSAGE_LIMIT:
            await self._edit_text(message, f"{message.text_html}\n{line}", without_ack)
        else:  # too long to grow: the button itself shows the acknowledgement
            label = safe_text.clean_line(
                str(self.replies.line("ack.button", name=ack.by[:16], time=when[-5:]))
            )
            await self._edit_markup(
                message,
                callbacks.rebuilt(
                    message.reply_markup,
                    lambda b: callbacks.with_text(b, label) if b.callback_data == ack_data else b,
                ),
            )
        if before is None:
            return str(self.replies.line("ack.done"))
        return safe_text.clean_line(str(self.replies.line("ack.already", name=ack.by, time=when)))

    async def _mute_button(self, query: CallbackQuery, message: Message, press: Press) -> str:
        alert = self.store.outbox.outbox_alert(press.id)
        if alert is None or not alert.subject_id:
            raise Refused("press.stale", f"alert {press.id} is gone")
        language = self.replies.language
        if press.action == "unmute":
            self.store.outbox.unmute(alert.platform, alert.subject_id)
            fresh = mute_button(language, press.id)
            old = callbacks.unmute_data(press.id)
            await self._edit_markup(
                message,
                callbacks.rebuilt(
                    message.reply_markup, lambda b: fresh if b.callback_data == old else b
                ),
            )
            return str(self.replies.line("unmute.pressed"))
        now = self.now()
        until = now + timedelta(seconds=MUTE_BUTTON_SECONDS)
        self.store.outbox.mute_alert_subject(
            press.id, until, at=now, by=display_name(query.from_user)
        )
        short = self.replies.short_time(until)
        undo = InlineKeyboardButton(
            safe_text.clean_line(str(self.replies.line("mute.button", until=short))),
            callback_data=callbacks.unmute_data(press.id),
        )
        data = query.data
        await self._edit_markup(
            message,
            callbacks.rebuilt(
                message.reply_markup, lambda b: undo if b.callback_data == data else b
            ),
        )
        return safe_text.clean_line(str(self.replies.line("mute.pressed", until=short)))

    def _card_keyboard(self, pk: int) -> InlineKeyboardMarkup:
        names = {label: self.replies.label_name(label) for label in callbacks.CODE_OF_LABEL}
        return callbacks.card_keyboard(pk, names, str(self.replies.line("label.skip")))

    async def _edit_text(
        self, message: Message, html: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        try:
            await message.edit_text(
                html,
                parse_mode=ParseMode.HTML,
                link_preview_options=_NO_PREVIEW,
                reply_markup=markup,
            )
        except BadRequest as err:
            if "not modified" not in str(err).lower():
                raise

    async def _edit_markup(self, message: Message, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await message.edit_reply_markup(reply_markup=markup)
        except BadRequest as err:
            if "not modified" not in str(err).lower():
                raise

    # --- errors -----------------------------------------------------------------------

    async def on_error(self, update: object, context: Context) -> None:
        """Log what went wrong (never the update's words: only ids) and tell the chat."""
        error = context.error
        where = ""
        if isinstance(update, Update) and update.effective_chat is not None:
            where = f" in chat {update.effective_chat.id}"
        if isinstance(error, TelegramError):
            log.warning("chat bot: %s%s: %s", type(error).__name__, where, error.message[:200])
        else:
            log.error("chat bot: %s%s", type(error).__name__, where, exc_info=error)
        if not isinstance(update, Update) or not self.gate.allows(
            update.effective_chat, update.effective_user
        ):
            return
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(self.replies.line("error"), show_alert=True)
            else:
                await self.send(update, self.replies.line("error"))
        except TelegramError:
            pass


def display_name(user: User | None) -> str:
    """A team member as the chat shows them (one line, at most 32 characters)."""
    if user is None:
        return "?"
    return safe_text.clean_line(user.full_name)[:32] or str(user.id)
