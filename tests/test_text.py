import re

from hypothesis import given
from hypothesis import strategies as st

from nlp.text import extract_entities, html_to_text, normalize, strip_long_text_marker

WEIBO_HTML = (
    '<a  href="https://m.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D%23'
    '%E5%B9%B3%E5%87%A1%E5%A4%A7%E8%BF%9E%E4%BA%BA%23&extparam=%23" data-hide="">'
    "<span class=\"surl-text\">#平凡大连人#</span></a>推荐 <a href='/n/海边的小王'>@海边的小王</a>"
    '<br />环卫阿姨辛苦了<span class="url-icon"><img alt=[心] src="//h5.sinaimg.cn/m/emoticon/'
    'icon/others/l_xin-43af9086c0.png" style="width:1em; height:1em;" /></span>'
    '<span class="url-icon"><img alt="[送花花]" src="x.png" /></span>&amp;\u200b谢谢'
)


def test_weibo_html_to_text_keeps_emoticons_and_lines() -> None:
    text = html_to_text(WEIBO_HTML)
    assert text == "#平凡大连人#推荐 @海边的小王\n环卫阿姨辛苦了[心][送花花]&谢谢"


def test_entities_from_weibo_text() -> None:
    entities = extract_entities(html_to_text(WEIBO_HTML))
    assert entities.hashtags == ("平凡大连人",)
    assert entities.mentions == ("海边的小王",)
    assert entities.emoticons == ("[心]", "[送花花]")


def test_douyin_style_open_hashtags_and_urls() -> None:
    entities = extract_entities(
        "打卡星海广场 #平凡大连人 #大连 看这里 https://v.douyin.com/abc123/ [赞]"
    )
    assert entities.hashtags == ("平凡大连人", "大连")
    assert entities.urls == ("https://v.douyin.com/abc123/",)
    assert entities.emoticons == ("[赞]",)


def test_long_text_marker_is_dropped() -> None:
    assert strip_long_text_marker("今天的故事很长...全文") == "今天的故事很长"
    assert strip_long_text_marker("全文背诵") == "全文背诵"


def test_normalize_full_width_traditional_and_repeats() -> None:
    assert normalize("ＡＢＣ１２３！飛機來了") == "abc123!飞机来了"
    assert normalize("哈哈哈哈哈哈哈哈") == "哈哈哈"
    assert normalize("加油加油加油加油加油") == "加油加油加油"
    assert normalize("好[哈哈]看") == "好[哈哈]看"


def test_normalize_drops_controls_zero_width_and_urls() -> None:
    assert normalize("a\x00b\x07c\u200bd http://t.cn/A6x e") == "a b cd e"


def test_empty_and_whitespace() -> None:
    assert html_to_text("") == ""
    assert normalize("") == ""
    assert normalize(" \t\n ") == ""
    assert extract_entities("").hashtags == ()


def test_ten_thousand_characters() -> None:
    long_text = ("平凡的人，不平凡的城市[赞]" * 800)[:10_000]
    assert len(normalize(long_text)) > 9_000
    assert extract_entities(long_text).emoticons == ("[赞]",)


def test_mixed_scripts_and_emoji() -> None:
    assert normalize("Dalian大连🙏🙏 yyds") == "dalian大连🙏🙏 yyds"


@given(st.text(max_size=300))
def test_text_functions_never_crash(text: str) -> None:
    html_to_text(text)
    normalize(text)
    extract_entities(text)


def test_keywords_say_what_a_thread_is_about() -> None:
    from nlp.segment import keywords

    thread = [
        "星海广场今天堵了两个小时，活动组织得太差了[怒]",
        "星海广场堵车，主办方不负责任",
        "堵车太严重了 星海广场",
    ]
    words = [w for w, _ in keywords(thread, top_k=3)]
    assert words[:2] == ["星海广场", "堵车"]


def test_campaign_words_stay_whole() -> None:
    from nlp.segment import cut

    words = cut("#平凡大连人# 不平凡的城市 环卫工人")
    assert "平凡大连人" in words and "不平凡的城市" in words and "环卫工人" in words


# --- linear markup handling (issue 26): the old patterns as the reference on small inputs ---

_OLD_IMG_ALT = re.compile(
    r"""<img\b[^>]*?\balt\s*=\s*["']?(\[[^\]"'<>]{1,12}\])["']?[^>]*>""", re.I
)
_OLD_MENTION_LINK = re.compile(r"""<a\b[^>]*href=["']/n/([^"'>]+)["'][^>]*>""", re.I)
_OLD_LONG_TEXT_LINK = re.compile(r"\.{0,3}\s*全文\s*$")
_MARKUP_PIECES = st.sampled_from(
    ["<", ">", "<a", "<A ", "<img", "<IMG ", " alt=", "alt =", "[心]", "[", "]", "href=",
     "HREF=", "'", '"', "/n/", "/N/", "名", " ", "\n", "<br>", "<br />", "&amp;", "全文", ".",
     "\u2000", "x", "=", "/"]
)  # fmt: skip
_MARKUP = st.lists(_MARKUP_PIECES, max_size=40).map("".join)


def _old_html_to_text_tags(markup: str) -> str:
    text = _OLD_IMG_ALT.sub(lambda m: m.group(1), markup)
    text = re.compile(r"<br\s*/?>", re.I).sub("\n", text)
    return re.compile(r"<[^>]*>").sub("", text)


@given(_MARKUP)
def test_linear_markup_handling_matches_the_old_patterns(markup: str) -> None:
    from urllib.parse import unquote

    from nlp.text import _BR, _emoticons_for_images, _without_tags, html_mentions

    assert _without_tags(_BR.sub("\n", _emoticons_for_images(markup))) == (
        _old_html_to_text_tags(markup)
    )
    old_mentions = tuple(dict.fromkeys(unquote(n) for n in _OLD_MENTION_LINK.findall(markup)))
    assert html_mentions(markup) == old_mentions
    assert strip_long_text_marker(markup) == _OLD_LONG_TEXT_LINK.sub("", markup).rstrip()


_OPENERS = [
    "<a href='/n/", '<a href="/n/', "<img alt=", "<img ", "<a ", "<", "<br ", "href='/n/",
    "alt=[", "'", '"', "\u2000", " ", "#", "@", "http://", "全文",
]  # fmt: skip


@given(
    st.lists(st.sampled_from(_OPENERS), min_size=1, max_size=4),
    st.sampled_from(["", ">", "'>", '">', "x"]),
)
def test_pathological_markup_is_handled_in_linear_time(pieces: list[str], tail: str) -> None:
    """Benchmark-style, with generous limits: 100 KB of repeated openers, unclosed tags and
    nested quotes is handled in well under a second per call (the old patterns took minutes
    on 36 KB). A budget, not a measurement: only a quadratic path could break it."""
    import time

    from nlp.text import html_mentions

    unit = "".join(pieces)
    markup = (unit * (100_000 // len(unit) + 1))[:100_000] + tail
    for handle in (html_to_text, html_mentions, strip_long_text_marker, extract_entities):
        started = time.perf_counter()
        handle(markup)
        assert time.perf_counter() - started < 1.0, (handle.__name__, unit, tail)


def test_the_reported_inputs_are_fast_now() -> None:
    import time

    from nlp.text import html_mentions

    started = time.perf_counter()
    assert html_mentions("<a href='/n/" * 1000) == ()
    crafted = ("<img alt=" * 2000 + "<a href='/n/x" * 2000)[:36_000]
    html_to_text(crafted)
    html_mentions(crafted)
    assert time.perf_counter() - started < 5.0  # a pass is never held over 5 s (was > 120 s)
