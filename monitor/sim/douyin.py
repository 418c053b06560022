"""Douyin as www.douyin.com's web API and the Open Platform (open.douyin.com) answer it.

`play_count` is 0 on the web API, as on the real one: plays exist only per challenge, and
per video only for the video's own author through the Open Platform (`open_*` below).
`statistics.comment_count` counts every visible comment and reply plus the few that are
folded (hidden by moderation), so `comment/list` holds a little fewer than the count, never
none when the count is positive.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any

from monitor.sim.world import SimAccount, SimComment, SimPost, World, grow

DEFAULT_COUNT = 20
FOLDED_EVERY = 25  # one comment in this many is folded: counted, never listed


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
            "comment_count": comment_count(world, post, now),
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


def comment_count(world: World, post: SimPost, now: datetime) -> int:
    """statistics.comment_count: visible comments and replies, plus the folded ones."""
    visible = len(world.comments_until(post.id, now))
    return visible + visible // FOLDED_EVERY


def sign(query: str, user_agent: str) -> dict[str, str]:
    """TEST SIGNER, for the simulator only (`[douyin] signer = "monitor.sim.douyin:sign"` in
    http mode, as the demo and the http-mode tests use it): msToken and a_bogus values that say
    they come from this test signer. The simulator lets them through while
    `Simulator.douyin_test_signer` is true; the real site rejects them, and browser mode never
    uses a signer (the page's own SDK signs there)."""
    token = f"test-signer-{_h(user_agent):08x}"
    digest = _h(query + "&msToken=" + token + user_agent)
    return {"msToken": token, "a_bogus": f"test-signer-{digest:08x}"}


def query_user(now: datetime) -> dict[str, Any]:
    """`query/user/`: the request every page makes for itself soon after it loads."""
    return {"status_code": 0, "user_uid": "", "user_uid_type": 0, "extra": {"now": seconds(now)}}


# --- the Open Platform (open.douyin.com): the authorising creator's own data -------------


def open_id_for(sec_uid: str) -> str:
    """The app-scoped open_id the OAuth grant of this account gives (uuid-like)."""
    digest = hashlib.sha256(f"open:{sec_uid}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def access_token_for(sec_uid: str) -> str:
    """The access token the simulator accepts for this account's grant."""
    return "act.sim" + hashlib.sha256(f"token:{sec_uid}".encode()).hexdigest()[:40]


def _opaque(kind: str, ident: str) -> str:
    return "@" + base64.urlsafe_b64encode(f"{kind}:{ident}".encode()).decode()


def _from_opaque(kind: str, opaque: str) -> str | None:
    try:
        decoded = base64.urlsafe_b64decode(opaque.removeprefix("@").encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, ident = decoded.partition(":")
    return ident if prefix == kind else None


def open_item_id(aweme_id: str) -> str:
    """Open Platform item ids are opaque strings, not the web API's numeric aweme ids."""
    return _opaque("v", aweme_id)


def plays_at(post: SimPost, now: datetime) -> int:
    """Per-video plays, which only the author sees (Open Platform): 12-29 plays a like."""
    ratio = 12 + _h(post.id) % 18
    return grow(post.likes_final * ratio, post.created_at, now, post.tau_hours)


def open_error(code: int, description: str) -> dict[str, Any]:
    error = {"error_code": code, "description": description}
    return {"data": dict(error), "extra": {**error, "sub_error_code": 0, "logid": "sim"}}


def _open_ok(now: datetime, **data: Any) -> dict[str, Any]:
    extra = {"error_code": 0, "description": "", "logid": "sim", "now": seconds(now) * 1000}
    return {"data": {**data, "error_code": 0, "description": ""}, "extra": extra}


# The Open Platform's item data covers videos created in the last 30 days only ("三十天内创建的
# 视频，才会返回数据"); past that the simulator answers zeros, the worst a collector can meet.
OPEN_REPORTED_FOR = timedelta(days=30)


def _open_statistics(world: World, post: SimPost, now: datetime) -> dict[str, int]:
    figures = {
        "play_count": plays_at(post, now),
        "digg_count": world.likes_at(post, now),
        "comment_count": comment_count(world, post, now),
        "share_count": world.shares_at(post, now),
        "forward_count": world.reposts_at(post, now),
        "download_count": world.shares_at(post, now) // 7,
    }
    if now - post.created_at > OPEN_REPORTED_FOR:
        return dict.fromkeys(figures, 0)
    return figures


def open_video_list(
    world: World, sec_uid: str, now: datetime, cursor: int, count: int
) -> dict[str, Any]:
    """`/video/list/`: newest first (pinned first on page one), `cursor` in ms; a video over
    30 days old has zero statistics."""
    posts = [
        p
        for p in world.posts_until(now)
        if p.platform == "douyin" and p.author_id == sec_uid and not p.removed
    ]
    posts.sort(key=lambda p: (p.created_at, p.id), reverse=True)
    pinned = [p for p in posts if p.pinned]
    rest = [p for p in posts if not p.pinned]
    if cursor:
        rest = [p for p in rest if seconds(p.created_at) * 1000 < cursor]
    chunk = rest[:count]
    shown = (pinned if not cursor else []) + chunk
    last = chunk[-1] if chunk else None
    items = [
        {
            "item_id": open_item_id(p.id),
            "title": p.text,
            "create_time": seconds(p.created_at),
            "cover": f"https://p3.douyinpic.com/obj/{p.id}.jpeg",
            "share_url": f"https://www.iesdouyin.com/share/video/{p.id}/",
            "is_top": p.pinned,
            "is_reviewed": True,
            "video_status": 1,
            "media_type": 4,
            "statistics": _open_statistics(world, p, now),
        }
        for p in shown
    ]
    return _open_ok(
        now,
        list=items,
        cursor=seconds(last.created_at) * 1000 if last else cursor,
        has_more=len(rest) > count,
    )


def _open_comment(world: World, comment: SimComment, now: datetime, replies: int) -> dict:
    return {
        "comment_id": _opaque("c", comment.id),
        "comment_user_id": open_id_for(comment.author_id),
        "content": comment.text,
        "create_time": seconds(comment.created_at),
        "digg_count": world.comment_likes_at(comment, now),
        "reply_comment_total": replies,
        "top": False,
    }


def open_comments(
    world: World,
    sec_uid: str,
    item_id: str,
    now: datetime,
    cursor: int,
    count: int,
    comment_id: str | None = None,
) -> dict[str, Any]:
    """`/item/comment/list/` (newest first, sort_type=time) or, with `comment_id`,
    `/item/comment/reply/list/`; `cursor` is an offset. Only the author's own videos."""
    aweme_id = _from_opaque("v", item_id)
    post = world.posts_by_id.get(aweme_id or "")
    if post is None or post.author_id != sec_uid or post.created_at > now:
        return open_error(28001007, "参数不合法: item_id")
    visible = world.comments_until(post.id, now)
    if comment_id is not None:
        parent = _from_opaque("c", comment_id)
        chosen = [c for c in visible if c.parent_id == parent and parent]
        counts: dict[str, int] = {}
    else:
        chosen = sorted(
            (c for c in visible if not c.parent_id),
            key=lambda c: (c.created_at, c.id),
            reverse=True,
        )
        counts = {}
        for c in visible:
            if c.parent_id:
                counts[c.parent_id] = counts.get(c.parent_id, 0) + 1
    chunk = chosen[cursor : cursor + count]
    return _open_ok(
        now,
        list=[_open_comment(world, c, now, counts.get(c.id, 0)) for c in chunk],
        cursor=cursor + len(chunk),
        has_more=cursor + len(chunk) < len(chosen),
    )


def open_fans(world: World, sec_uid: str, now: datetime, days: int) -> dict[str, Any]:
    """`/data/external/user/fans/`: one row a day up to yesterday (the data is daily)."""
    account = world.account("douyin", sec_uid)
    if account is None:
        return open_error(28001007, "参数不合法: open_id")
    rows = []
    for back in range(days, 0, -1):
        day_end = (now - timedelta(days=back - 1)).replace(hour=0, minute=0, second=0)
        total = world.followers_at(account, day_end)
        previous = world.followers_at(account, day_end - timedelta(days=1))
        day = f"{day_end - timedelta(days=1):%Y-%m-%d}"
        rows.append({"date": day, "new_fans": total - previous, "total_fans": total})
    return _open_ok(now, result_list=rows)
