"""Small builders for model records, so tests state only what matters to them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.models import Comment, Post

T0 = datetime(2019, 7, 6, 2, 0, tzinfo=UTC)


def post(id: str = "4390000000000001", **changes: Any) -> Post:
    base = Post(
        platform="weibo",
        id=id,
        author_id="2000000001",
        author_name="海边的小王",
        text="推荐我们小区的环卫工人刘阿姨 #平凡大连人# [赞]",
        created_at=T0,
        observed_at=T0 + timedelta(minutes=5),
        topics=("平凡大连人",),
        likes=10,
        comments=2,
        reposts=1,
    )
    return replace(base, **changes)


def comment(id: str = "4390000000000101", **changes: Any) -> Comment:
    base = Comment(
        platform="weibo",
        id=id,
        post_id="4390000000000001",
        author_id="3000000001",
        text="刘阿姨辛苦了[心]",
        created_at=T0 + timedelta(minutes=10),
        observed_at=T0 + timedelta(minutes=15),
        likes=3,
    )
    return replace(base, **changes)
