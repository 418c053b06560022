"""Escaping and wording: user text stays text in every sink's markup (property tests too)."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from alerts import i18n, safe_text
from alerts.sinks.base import Outgoing
from alerts.sinks.dingtalk import dingtalk_sign
from alerts.sinks.feishu import feishu_sign
from alerts.sinks.telegram import buttons, html_chunks
from tests.support.fake_services import parse_telegram_html

HOSTILE = '</b><a href="http://evil">点我</a> @all'
AT = datetime(2019, 8, 16, 14, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.data = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.data += data


def message(text: str, **changes: object) -> Outgoing:
    values: dict[str, object] = {
        "alert_ids": (7,),
        "kind": "negative_thread",
        "severity": "warning",
        "title": "负面舆情",
        "text": text,
        "url": "https://m.weibo.cn/detail/4390004051800614",
        "created_at": AT,
        "dedupe_key": "negative_thread:weibo:4390004051800614:2019-08-16T12:00:00+00:00",
        "language": "zh",
        "tz": SHANGHAI,
    }
    values.update(changes)
    return Outgoing(**values)  # type: ignore[arg-type]


@given(st.text())
def test_html_escape_keeps_any_text_as_text(text: str) -> None:
    escaped = safe_text.escape_html(text)
    assert "<" not in escaped and ">" not in escaped
    parser = _Collect()
    parser.feed(f"<b>{escaped}</b>")
    parser.close()
    assert parser.tags == ["<b>", "</b>"]
    assert parser.data == text


@given(st.text())
def test_quote_makes_text_one_inert_line(text: str) -> None:
    quoted = safe_text.quote(text, 60)
    assert "\n" not in quoted and "\r" not in quoted
    assert len(quoted) <= 60 + quoted.count(safe_text.WORD_JOINER) + 4 * quoted.count("[")
    for ch in quoted:
        if ch != safe_text.WORD_JOINER:
            assert unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
    for i, ch in enumerate(quoted):
        if ch in "@＠":
            assert quoted[i + 1 : i + 2] == safe_text.WORD_JOINER
    assert "://" not in quoted.lower().replace("[:]//", "")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_telegram_chunks_always_parse_and_keep_the_text(text: str) -> None:
    chunks = html_chunks(message(text))
    shown = []
    for chunk in chunks:
        plain, entities = parse_telegram_html(chunk)  # raises if it would not parse
        assert len(plain.encode("utf-16-le")) // 2 <= 4096
        shown.append(plain)
        assert {e["type"] for e in entities} <= {"bold", "italic", "text_link", "url", "mention"}
        links = [e for e in entities if e["type"] == "text_link"]
        assert all(e["url"] == "https://m.weibo.cn/detail/4390004051800614" for e in links)
    joined = "\n".join(shown)
    for line in text.split("\n"):
        assert safe_text.clean_line(line) in joined


@given(st.text(max_size=200))
def test_json_payloads_round_trip_any_text(text: str) -> None:
    record = message(text).record()
    assert json.loads(json.dumps(record, ensure_ascii=False))["text"] == text


@given(st.text(max_size=200))
def test_console_form_has_no_control_characters(text: str) -> None:
    printed = safe_text.plain("\n".join(message(text).plain_lines()))
    assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in printed)


def test_hostile_comment_shows_as_text_in_telegram_html() -> None:
    quoted = safe_text.quote(HOSTILE)
    (chunk,) = html_chunks(message(f"· 3***：「{quoted}」"))
    plain, entities = parse_telegram_html(chunk)
    assert '</b><a href="hxxp[:]//evil">点我</a>' in plain
    assert [e["type"] for e in entities] == ["bold", "text_link", "italic"]
    assert "evil" not in json.dumps(entities)


def test_quote_breaks_links_and_mentions() -> None:
    assert safe_text.quote("看这里 https://t.cn/A6abc 快") == "看这里 hxxps[:]//t[.]cn/A6abc 快"
    assert safe_text.quote("加我 dl123.com") == "加我 dl123[.]com"
    assert safe_text.quote("@all 大家好") == f"@{safe_text.WORD_JOINER}all 大家好"
    assert safe_text.quote("javascript:alert(1)") == "javascript[:]alert(1)"
    assert safe_text.quote("a\x1b[31mred\u202eb\nc") == "a[31mredb c"
    assert safe_text.quote("很长" * 50, 10) == "很长很长很长很长很…"


def test_masking_never_shows_a_full_id_or_name() -> None:
    assert safe_text.mask("3000000001") == "3***"
    assert safe_text.mask("海边的小王") == "海***"
    assert safe_text.mask("") == "?***"
    assert safe_text.mask("\u202e\u200bX") == "X***"


def test_safe_url_accepts_only_http_links_we_built() -> None:
    assert safe_text.safe_url("https://m.weibo.cn/detail/1") == "https://m.weibo.cn/detail/1"
    assert safe_text.safe_url("javascript:alert(1)") is None
    assert safe_text.safe_url('https://x.cn/"><b>') is None
    assert safe_text.safe_url(None) is None


def test_split_lines_never_cuts_inside_a_line_that_fits() -> None:
    lines = [f"第{i}行" + "字" * 30 for i in range(200)]
    chunks = safe_text.split_lines(lines, 500)
    assert all(len(c) <= 500 for c in chunks)
    assert "\n".join(chunks).split("\n") == lines


def test_fit_lines_keeps_the_link_and_footer() -> None:
    lines = ["标题", *["很长的一行正文" * 10] * 40, "链接：https://m.weibo.cn/detail/1", "#1 · key"]
    text = safe_text.fit_lines(lines, 2048, safe_text.utf8_len, keep_last=2)
    assert len(text.encode()) <= 2048
    assert text.endswith("…\n链接：https://m.weibo.cn/detail/1\n#1 · key")


def test_buttons_carry_short_callback_data() -> None:
    markup = buttons(message("x", alert_ids=(123456789,)))
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data == ["ack:123456789", "mute:123456789"]
    assert all(len(str(d).encode()) < 64 for d in data)
    assert buttons(message("x", alert_ids=(1, 2))) is None  # a coalesced burst has none


def test_signatures_follow_each_service() -> None:
    # DingTalk: HMAC-SHA256(key=secret, timestamp + "\n" + secret), base64, urlencoded
    expected = "SHl9dqeoybjBg7%2FtId3YZVhutFyeeiAyx%2BxUhrqJieI%3D"
    assert dingtalk_sign("SECabc", 1566000000000) == expected
    # Feishu: HMAC-SHA256 with key timestamp + "\n" + secret over an empty message, base64
    assert feishu_sign("abc", 1566000000) == "yWPRsA5uaRYMw4JSbbsBT5Ccu8xErFC3fKuUMo/m6QY="


def test_english_wording() -> None:
    assert i18n.t("en", "alert.escalated") == "Escalated: "
    assert i18n.t("fr", "alert.escalated") == "升级："  # unknown language: Chinese
    assert message("x", language="en").title_line() == "[warning] 负面舆情"
    assert message("x").title_line() == "【注意】负面舆情"
