"""Weibo as m.weibo.cn and m.s.weibo.com answer it: JSON shapes from platforms.md §1.

Rendering is pure (world + simulated time → dict); the handlers only pick what to render.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, quote

from monitor.sim.world import SimAccount, SimComment, SimPost, World

_CST = timezone(timedelta(hours=8))
PAGE_SIZE = 10
COMMENT_PAGE = 20
HOT_COMMENTS = 20
SEARCH_PAGE_CAP = 50
_EMOTICON_SRC = "https://face.t.sinajs.cn/t4/appstyle/expression/ext/normal/{}.png"
_LINK_ICON = "//h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_web_default.png"
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NOTHING = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _h(value: str) -> int:
    """A stable per-item choice (which quirk an item shows), independent of PYTHONHASHSEED."""
    return int(hashlib.md5(value.encode()).hexdigest()[:8], 16)


def weibo_time(moment: datetime) -> str:
    """`Sat Jul 06 10:00:00 +0800 2019`, always in +08:00 as the API does."""
    local = moment.astimezone(_CST)
    return (
        f"{_WEEKDAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day:02d} "
        f"{local:%H:%M:%S} +0800 {local.year}"
    )


def relative_time(moment: datetime, now: datetime) -> str:
    """The older m.weibo.cn forms: 刚刚, N分钟前, N小时前, 昨天 HH:MM, MM-DD, YYYY-MM-DD."""
    local, local_now = moment.astimezone(_CST), now.astimezone(_CST)
    age = now - moment
    if age < timedelta(minutes=1):
        return "刚刚"
    if age < timedelta(hours=1):
        return f"{int(age.total_seconds() // 60)}分钟前"
    if local.date() == local_now.date():
        return f"{int(age.total_seconds() // 3600)}小时前"
    if local.date() == (local_now - timedelta(days=1)).date():
        return f"昨天 {local:%H:%M}"
    if local.year == local_now.year:
        return f"{local:%m-%d}"
    return f"{local:%Y-%m-%d}"


def display_count(value: int) -> str:
    """`"43.4万"`, `"1.2亿"`, `"100万+"` as the site shows big numbers."""
    if value >= 1_000_000:
        return "100万+"
    if value >= 10_000:
        return f"{value / 10_000:.1f}万"
    return str(value)


def display_reach(value: int) -> str:
    """Topic headers write reach as `106.9万` or `1.2亿`, never `100万+`."""
    if value >= 100_000_000:
        return f"{value / 100_000_000:.1f}亿"
    if value >= 10_000:
        return f"{value // 1000 / 10:.1f}万"
    return str(value)


def bid(mid: str) -> str:
    number, digits = int(mid), []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits))[-9:]


def text_to_html(text: str) -> str:
    """Plain scenario text → the HTML m.weibo.cn sends (hashtag links, mentions, emoticons)."""

    def hashtag(match: re.Match[str]) -> str:
        encoded = quote(f"231522type=1&t=10&q=#{match.group(1)}#", safe="")
        return (
            f'<a  href="https://m.weibo.cn/search?containerid={encoded}&isnewpage=1" '
            f'data-hide=""><span class="surl-text">#{match.group(1)}#</span></a>'
        )

    def emoticon(match: re.Match[str]) -> str:
        alt = match.group(0)
        quoted = f'"{alt}"' if _h(alt) % 2 else alt  # both quote styles occur
        return (
            f'<span class="url-icon"><img alt={quoted} src="{_EMOTICON_SRC.format(_h(alt) % 97)}" '
            'style="width:1em; height:1em;" /></span>'
        )

    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = re.sub(
        r"(https?://[\w./-]+)",
        rf"<a href='\1' data-hide=''><span class='url-icon'><img style='width: 1rem;height: "
        rf"1rem' src='{_LINK_ICON}'></span><span class='surl-text'>网页链接</span></a>",
        out,
    )
    out = re.sub(r"#([^#\s]{1,40})#", hashtag, out)
    out = re.sub(r"@([\w\u4e00-\u9fff]{1,20})", r"<a href='/n/\1'>@\1</a>", out)
    out = re.sub(r"\[[^\[\]\s]{1,8}\]", emoticon, out)
    return out.replace("\n", "<br />")


def long_text(post: SimPost) -> str:
    return (
        post.text
        + "\n他们是这座城市里最普通的人，也是让这座城市不普通的人。"
        + "每天清晨，当大多数人还在睡梦中，他们已经出发；每到深夜，当城市安静下来，他们还在坚守。"
        + "感谢每一位平凡的大连人。"
    )


def render_user(world: World, account: SimAccount | None, now: datetime) -> dict[str, Any] | None:
    if account is None:
        return None
    followers = world.followers_at(account, now)
    return {
        "id": int(account.id),
        "screen_name": account.name,
        "profile_image_url": f"https://tvax1.sinaimg.cn/crop.0.0.180.180.180/{account.id}.jpg",
        "profile_url": f"https://m.weibo.cn/u/{account.id}?uid={account.id}",
        "statuses_count": 120 + _h(account.id) % 3000,
        "verified": account.verified,
        "verified_type": 1 if account.kind == "official" else (0 if account.verified else -1),
        "verified_reason": "大连市委网信办官方微博" if account.kind == "official" else "",
        "description": "",
        "gender": "m" if _h(account.id) % 2 else "f",
        "mbtype": 0,
        "urank": 10,
        "mbrank": 0,
        "follow_me": False,
        "following": False,
        "follow_count": 80 + _h(account.id) % 400,
        # a string even when small ("77"), as in the real capture (tests/fixtures/real)
        "followers_count": display_count(followers),
        "followers_count_str": display_count(followers),
    }


def render_mblog(world: World, post: SimPost, now: datetime, relative: bool = False) -> dict:
    likes, reposts = world.likes_at(post, now), world.reposts_at(post, now)
    comment_count = len(world.comments_until(post.id, now))
    author = world.account("weibo", post.author_id)
    truncated = post.long_text
    text = text_to_html(post.text)
    if truncated:
        text += f'...<a href="/status/{post.id}">全文</a>'
    mblog: dict[str, Any] = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": relative_time(post.created_at, now)
        if relative and _h(post.id) % 2
        else weibo_time(post.created_at),
        "id": post.id,
        "mid": post.id,
        "can_edit": False,
        "text": text,
        "textLength": len(long_text(post) if truncated else post.text) * 2,
        "source": "iPhone客户端" if _h(post.id) % 3 else "",
        "favorited": False,
        "pic_ids": [],
        "is_paid": False,
        "user": render_user(world, author, now),
        "reposts_count": display_count(reposts) if reposts >= 10_000 else reposts,
        "comments_count": comment_count,
        "attitudes_count": likes,
        "pending_approval_count": 0,
        "isLongText": truncated,
        "mblogtype": 2 if post.pinned else 0,
        "number_display_strategy": {
            "apply_scenario_flag": 3,
            "display_text_min_number": 1000000,
            "display_text": "100万+",
        },
        "pic_num": 0,
        "region_name": f"发布于 {post.region}",
        "bid": bid(post.id),
    }
    if post.media == "image":
        pics = [
            {
                "pid": f"{post.id[-8:]}p{i}",
                "url": f"https://wx1.sinaimg.cn/orj360/{post.id}_{i}.jpg",
                "large": {"url": f"https://wx1.sinaimg.cn/large/{post.id}_{i}.jpg"},
            }
            for i in range(1 + _h(post.id) % 3)
        ]
        mblog["pic_ids"] = [p["pid"] for p in pics]
        mblog["pic_num"] = len(pics)
        mblog["pics"] = {str(i): p for i, p in enumerate(pics)} if post.pics_as_object else pics
    if post.media == "video":
        mblog["page_info"] = {
            "type": "video",
            "object_type": 11,
            "page_title": post.text[:20],
            "page_url": f"https://video.weibo.com/show?fid=1034:{post.id}",
            "media_info": {
                "duration": post.duration_ms / 1000,
                "stream_url": f"https://f.video.weibocdn.com/{post.id}.mp4",
                "mp4_720p_mp4": f"https://f.video.weibocdn.com/{post.id}_720.mp4",
            },
        }
    if post.retweet_of:
        original = world.posts_by_id.get(post.retweet_of)
        if post.retweet_deleted or original is None:
            mblog["retweeted_status"] = {
                "id": post.retweet_of,
                "mid": post.retweet_of,
                "user": None,
                "text": "抱歉，此微博已被作者删除。查看帮助：<a href='https://m.weibo.cn/c/6155'>网页链接</a>",
                "deleted": "1",
                "state": 7,
            }
        else:
            mblog["retweeted_status"] = render_mblog(world, original, now)
    return mblog


def card(mblog: dict[str, Any]) -> dict[str, Any]:
    as_string = _h(mblog["id"]) % 4 == 0  # RSSHub compares card_type as a string: both occur
    result = {
        "card_type": "9" if as_string else 9,
        "card_type_name": "",
        "itemid": "",
        "mblog": mblog,
        "scheme": f"https://m.weibo.cn/status/{mblog['bid']}?mblogid={mblog['bid']}",
        "show_type": 0,
        "title": "",
    }
    if mblog.get("mblogtype") == 2:
        result["profile_type_id"] = "proweibotop_"
    return result


def topic_posts(world: World, topic: str, now: datetime) -> list[SimPost]:
    return [p for p in world.posts_until(now) if p.platform == "weibo" and topic in p.topics]


def search_page(
    world: World, inner: str, page: int, now: datetime, container: str = "100103"
) -> dict[str, Any]:
    """`100103type=1|61&q=#话题#` search and the `231522…` topic container."""
    params = parse_qs(inner)
    query = params.get("q", [""])[0]
    topic = query.strip("#")
    kind = params.get("type", ["1"])[0]
    if not topic or page > SEARCH_PAGE_CAP:
        return NOTHING
    posts = topic_posts(world, topic, now)
    if kind == "1" and container == "100103":  # comprehensive: hottest first
        posts.sort(key=lambda p: (-world.likes_at(p, now), p.id))
    else:  # real time: newest first
        posts.sort(key=lambda p: (p.created_at, p.id), reverse=True)
    chunk = posts[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if not chunk:
        return NOTHING
    relative = kind == "61"
    cards: list[dict[str, Any]] = [card(render_mblog(world, p, now, relative)) for p in chunk]
    if kind == "1" and page == 1 and len(cards) > 3:  # a card group wrapping the first three
        cards = [{"card_type": 11, "show_type": 0, "card_group": cards[:3]}, *cards[3:]]
    data: dict[str, Any] = {
        "cardlistInfo": {
            "containerid": f"{container}{inner}",
            "page": page + 1 if len(posts) > page * PAGE_SIZE else None,
            "total": len(posts),
        },
        "cards": cards,
        "scheme": "",
    }
    if container == "231522":
        curve = world.topic("weibo", name=topic)
        if curve is not None:
            views, discussions = world.topic_counts_at(curve, now)
            data["pageInfo"] = {
                "page_title": f"#{topic}#",
                "desc": f"{display_reach(discussions)}讨论 {display_reach(views)}阅读",
                "desc_more": [f"{display_reach(views)}阅读"],
            }
    return {"ok": 1, "data": data}


def profile(world: World, uid: str, now: datetime) -> dict[str, Any]:
    account = world.account("weibo", uid)
    if account is None:
        return NOTHING
    return {
        "ok": 1,
        "data": {
            "userInfo": render_user(world, account, now),
            "tabsInfo": {
                "selectedTab": 1,
                "tabs": [
                    {"id": 1, "tab_type": "profile", "containerid": f"230283{uid}"},
                    {"id": 2, "tab_type": "weibo", "containerid": f"107603{uid}"},
                ],
            },
        },
    }


def timeline(world: World, uid: str, now: datetime, since_id: str | None, page: int | None) -> dict:
    """`107603{uid}` paged by since_id; `230413{uid}` paged by page. Pinned posts first."""
    if world.account("weibo", uid) is None:
        return NOTHING
    posts = [p for p in world.posts_until(now) if p.platform == "weibo" and p.author_id == uid]
    posts.sort(key=lambda p: (p.created_at, p.id), reverse=True)
    pinned = [p for p in posts if p.pinned]
    rest = [p for p in posts if not p.pinned]
    if page is not None:
        chunk = rest[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        more = len(rest) > page * PAGE_SIZE
        next_marker: dict[str, Any] = {"page": page + 1 if more else None}
        first = page == 1
    else:
        if since_id:
            rest = [p for p in rest if int(p.id) < int(since_id)]
        chunk = rest[:PAGE_SIZE]
        more = len(rest) > PAGE_SIZE
        next_marker = {"since_id": int(chunk[-1].id)} if more and chunk else {}
        first = not since_id
    shown = (pinned if first else []) + chunk
    if not shown:
        return NOTHING
    return {
        "ok": 1,
        "data": {
            "cardlistInfo": {
                "containerid": f"107603{uid}",
                "v_p": 42,
                "show_style": 1,
                **next_marker,
            },
            "cards": [card(render_mblog(world, p, now)) for p in shown],
            "scheme": "",
            "showAppTips": 0,
        },
    }


def render_comment(
    world: World, comment: SimComment, now: datetime, replies: list[SimComment]
) -> dict:
    user = world.account("weibo", comment.author_id)
    return {
        "created_at": weibo_time(comment.created_at),
        "id": comment.id,
        "rootid": comment.parent_id or comment.id,
        "rootidstr": comment.parent_id or comment.id,
        "floor_number": 0,
        "text": text_to_html(comment.text),
        "disable_reply": 0,
        "user": {
            "id": int(comment.author_id),
            "screen_name": comment.author_name,
            "profile_image_url": f"https://tvax1.sinaimg.cn/crop/{comment.author_id}.jpg",
            "verified": bool(user and user.verified),
            "gender": "f" if _h(comment.author_id) % 2 else "m",
        },
        "mid": comment.id,
        "source": f"来自{comment.region}",
        "like_count": world.comment_likes_at(comment, now),
        "total_number": len(replies),
        "comments": [render_comment(world, r, now, []) for r in replies[:3]] if replies else False,
        "liked": False,
    }


def _encode_max_id(offset: int) -> int:
    return 138_000_000_000_000 + offset * 7919


def _decode_max_id(max_id: int) -> int | None:
    offset, rest = divmod(max_id - 138_000_000_000_000, 7919)
    return offset if rest == 0 and offset >= 0 else None


def hotflow(world: World, mid: str, now: datetime, max_id: int, max_id_type: int) -> dict:
    """Hot comments first (max_id_type 0), then the rest newest first (type 1). The type must
    be passed back: a type-1 cursor sent as type 0 gets nothing, as on the real site."""
    post = world.posts_by_id.get(mid)
    if post is None or post.platform != "weibo":
        return NOTHING
    visible = world.comments_until(mid, now)
    replies: dict[str, list[SimComment]] = {}
    for comment in visible:
        if comment.parent_id:
            replies.setdefault(comment.parent_id, []).append(comment)
    top = [c for c in visible if not c.parent_id]
    hot = sorted(top, key=lambda c: (-world.comment_likes_at(c, now), c.id))[:HOT_COMMENTS]
    hot_ids = {c.id for c in hot}
    rest = sorted(
        (c for c in top if c.id not in hot_ids), key=lambda c: (c.created_at, c.id), reverse=True
    )
    stream = hot + rest
    offset = 0
    if max_id:
        decoded = _decode_max_id(max_id)
        if decoded is None or (max_id_type == 0) != (decoded < len(hot)):
            return NOTHING
        offset = decoded
    chunk = stream[offset : offset + COMMENT_PAGE]
    if not chunk:
        return NOTHING
    next_offset = offset + len(chunk)
    more = next_offset < len(stream)
    return {
        "ok": 1,
        "data": {
            "data": [render_comment(world, c, now, replies.get(c.id, [])) for c in chunk],
            "total_number": len(visible),
            "max_id": _encode_max_id(next_offset) if more else 0,
            "max_id_type": 0 if more and next_offset < len(hot) else 1,
        },
    }


COMMENTS_SHOW_PAGE = 10
COMMENTS_SHOW_MAX_PAGES = 5  # the old endpoint reaches about fifty comments


def comments_show(world: World, mid: str, now: datetime, page: int) -> dict[str, Any]:
    """`/api/comments/show?id=&page=`: the cookieless fallback, newest first, ~50 at most."""
    post = world.posts_by_id.get(mid)
    if post is None or post.platform != "weibo":
        return NOTHING
    top = sorted(
        (c for c in world.comments_until(mid, now) if not c.parent_id),
        key=lambda c: (c.created_at, c.id),
        reverse=True,
    )[: COMMENTS_SHOW_PAGE * COMMENTS_SHOW_MAX_PAGES]
    chunk = top[(page - 1) * COMMENTS_SHOW_PAGE : page * COMMENTS_SHOW_PAGE]
    if not chunk:
        return NOTHING
    pages = -(-len(top) // COMMENTS_SHOW_PAGE)
    return {
        "ok": 1,
        "data": {
            "data": [render_comment(world, c, now, []) for c in chunk],
            "total_number": len(top),
            "max": pages,
        },
    }


def status(world: World, mid: str, now: datetime) -> dict[str, Any] | None:
    """The mblog of one post (`/statuses/show`, and `$render_data` of `/detail/{mid}`)."""
    post = world.posts_by_id.get(mid)
    if post is None or post.platform != "weibo" or post.created_at > now:
        return None
    return render_mblog(world, post, now)


def detail_page(mblog: dict[str, Any]) -> str:
    """`m.weibo.cn/detail/{mid}`: HTML whose script holds `var $render_data = [...][0]`."""
    render_data = json.dumps([{"status": mblog, "call": "1"}], ensure_ascii=False)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>微博正文</title></head><body>"
        f"<script>var $render_data = {render_data}[0] || {{}};</script></body></html>"
    )


def profile_info(world: World, uid: str) -> dict[str, Any]:
    """`230283{uid}_-_INFO`: the profile's detail cards (所在地, IP属地, …)."""
    account = world.account("weibo", uid)
    if account is None:
        return NOTHING
    items = [("所在地", "辽宁 大连"), ("IP属地", "辽宁"), ("简介", account.name)]
    if account.verified:
        items.append(
            ("认证信息", "大连市委网信办官方微博" if account.kind == "official" else "知名博主")
        )
    return {
        "ok": 1,
        "data": {
            "cards": [
                {
                    "card_type": 11,
                    "card_group": [
                        {"card_type": 41, "item_name": name, "item_content": content}
                        for name, content in items
                    ],
                }
            ]
        },
    }


