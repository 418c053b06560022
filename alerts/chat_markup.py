"""The digest in chat: a short summary per sink kind, built from the outbox alert alone.

Shared by the sinks (which send it) and the digest (which writes the alert), so that no sink
imports the digest.

The digest is an ordinary outbox alert (kind "digest", dedupe key `digest:<ISO week>`) whose
evidence holds the week's headline facts and where its files are. Its title and text are a
plain summary, so every sink can send it as it sends any alert. A sink that knows the digest
sends this richer form instead (`message.kind == DIGEST_KIND`):

- telegram: the summary in HTML (4,096 UTF-16 units), then the HTML page as a document
  (`send_telegram`, with the sink's bot);
- wecom: a `markdown` message within 4,096 bytes (`wecom_payload`);
- dingtalk: a `markdown` message within 4,000 bytes (`dingtalk_payload`; the sink adds its
  signature to the URL);
- feishu: an `interactive` card with one markdown element, the body well under 20 KB
  (`feishu_payload`; the sink adds `timestamp` and `sign`).

The summary lines hold no user text (numbers, our words, terms cut to letters and digits),
and each form escapes them for its markup anyway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from telegram import LinkPreviewOptions

from alerts import i18n, safe_text
from alerts.i18n.digest_summary import summary_lines
from alerts.sinks.base import Outgoing
from monitor.store.weekly import DIGEST_KIND

TELEGRAM_LIMIT = 4096  # UTF-16 code units, after entity parsing
TELEGRAM_DOCUMENT_LIMIT = 50 * 1024 * 1024  # bytes a bot may upload
WECOM_MARKDOWN_LIMIT = 4096  # bytes of markdown.content
DINGTALK_MARKDOWN_LIMIT = 4000  # bytes, as the sink's text messages
FEISHU_MARKDOWN_LIMIT = 8000  # bytes of the card's markdown (the whole body stays under 20 KB)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def is_digest(message: Outgoing) -> bool:
    return message.kind == DIGEST_KIND


def lines(message: Outgoing) -> list[str]:
    """The summary lines, rebuilt from the alert's facts (else its own text lines)."""
    facts = message.evidence.get("facts")
    if isinstance(facts, Mapping):
        return [safe_text.clean_line(line) for line in summary_lines(facts, message.language)]
    return message.body_lines()


def document(message: Outgoing) -> tuple[str, bytes] | None:
    """(file name, bytes) of the HTML page, when it is still where the digest wrote it."""
    files = message.evidence.get("files")
    html = files.get("html") if isinstance(files, Mapping) else None
    if not html:
        return None
    path = Path(str(html))
    try:
        if not path.is_file() or path.stat().st_size > TELEGRAM_DOCUMENT_LIMIT:
            return None
        return f"pingfan-{path.name}", path.read_bytes()
    except OSError:
        return None


def _footer(message: Outgoing, attached: bool) -> str:
    week = str(message.evidence.get("week") or "")
    if attached:
        text = i18n.t(message.language, "digest.sum.attached")
    else:
        files = message.evidence.get("files")
        name = Path(str(files.get("html"))).name if isinstance(files, Mapping) else week
        text = i18n.t(message.language, "digest.sum.files", name=name)
    if message.possible_duplicate:
        text += i18n.t(message.language, "alert.duplicate")
    return safe_text.clean_line(text)


def _title(message: Outgoing) -> str:
    """The alert's title (campaign names from the config) with links and @mentions broken."""
    return safe_text.quote(message.title, 120)


def _md(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", safe_text.clean_line(text))


# --- Telegram ---------------------------------------------------------------------------------


def telegram_html(message: Outgoing, *, attached: bool = True) -> str:
    """The summary in Telegram's HTML parse mode, within one message."""
    body = [f"• {safe_text.escape_html(line)}" for line in lines(message)]
    head = f"<b>{safe_text.escape_html(_title(message))}</b>"
    tail = f"<i>{safe_text.escape_html(_footer(message, attached))}</i>"
    return safe_text.fit_lines(
        [head, *body, tail], TELEGRAM_LIMIT, lambda s: safe_text.utf16_len(_visible(s)), keep_last=1
    )


def _visible(html: str) -> str:
    """What Telegram counts: the text after its entities are parsed."""
    text = re.sub(r"</?[bi]>", "", html)
    return (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    )


class TelegramBot(Protocol):
    async def send_message(self, *args: Any, **kwargs: Any) -> Any: ...

    async def send_document(self, *args: Any, **kwargs: Any) -> Any: ...


async def send_telegram(bot: TelegramBot, chat_id: int | str, message: Outgoing) -> None:
    """The summary, then the HTML page as a document (python-telegram-bot's `Bot`); its
    `TelegramError`s go to the caller, as the sink's own sends do."""
    attachment = document(message)
    await bot.send_message(
        chat_id=chat_id,
        text=telegram_html(message, attached=attachment is not None),
        parse_mode="HTML",
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    if attachment is not None:
        name, data = attachment
        await bot.send_document(
            chat_id=chat_id,
            document=data,
            filename=name,
            caption=_title(message),
        )


# --- webhooks -----------------------------------------------------------------------------


def _markdown_lines(message: Outgoing, bullet: str) -> list[str]:
    return [f"{bullet}{_md(line)}" for line in lines(message)]


def wecom_payload(message: Outgoing) -> dict[str, Any]:
    """WeCom group robot: a `markdown` message (bold title, one line per fact)."""
    content = safe_text.fit_lines(
        [
            f"**{_md(_title(message))}**",
            *_markdown_lines(message, "> "),
            f'<font color="comment">{_md(_footer(message, False))}</font>',
        ],
        WECOM_MARKDOWN_LIMIT,
        safe_text.utf8_len,
        keep_last=1,
    )
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_payload(message: Outgoing) -> dict[str, Any]:
    """DingTalk custom robot: a `markdown` message; nobody is @-mentioned."""
    text = safe_text.fit_lines(
        [
            f"### {_md(_title(message))}",
            "",
            *_markdown_lines(message, "- "),
            "",
            _md(_footer(message, False)),
        ],
        DINGTALK_MARKDOWN_LIMIT,
        safe_text.utf8_len,
        keep_last=1,
    )
    return {
        "msgtype": "markdown",
        "markdown": {"title": _title(message)[:64], "text": text},
        "at": {"isAtAll": False, "atMobiles": [], "atUserIds": []},
    }


def feishu_payload(message: Outgoing) -> dict[str, Any]:
    """Feishu custom bot: an `interactive` card, the summary in one markdown element."""
    content = safe_text.fit_lines(
        [*_markdown_lines(message, "- "), _md(_footer(message, False))],
        FEISHU_MARKDOWN_LIMIT,
        safe_text.utf8_len,
        keep_last=1,
    )
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {
                "template": "blue",
                "title": {"tag": "plain_text", "content": _title(message)},
            },
            "elements": [{"tag": "markdown", "content": content}],
        },
    }


def payload(sink_type: str, message: Outgoing) -> dict[str, Any] | None:
    """The digest's payload for a webhook sink type; None for the others."""
    builders = {
        "wecom": wecom_payload,
        "dingtalk": dingtalk_payload,
        "feishu": feishu_payload,
    }
    builder = builders.get(sink_type)
    return builder(message) if builder else None
