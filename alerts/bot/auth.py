"""Who the bot answers: the team's groups, and named people in their private chats.

- a message or a press in a chat listed in `[bot] allowed_chat_ids` is answered, whoever
  sent it (the group is the team);
- in a private chat, the person must be listed in `[bot] allowed_user_ids`;
- anything else (a stranger's private chat, a group the bot was added to by someone else,
  even a listed person writing in an unlisted group, where the answer would be read by
  everyone there) is refused before any handler runs, so nothing is read from the store.

A refused chat gets one polite refusal per run of the bot (a second message there gets
nothing, so the bot cannot be made to spam a group); a refused press always gets its answer
(only the presser sees it). Every refusal is logged with the chat's and the person's ids and
the kind of update, never the message's words or the button's data.
"""

from __future__ import annotations

import logging

from telegram import Chat, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from alerts.bot.replies import Replies
from monitor.config import BotConfig

log = logging.getLogger(__name__)

_REMEMBERED = 10_000  # refused chats remembered; beyond that the memory starts again


class Gate:
    def __init__(self, config: BotConfig, replies: Replies) -> None:
        self.chats = frozenset(config.allowed_chat_ids)
        self.users = frozenset(config.allowed_user_ids)
        self.replies = replies
        self._refused: set[int] = set()

    def allows(self, chat: Chat | None, user: User | None) -> bool:
        if chat is None or user is None or user.is_bot:
            return False
        if chat.id in self.chats:
            return True
        return chat.type == ChatType.PRIVATE and user.id in self.users

    async def check(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every handler (group -1): stops the update when it is not allowed."""
        if not isinstance(update, Update):
            raise ApplicationHandlerStop
        chat, user = update.effective_chat, update.effective_user
        if self.allows(chat, user):
            return
        kind = "button" if update.callback_query else "message"
        log.warning(
            "refused a %s from chat %s (%s), user %s: not in [bot] allowed_chat_ids or "
            "allowed_user_ids",
            kind,
            chat.id if chat else "?",
            chat.type if chat else "?",
            user.id if user else "?",
        )
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(
                    self.replies.line("press.refused"), show_alert=True
                )
            elif chat is not None and chat.id not in self._refused:
                if len(self._refused) >= _REMEMBERED:
                    self._refused.clear()
                self._refused.add(chat.id)
                await chat.send_message(self.replies.line("refusal"), parse_mode=ParseMode.HTML)
        except TelegramError as err:
            log.warning("could not send the refusal: %s", type(err).__name__)
        raise ApplicationHandlerStop
