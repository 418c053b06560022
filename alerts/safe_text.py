"""Making text safe to show: masking, making user text inert, and each sink's escaping and
length limits. No words here (those are alerts/i18n); sinks, the bot, the digest and the rules'
evidence all use these.

Two layers keep citizens' words from acting on a chat. `quote` (when an alert is worded, for
every sink) puts user text on one line, drops control characters, breaks links and @mentions
with a visible or invisible mark, and shortens it. The sinks then escape the whole alert for
their own markup (`escape_html` for Telegram; the webhooks send plain text or structured JSON),
so `</b><a href="http://evil">点我</a>` or `@all` shows as text and adds no link, mention or
button.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Sequence

WORD_JOINER = "\u2060"  # invisible; stops a client from reading "@name" as a mention


# --- people and user text ----------------------------------------------------------------


def mask(author: str | None) -> str:
    """`3000000001` → `3***`, `海边的小王` → `海***`: never a full id or name in an alert."""
    clean = "".join(ch for ch in (author or "") if ch.isprintable() and not ch.isspace())
    return (clean[:1] or "?") + "***"


def shown_author(kind: str, name: str, account_id: str) -> str:
    """Partners and the organiser by name; an ordinary user masked (in alerts, the bot, the
    console)."""
    if kind in ("kol", "official"):
        return quote(name, 24)
    return mask(name or account_id)


def nomination_parts(role: str, person: str | None) -> dict[str, str]:
    """A nomination's role and person, as the UGC alert and the bot's /ugc quote them."""
    return {"role": quote(role, 12), "person": quote(person or "", 12)}


_CONTROL_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
_LINK = re.compile(
    r"(?i)\b(?:(?:https?|ftp|tg|file|javascript|data)\s*:\s*/*|www\.)[^\s<>\"'「」]*"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:cn|com|net|org|cc|me|io|top|xyz|info|vip|co|tv|ly)"
    r"\b(?:/[^\s<>\"'「」]*)?"
)
_MENTION = re.compile(r"[@＠]")


def clean_line(text: str) -> str:
    """One line without control or invisible formatting characters (ANSI escapes, bidi
    overrides, zero-width spaces), whitespace runs collapsed. The word joiner `quote` puts
    after an @ stays."""
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\r\n" or category in ("Zl", "Zp"):
            kept.append(" ")
        elif category in _CONTROL_CATEGORIES and ch != WORD_JOINER:
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def _defang(match: re.Match[str]) -> str:
    link = match.group(0)
    link = re.sub(r"(?i)^(h)(tt)(ps?)", r"\1xx\3", link)
    link = link.replace("://", "[:]//").replace(".", "[.]")
    return re.sub(r"(?i)^(javascript|data|file|tg|ftp)\s*:", r"\1[:]", link)


def quote(text: str, limit: int = 60) -> str:
    """User text made inert for any sink: one line, no control characters, links broken
    (`http://evil.com` → `hxxp[:]//evil[.]com`), @mentions broken with an invisible joiner,
    at most `limit` characters (then "…")."""
    line = clean_line(text)
    if len(line) > limit:
        line = line[: max(limit - 1, 1)].rstrip() + "…"
    line = _LINK.sub(_defang, line)
    return _MENTION.sub(lambda m: m.group(0) + WORD_JOINER, line)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL we built ourselves (a post link), or None for anything else."""
    if not url:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ch in "<>\"'`" for ch in url):
        return None
    return url


# --- per-sink escaping ---------------------------------------------------------------------


def escape_html(text: str) -> str:
    """For Telegram's HTML parse mode: the only entities it needs are &amp; &lt; &gt; &quot;."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def plain(text: str) -> str:
    """Terminal- and file-safe text: every line cleaned of control characters."""
    return "\n".join(clean_line(line) for line in text.split("\n"))


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def split_lines(lines: Sequence[str], limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Lines joined into chunks of at most `limit` (by `measure`), split only between lines;
    a line longer than `limit` on its own is cut (the caller passes lines without markup
    that a cut could break)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        while measure(line) > limit:
            cut = _fit(line, limit, measure)
            if current:
                chunks.append("\n".join(current))
                current, size = [], 0
            chunks.append(line[:cut])
            line = line[cut:]
        extra = measure(line) + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
            extra = measure(line)
        current.append(line)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return chunks


def fit_lines(
    lines: Sequence[str], limit: int, measure: Callable[[str], int], keep_last: int = 0
) -> str:
    """As many leading lines as fit in `limit` (by `measure`), then "…", always keeping the
    last `keep_last` lines (the link, the footer)."""
    tail = list(lines[len(lines) - keep_last :]) if keep_last else []
    head = list(lines[: len(lines) - keep_last]) if keep_last else list(lines)
    whole = "\n".join(head + tail)
    if measure(whole) <= limit:
        return whole
    kept: list[str] = []
    for line in head:
        candidate = "\n".join([*kept, line, "…", *tail])
        if measure(candidate) > limit:
            break
        kept.append(line)
    text = "\n".join([*kept, "…", *tail])
    if measure(text) > limit:  # the tail alone is too long: cut characters
        text = text[: _fit(text, limit, measure)]
    return text


def _fit(text: str, limit: int, measure: Callable[[str], int]) -> int:
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return max(low, 1)
