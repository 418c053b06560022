"""Douyin as www.douyin.com's web API answers it: JSON shapes from platforms.md §2.

`play_count` is 0 here, as on the real web API: plays exist only per challenge.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from monitor.sim.world import SimAccount, SimComment, SimPost, World

DEFAULT_COUNT = 20


def _h(value: str) -> int:
    return int(hashlib.md5(value.encode()).hexdigest()[:8], 16)


def seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def render_author(account: SimAccount | None, author_id: str) -> dict[str, Any]:
    name = account.name if account else "用户"
    return {
        "uid": str(10_000_000_000 + _h(author_id) % 90_000_000_000),
        "sec_uid": author_id,
        "nickname": name,
        "unique_id": f"dl{_h(author_id) % 10_000_000}",
        "short_id": "0",
        "avatar_thumb": {
            "url_list": [f"https://p3.douyinpic.com/aweme/100x100/{author_id[-8:]}.jpeg"]
        },
    }


def render_aweme(world: World, post: SimPost, now: datetime) -> dict[str, Any]:
    topic = post.topics[0] if post.topics else ""
    curve = world.topic("douyin", name=topic)
    ch_id = curve.ch_id if curve and curve.ch_id else "0"
    return {
        "aweme_id": post.id,
        "aweme_type": 0 if post.media == "video" else 68,
        "desc": post.text,
        "create_time": seconds(post.created_at),
        "author": render_author(world.account("douyin", post.author_id), post.author_id),
        "statistics": {
            "aweme_id": post.id,
            "digg_count": world.likes_at(post, now),
            "comment_count": len(world.comments_until(post.id, now)),
            "share_count": world.shares_at(post, now),
            "collect_count": world.likes_at(post, now) // 9,
            "admire_count": 0,
            "play_count": 0,
        },
        "video": {
            "duration": post.duration_ms,
            "play_addr": {"url_list": [f"https://v26-web.douyinvod.com/{post.id}/video.mp4"]},
            "origin_cover": {"url_list": [f"https://p3.douyinpic.com/obj/{post.id}.jpeg"]},
        },
        "text_extra": [
            {"hashtag_name": name, "hashtag_id": ch_id if name == topic else "0", "type": 1}
            for name in post.topics
        ],
        "cha_list": [{"cid": ch_id, "cha_name": topic}] if topic else [],
        "status": {"is_prohibited": False, "private_status": 0, "is_delete": False},
        "is_top": 1 if post.pinned else 0,
        "ip_label": post.region,
    }


def challenge_detail(world: World, ch_id: str, now: datetime) -> dict[str, Any]:
    curve = world.topic("douyin", ch_id=ch_id)
    if curve is None:
        return {"status_code": 0, "ch_info": None}
    views, users = world.topic_counts_at(curve, now)
    return {
        "status_code": 0,
        "ch_info": {
            "cid": ch_id,
            "cha_name": curve.name,
            "desc": "平凡的人，不平凡的城市。拍下你身边的平凡英雄。",
            "view_count": views,
            "user_count": users,
            "hashtag_profile": "",
            "type": 1,
            "share_info": {"share_url": f"https://www.iesdouyin.com/share/challenge/{ch_id}/"},
        },
        "extra": {"now": seconds(now) * 1000},
    }


def challenge_awemes(
    world: World, ch_id: str, now: datetime, cursor: int, count: int, sort_type: int
) -> dict[str, Any]:
    curve = world.topic("douyin", ch_id=ch_id)
    if curve is None:
        return {"status_code": 0, "aweme_list": [], "cursor": 0, "has_more": 0}
    posts = [
        p
        for p in world.posts_until(now)
        if p.platform == "douyin" and curve.name in p.topics and not p.removed
    ]
    if sort_type == 1:
        posts.sort(key=lambda p: (p.created_at, p.id), reverse=True)
    else:
        posts.sort(key=lambda p: (-world.likes_at(p, now), p.id))
    chunk = posts[cursor : cursor + count]
    return {
        "status_code": 0,
        "aweme_list": [render_aweme(world, p, now) for p in chunk],
        "cursor": cursor + len(chunk),
        "has_more": 1 if cursor + len(chunk) < len(posts) else 0,
        "extra": {"now": seconds(now) * 1000},
    }


def user_posts(
    world: World, sec_user_id: str, now: datetime, max_cursor: int, count: int
) -> dict[str, Any]:
    """Newest first, pinned (`is_top`) first on the first page; `max_cursor` in ms."""
    posts = [
        p
        for p in world.posts_until(now)
        if p.platform == "douyin" and p.author_id == sec_user_id and not p.removed
    ]
    posts.sort(key=lambda p: (p.created_at, p.id), reverse=True)
    pinned = [p for p in posts if p.pinned]
    rest = [p for p in posts if not p.pinned]
    if max_cursor:
        rest = [p for p in rest if seconds(p.created_at) * 1000 < max_cursor]
    chunk = rest[:count]
    shown = (pinned if not max_cursor else []) + chunk
    last = chunk[-1] if chunk else None
    return {
        "status_code": 0,
        "aweme_list": [render_aweme(world, p, now) for p in shown],
        "has_more": 1 if len(rest) > count else 0,
        "max_cursor": seconds(last.created_at) * 1000 if last else 0,
        "min_cursor": seconds(shown[0].created_at) * 1000 if shown else 0,
    }


def aweme_detail(world: World, aweme_id: str, now: datetime) -> dict[str, Any]:
    post = world.posts_by_id.get(aweme_id)
    if post is None or post.platform != "douyin" or post.created_at > now:
        return {"status_code": 0, "aweme_detail": None}
    if post.removed:
        return {
            "status_code": 0,
            "aweme_detail": None,
            "filter_detail": {
                "aweme_id": aweme_id,
                "filter_reason": "status_self_see",
                "detail_msg": "因作品权限或已被删除，无法观看，去看看其他作品吧",
            },
        }
    return {"status_code": 0, "aweme_detail": render_aweme(world, post, now)}


def render_comment(world: World, comment: SimComment, now: datetime, replies: int) -> dict:
    author = world.account("douyin", comment.author_id)
    return {
        "cid": comment.id,
        "aweme_id": comment.post_id,
        "text": comment.text,
        "create_time": seconds(comment.created_at),
        "digg_count": world.comment_likes_at(comment, now),
        "reply_comment_total": replies,
        "reply_id": comment.parent_id or "0",
        "reply_to_reply_id": "0",
        "ip_label": comment.region,
        "is_hot": False,
        "status": 1,
        "user": render_author(author, comment.author_id),
        "image_list": None,
        "sticker": None,
    }


def comment_list(
    world: World, aweme_id: str, now: datetime, cursor: int, count: int
) -> dict[str, Any]:
    post = world.posts_by_id.get(aweme_id)
    if post is None or post.platform != "douyin":
        return {"status_code": 0, "comments": None, "cursor": 0, "has_more": 0, "total": 0}
    visible = world.comments_until(aweme_id, now)
    reply_counts: dict[str, int] = {}
    for comment in visible:
        if comment.parent_id:
            reply_counts[comment.parent_id] = reply_counts.get(comment.parent_id, 0) + 1
    top = sorted(
        (c for c in visible if not c.parent_id), key=lambda c: (c.created_at, c.id), reverse=True
    )
    chunk = top[cursor : cursor + count]
    return {
        "status_code": 0,
        "comments": [render_comment(world, c, now, reply_counts.get(c.id, 0)) for c in chunk],
        "cursor": cursor + len(chunk),
        "has_more": 1 if cursor + len(chunk) < len(top) else 0,
        "total": len(top),
    }


def reply_list(
    world: World, aweme_id: str, comment_id: str, now: datetime, cursor: int, count: int
) -> dict[str, Any]:
    replies = [c for c in world.comments_until(aweme_id, now) if c.parent_id == comment_id]
    chunk = replies[cursor : cursor + count]
    return {
        "status_code": 0,
        "comments": [render_comment(world, c, now, 0) for c in chunk],
        "cursor": cursor + len(chunk),
        "has_more": 1 if cursor + len(chunk) < len(replies) else 0,
        "total": len(replies),
    }


def user_profile(world: World, sec_user_id: str, now: datetime) -> dict[str, Any]:
    account = world.account("douyin", sec_user_id)
    if account is None:
        return {"status_code": 0, "user": None}
    followers = world.followers_at(account, now)
    aweme_count = sum(
        1 for p in world.posts_until(now) if p.platform == "douyin" and p.author_id == sec_user_id
    )
    return {
        "status_code": 0,
        "user": {
            **render_author(account, sec_user_id),
            "signature": "大连，一座有温度的城市" if account.kind != "user" else "",
            "gender": 0,
            "ip_location": "IP属地：辽宁",
            "follower_count": followers,
            "max_follower_count": followers,
            "mplatform_followers_count": followers,
            "following_count": 50 + _h(sec_user_id) % 300,
            "total_favorited": followers * 7,
            "favoriting_count": 0,
            "aweme_count": aweme_count,
            "is_star": False,
            "is_ban": False,
            "live_status": 0,
            "custom_verify": "大连市委网信办" if account.kind == "official" else "",
            "enterprise_verify_reason": "",
        },
    }
