"""Watched posts in the reports: the digest's 本次活动视频, the bot's /top, and the
negative-thread rule reading them like a partner's uploads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.bot.replies import Replies
from alerts.digest.build import build_digest
from alerts.digest.documents import render_markdown
from alerts.engine import evaluate
from monitor.config import config_from_dict
from monitor.store import Store
from tests.support.digest import THREAD, W28, at, fill_week, make_config
from tests.support.factories import post

T0 = datetime(2019, 8, 10, 2, 0, tzinfo=UTC)


def test_the_digest_has_a_section_for_the_watched_posts(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    # d-1's counts: one reading before the week, one inside it
    store.content.save_posts(
        [
            post("d-1", platform="douyin", created_at=at("2019-07-01T20:00"),
                 observed_at=at("2019-07-05T00:00"), author_id="dy1", author_name="抖音用户",
                 likes=100, comments=10, shares=5, reposts=None, plays=None),
        ]
    )  # fmt: skip
    store.content.save_posts(
        [
            post("d-1", platform="douyin", created_at=at("2019-07-01T20:00"),
                 observed_at=at("2019-07-13T00:00"), author_id="dy1", author_name="抖音用户",
                 likes=500, comments=50, shares=20, reposts=None, plays=None),
        ]
    )  # fmt: skip
    store.watch.add_watch(
        "https://www.douyin.com/video/d-1", "douyin", "d-1", "英雄视频·环卫工人", "cli", T0
    )
    store.watch.add_watch("https://v.douyin.com/b2Y4WA", "douyin", None, "待解析", "cli", T0)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    (video,) = [w for w in digest.watched if w.collected]
    assert video.post_id == "d-1" and video.likes == 500 and video.comments == 50
    assert video.gained == (500 + 50 + 20) - (100 + 10 + 5)
    assert video.scored == 1 and video.negative == 0  # d0, neutral, in the week
    markdown = render_markdown(digest)
    section = markdown[markdown.index("## 本次活动视频") :]
    assert "英雄视频·环卫工人" in section and "尚未采集" in section
    assert digest.facts()["watched"] == 2


def test_a_digest_without_watched_posts_has_no_such_section(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    assert "本次活动视频" not in render_markdown(digest)


def test_top_lists_the_watched_posts(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    store.watch.add_watch(
        "https://m.weibo.cn/detail/p-thread", "weibo", THREAD, "官方活动视频", "cli", T0
    )
    replies = Replies(make_config(tmp_path), store)
    text = replies.top(at("2019-07-15T09:00"), 7 * 86400)
    watched = text[text.index("本次活动视频") :]
    assert "官方活动视频" in watched and "赞 60" in watched


def test_a_sensitive_word_in_a_watched_post_alerts_like_a_partners(
    tmp_path: Path, store: Store
) -> None:
    config = config_from_dict(
        {"storage": {"path": "pingfan.db"}, "topics": [{"name": "平凡大连人"}]},
        tmp_path / "config.toml",
    )
    store.content.save_posts(
        [post("V1", author_id="9000000001", author_kind="user", text="网友曝光：散场无人疏导",
              created_at=T0, observed_at=T0)]
    )  # fmt: skip
    later = T0 + timedelta(hours=1)
    assert not [a for a in evaluate(store, config, later) if a.kind == "negative_thread"]
    store.watch.add_watch("https://m.weibo.cn/detail/V1", "weibo", "V1", "", "cli", T0)
    raised = [a for a in evaluate(store, config, later) if a.kind == "negative_thread"]
    assert [(a.subject_id, a.title) for a in raised] == [("V1", "敏感词：微博帖子出现「曝光」")]


def test_status_lists_the_watched_posts(tmp_path: Path, store: Store) -> None:
    from monitor.status import render_status

    fill_week(store)
    store.watch.add_watch(
        "https://m.weibo.cn/detail/p-thread", "weibo", THREAD, "官方视频", "cli", T0
    )
    store.watch.add_watch("https://v.douyin.com/b2Y4WA", "douyin", None, "", "cli", T0)
    text = render_status(store, make_config(tmp_path))
    watched = text[text.index("watched by link") :].splitlines()
    assert "p-thread  likes=60  comments=40" in watched[1] and "官方视频" in watched[1]
    assert "https://v.douyin.com/b2Y4WA  not collected yet" in watched[2]
