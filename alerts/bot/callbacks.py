"""Button data: what each button sends back, read strictly, and the keyboards the bot edits.

Callback data holds ids only, never content, far under Telegram's 64 bytes:

| data | button | on |
| --- | --- | --- |
| `ack:<alert id>` | acknowledge | an alert (alerts/sinks/telegram.py) |
| `mute:<alert id>` | mute the alert's subject for 24 h | an alert |
| `unmute:<alert id>` | undo that mute | an alert, once muted |
| `lab:<alert id>:<n>:<p/u/n>` | the n-th quoted comment is positive/neutral/negative | an alert |
| `lq:<comment row>:<p/u/n/s>` | label (or skip) the comment shown | a /label card |

A press is honoured only when its data parses here and is one of the buttons of the message
it came from (Telegram reports the message with its keyboard), so data that no button of ours
carries is refused as forged; data naming an alert or a comment the store no longer holds is
refused as stale (callbacks are answered in handlers.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message

from alerts.sinks.telegram import LABEL_CODES

Action = Literal["ack", "mute", "unmute", "lab", "lq"]
LABEL_OF_CODE = dict(zip(LABEL_CODES, ("positive", "neutral", "negative"), strict=True))
CODE_OF_LABEL = {label: code for code, label in LABEL_OF_CODE.items()}
SKIP = "s"
MAX_DATA_BYTES = 64
CHECK = "✓ "  # on the label a quoted comment was given

_ALERT = re.compile(r"(ack|mute|unmute):([1-9][0-9]{0,17})")
_ALERT_LABEL = re.compile(r"lab:([1-9][0-9]{0,17}):([0-9]):([pun])")
_CARD = re.compile(r"lq:([1-9][0-9]{0,17}):([puns])")


@dataclass(frozen=True)
class Press:
    action: Action
    id: int  # the alert id, or the comment's row for "lq"
    index: int = 0  # "lab": which quoted comment
    code: str = ""  # "lab"/"lq": p, u, n (or s: skip)

    @property
    def label(self) -> str | None:
        return LABEL_OF_CODE.get(self.code)


def parse(data: str | None) -> Press | None:
    """The press `data` stands for; None for anything our buttons never send."""
    if not data or len(data.encode()) > MAX_DATA_BYTES:
        return None
    if match := _ALERT.fullmatch(data):
        action: Action = match.group(1)  # type: ignore[assignment]
        return Press(action, int(match.group(2)))
    if match := _ALERT_LABEL.fullmatch(data):
        return Press("lab", int(match.group(1)), int(match.group(2)), match.group(3))
    if match := _CARD.fullmatch(data):
        return Press("lq", int(match.group(1)), code=match.group(2))
    return None


def card_data(pk: int, code: str) -> str:
    return f"lq:{pk}:{code}"


def unmute_data(alert_id: int) -> str:
    return f"unmute:{alert_id}"


def label_prefix(alert_id: int, index: int) -> str:
    """What every label button of one quoted comment's row starts with."""
    return f"lab:{alert_id}:{index}:"


def on_keyboard(message: Message, data: str) -> bool:
    """Whether `data` is one of the buttons `message` carries."""
    markup = message.reply_markup
    if markup is None:
        return False
    return any(button.callback_data == data for row in markup.inline_keyboard for button in row)


def card_keyboard(pk: int, labels: dict[str, str], skip: str) -> InlineKeyboardMarkup:
    """The /label card's buttons: the three labels (names from `labels`), then skip."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(labels[label], callback_data=card_data(pk, code))
                for code, label in LABEL_OF_CODE.items()
            ],
            [InlineKeyboardButton(skip, callback_data=card_data(pk, SKIP))],
        ]
    )


Change = Callable[[InlineKeyboardButton], InlineKeyboardButton | None]


def rebuilt(markup: InlineKeyboardMarkup | None, change: Change) -> InlineKeyboardMarkup | None:
    """`markup` with every button passed through `change` (None drops it); empty rows go,
    and a keyboard left without buttons is None."""
    if markup is None:
        return None
    rows = []
    for row in markup.inline_keyboard:
        kept = [new for button in row if (new := change(button)) is not None]
        if kept:
            rows.append(kept)
    return InlineKeyboardMarkup(rows) if rows else None


def with_text(button: InlineKeyboardButton, text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=button.callback_data, url=button.url)


def mark_chosen(
    markup: InlineKeyboardMarkup | None, prefix: str, chosen: str
) -> InlineKeyboardMarkup | None:
    """The label buttons starting with `prefix`: a check on `chosen`, none on the others."""

    def change(button: InlineKeyboardButton) -> InlineKeyboardButton:
        data = button.callback_data
        if not isinstance(data, str) or not data.startswith(prefix):
            return button
        text = button.text.removeprefix(CHECK)
        return with_text(button, CHECK + text if data == chosen else text)

    return rebuilt(markup, change)
