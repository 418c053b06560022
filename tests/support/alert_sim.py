"""Scripted comment traffic for the alert rules on the simulated world."""

from __future__ import annotations

from datetime import datetime

from monitor.models import Comment, Post
from monitor.sim.world import SimPost, World
from monitor.store import Store

TRAFFIC = "2019-08-16T21:30:00+08:00"  # 星海广场: traffic after the event (Weibo)


def thread(world: World, at: str) -> SimPost:
    moment = datetime.fromisoformat(at)
    return next(p for p in world.posts if p.role == "thread" and p.created_at == moment)


def feed_douyin(store: Store, world: World, now: datetime, since: datetime) -> None:
    """What a Douyin collector would store at `now`: posts created since `since` with their
    counts, and their comments so far."""
    posts = [p for p in world.posts_until(now) if p.platform == "douyin" and p.created_at >= since]
    rows = []
    for sim in posts:
        author = world.account("douyin", sim.author_id)
        shown = world.comments_until(sim.id, now)
        rows.append(
            Post(
                platform="douyin",
                id=sim.id,
                author_id=sim.author_id,
                author_name=author.name if author else sim.author_id,
                text=sim.text,
                created_at=sim.created_at,
                observed_at=now,
                topics=sim.topics,
                media=sim.media,
                plays=None,  # Douyin's web API reports 0 plays: unknown
                likes=world.likes_at(sim, now),
                comments=len(shown),
                shares=world.shares_at(sim, now),
                author_kind=author.kind if author else "user",
            )
        )
        store.content.save_comments(
            Comment(
                platform="douyin",
                id=c.id,
                post_id=c.post_id,
                author_id=c.author_id,
                text=c.text,
                created_at=c.created_at,
                observed_at=now,
                parent_id=c.parent_id,
                likes=world.comment_likes_at(c, now),
            )
            for c in shown
        )
    store.content.save_posts(rows)