def extend(world: World, mid: str, now: datetime) -> dict | None:
    post = world.posts_by_id.get(mid)
    if post is None or post.platform != "weibo" or post.created_at > now:
        return None
    return {"ok": 1, "data": {"ok": 1, "longTextContent": text_to_html(long_text(post))}}


def topic_detail(world: World, query: str, now: datetime) -> dict[str, Any]:
    topic = query.strip("#")
    curve = world.topic("weibo", name=topic)
    if curve is None or now < world.start:
        return {"ok": 0, "msg": "话题不存在"}
    views, discussions = world.topic_counts_at(curve, now)
    original = discussions // 3

    def value(n: int) -> dict[str, Any]:
        if n >= 100_000_000:
            return {"val": round(n / 100_000_000, 1), "unit": "亿"}
        if n >= 10_000:
            return {"val": round(n / 10_000, 1), "unit": "万"}
        return {"val": n, "unit": ""}

    return {
        "ok": 1,
        "data": {
            "baseInfo": {
                "count": {"read": views, "mention": discussions, "ori_uv": original, "star": 0},
                "topic_ori": f"#{topic}#",
                "object": {"category_str": "同城", "summary": "平凡的人，不平凡的城市"},
                "claim_info": {"name": "大连网信", "location": "辽宁 大连"},
            },
            "baseData": {"r": value(views), "m": value(discussions), "ori_uv": value(original)},
        },
    }
