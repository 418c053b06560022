"""Weibo/Douyin text: platform HTML to plain text, entities out, and a normal form for models.

Pure functions. Emoticons survive as tokens (`[哈哈]`, `[怒]`, Douyin `[赞]`) because they
carry most of the sentiment in short comments.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

# Markup is read in linear time: a tag runs from "<" to the next ">", so each tag is found
# with str.find and only then looked into, never by a pattern that rescans the rest of the
# text from every "<" (the old `<img…alt…>` and `<a…href…>` patterns were quadratic and
# cubic on crafted input: 36 KB held a pass for minutes).
_IMG_OPEN = re.compile(r"<img\b", re.I)
# <img alt=[doge] ...> or alt="[送花花]" (both quote styles and none occur).
_ALT = re.compile(r"""\balt\s*=\s*["']?(\[[^\]"'<>]{1,12}\])""", re.I)
_A_OPEN = re.compile(r"<a\b", re.I)
_HREF_START = re.compile("href=", re.I)
_HREF = re.compile(r"""href=["']/n/([^"'>]+)["']""", re.I)
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
_LONG_TEXT_WORD = "全文"


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
    text = _emoticons_for_images(markup)
    text = _BR.sub("\n", text)
    text = _without_tags(text)
    text = html.unescape(text)
    text = _ZERO_WIDTH.sub("", text)
    text = _CONTROL.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", text).strip()


def _tags_opened_by(opener: re.Pattern[str], markup: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each tag `opener` begins, end just past its ">", left to right and
    without overlap; a tag with no ">" after it (nor any tag after that) is text."""
    position = 0
    while match := opener.search(markup, position):
        end = markup.find(">", match.end())
        if end < 0:
            return
        yield match.start(), end + 1
        position = end + 1


def _emoticons_for_images(markup: str) -> str:
    """Each <img> with an emoticon alt (`[心]`) becomes that emoticon; others stay as they
    are (then dropped with the other tags)."""
    parts = []
    done = 0
    for start, end in _tags_opened_by(_IMG_OPEN, markup):
        alt = _ALT.search(markup, start + 4, end - 1)
        if alt:
            parts += [markup[done:start], alt.group(1)]
            done = end
    return "".join([*parts, markup[done:]]) if parts else markup


def _without_tags(text: str) -> str:
    """Text without its tags: "<" to the next ">"; after the last ">", nothing is a tag."""
    last = text.rfind(">")
    if last < 0:
        return text
    return _TAG.sub("", text[: last + 1]) + text[last + 1 :]


def html_mentions(markup: str) -> tuple[str, ...]:
    """@mentions as Weibo links them (`<a href='/n/昵称'>`): exact where plain text is not,
    since a name can run straight into the following words."""
    from urllib.parse import unquote

    names = []
    for start, end in _tags_opened_by(_A_OPEN, markup or ""):
        name = _last_mention_href(markup[start + 2 : end - 1])
        if name is not None:
            names.append(unquote(name))
    return _unique(names)


def _last_mention_href(tag: str) -> str | None:
    """The last `href='/n/…'` inside one tag's text (a link names one account)."""
    found = None
    for start in _HREF_START.finditer(tag):
        match = _HREF.match(tag, start.start())
        if match:
            found = match.group(1)
    return found


def strip_long_text_marker(text: str) -> str:
    """A truncated Weibo post ends in '...全文'; drop the marker (and up to three dots before
    it), keep the text. No pattern: one over a long run of spaces would be quadratic."""
    body = text.rstrip()
    if not body.endswith(_LONG_TEXT_WORD):
        return body
    body = body[: -len(_LONG_TEXT_WORD)].rstrip()
    dots = len(body) - len(body.rstrip("."))
    return body[: len(body) - min(dots, 3)].rstrip()


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
