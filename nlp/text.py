"""Weibo/Douyin text: platform HTML to plain text, entities out, and a normal form for models.

Pure functions. Emoticons survive as tokens (`[哈哈]`, `[怒]`, Douyin `[赞]`) because they
carry most of the sentiment in short comments.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

# <img alt=[doge] ...> or alt="[送花花]" (both quote styles and none occur).
_IMG_ALT = re.compile(r"""<img\b[^>]*?\balt\s*=\s*["']?(\[[^\]"'<>]{1,12}\])["']?[^>]*>""", re.I)
_BR = re.compile(r"<br\s*/?>", re.I)
_TAG = re.compile(r"<[^>]*>")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")
# Weibo writes #话题#; Douyin writes #话题 followed by a space or the end.
_PAIRED_TAG = re.compile(r"#([^#\s@]{1,64})#")
_OPEN_TAG = re.compile(r"#([^#\s@，。！？,!?]{1,64})")
_MENTION = re.compile(r"@([\w\u4e00-\u9fff\-·]{1,30})")
_URL = re.compile(r"https?://[^\s<>\"'\u4e00-\u9fff，。！？]+", re.I)
_LONG_TEXT_LINK = re.compile(r"\.{0,3}\s*全文\s*$")


@dataclass(frozen=True)
class Entities:
    hashtags: tuple[str, ...]
    mentions: tuple[str, ...]
    urls: tuple[str, ...]
    emoticons: tuple[str, ...]


def html_to_text(markup: str) -> str:
    """Platform HTML (Weibo `text`, comment HTML) to plain text; emoticons kept as `[哈哈]`."""
    if not markup:
        return ""
    text = _IMG_ALT.sub(lambda m: m.group(1), markup)
    text = _BR.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    text = _ZERO_WIDTH.sub("", text)
    text = _CONTROL.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", text).strip()


_MENTION_LINK = re.compile(r"""<a\b[^>]*href=["']/n/([^"'>]+)["'][^>]*>""", re.I)


def html_mentions(markup: str) -> tuple[str, ...]:
    """@mentions as Weibo links them (`<a href='/n/昵称'>`): exact where plain text is not,
    since a name can run straight into the following words."""
    from urllib.parse import unquote

    return _unique(unquote(name) for name in _MENTION_LINK.findall(markup or ""))


def strip_long_text_marker(text: str) -> str:
    """A truncated Weibo post ends in '...全文'; drop the marker, keep the text."""
    return _LONG_TEXT_LINK.sub("", text).rstrip()


def extract_entities(text: str) -> Entities:
    """Hashtags (without '#'), @mentions, URLs and emoticons, each in order, without repeats."""
    paired = _PAIRED_TAG.findall(text)
    rest = _PAIRED_TAG.sub(" ", text)
    rest = _URL.sub(" ", rest)
    hashtags = [*paired, *_OPEN_TAG.findall(rest)]
    return Entities(
        hashtags=_unique(tag.strip() for tag in hashtags if tag.strip()),
        mentions=_unique(_MENTION.findall(text)),
        urls=_unique(_URL.findall(text)),
        emoticons=_unique(EMOTICON.findall(text)),
    )


def normalize(text: str, *, max_repeat: int = 3) -> str:
    """The form models see: NFKC (full-width → half-width), simplified characters, no URLs,
    control characters or zero-width spaces, runs like 哈哈哈哈哈 bounded, lower case.
    Emoticon brackets stay, so `[哈哈]` is still one token. Memoised: the rules look at the
    same recent comments again and again."""
    if not text:
        return ""
    return _normalize(text, max_repeat)


@lru_cache(maxsize=1 << 14)  # a day of a campaign's comments, a few MB
def _normalize(text: str, max_repeat: int) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", _CONTROL.sub(" ", text))
    text = _URL.sub(" ", text)
    text = text.translate(_hant_to_hans())
    for run in _repeat_patterns(max_repeat):
        text = run.sub(lambda m: m.group(1) * max_repeat, text)
    return _SPACES.sub(" ", text).strip().lower()


@cache
def _repeat_patterns(max_repeat: int) -> tuple[re.Pattern[str], ...]:
    """Runs longer than `max_repeat` of one character (哈哈哈哈) and of two (加油加油加油加油)."""
    return (re.compile(rf"(.)\1{{{max_repeat},}}"), re.compile(rf"(..)\1{{{max_repeat},}}"))


@cache
def _hant_to_hans() -> dict[int, str]:
    table: dict[int, str] = {}
    source = resources.files("nlp").joinpath("data/hant2hans.txt")
    for line in source.read_text(encoding="utf-8").splitlines():
        if len(line) == 2 and not line.startswith("#"):
            table[ord(line[0])] = line[1]
    return table


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
