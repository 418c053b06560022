"""The simulated campaign: a scenario file expanded, from its seed, into accounts, posts,
comments and topic counters, plus the pure functions that say what each looks like at a
simulated time. Same scenario + seed → the same world, byte for byte.
"""

from __future__ import annotations

import hashlib
import math
import random
import tomllib
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from monitor.config import parse_duration

SimPlatform = Literal["weibo", "douyin"]
Kind = Literal["official", "kol", "user"]
Truth = Literal["positive", "neutral", "negative"]
TRUTHS: tuple[Truth, ...] = ("positive", "neutral", "negative")
BUNDLED = "dalian-2019"


class ScenarioError(ValueError):
    """The scenario file is not usable; the message names the key."""


@dataclass(frozen=True)
class SimAccount:
    platform: SimPlatform
    id: str
    name: str
    kind: Kind
    followers_start: int
    followers_end: int
    verified: bool = False


@dataclass(frozen=True)
class SimComment:
    platform: SimPlatform
    id: str
    post_id: str
    author_id: str
    author_name: str
    text: str
    created_at: datetime
    likes_final: int
    region: str
    parent_id: str | None = None
    truth: Truth = "neutral"  # the class its pool was written to carry (`[pool_classes]`)


@dataclass(frozen=True)
class SimPost:
    platform: SimPlatform
    id: str
    author_id: str
    created_at: datetime
    text: str  # plain text with #topic# / #topic, emoticons as [哈哈]
    role: str  # hero, kol, ugc, repost, spam, thread, ring, chatter
    media: Literal["video", "image", "none"] = "none"
    duration_ms: int = 0
    likes_final: int = 0
    shares_final: int = 0
    reposts_final: int = 0
    tau_hours: float = 24.0
    pinned: bool = False
    long_text: bool = False
    retweet_of: str | None = None
    retweet_deleted: bool = False
    removed: bool = False  # Douyin: taken down; detail gives filter_detail
    pics_as_object: bool = False
    region: str = "辽宁"
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicCurve:
    platform: SimPlatform
    name: str
    final_views: int
    final_discussions: int
    ch_id: str | None = None


@dataclass(frozen=True)
class ScheduledFault:
    platform: SimPlatform
    kind: str
    start: datetime
    end: datetime


@dataclass
class World:
    name: str
    seed: int
    start: datetime
    end: datetime
    accounts: dict[tuple[str, str], SimAccount]
    posts: list[SimPost]
    comments: dict[str, list[SimComment]]  # post id → comments (top level and replies)
    topics: list[TopicCurve]
    faults: list[ScheduledFault]
    anchors: list[datetime] = field(default_factory=list)  # moments that move topic counters
    posts_by_id: dict[str, SimPost] = field(default_factory=dict)
    _post_times: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.posts.sort(key=lambda p: (p.created_at, p.id))
        self.posts_by_id = {p.id: p for p in self.posts}
        self._post_times = [p.created_at for p in self.posts]

    def account(self, platform: str, account_id: str) -> SimAccount | None:
        return self.accounts.get((platform, account_id))

    def posts_until(self, now: datetime) -> list[SimPost]:
        """Posts that exist at `now`, oldest first."""
        return self.posts[: bisect_right(self._post_times, now)]

    def comments_until(self, post_id: str, now: datetime) -> list[SimComment]:
        return [c for c in self.comments.get(post_id, []) if c.created_at <= now]

    def topic(
        self, platform: str, name: str | None = None, ch_id: str | None = None
    ) -> TopicCurve | None:
        for curve in self.topics:
            if curve.platform != platform:
                continue
            if (name is not None and curve.name == name) or (ch_id and curve.ch_id == ch_id):
                return curve
        return None

    def truth(
        self,
        *,
        post_id: str | None = None,
        platform: str | None = None,
        until: datetime | None = None,
    ) -> dict[str, Truth]:
        """Comment id → the class it was written to carry: of one post, or of every post (of
        one platform), for comments made by `until` (default: all)."""
        posts = [post_id] if post_id is not None else list(self.comments)
        return {
            c.id: c.truth
            for pid in posts
            for c in self.comments.get(pid, [])
            if (platform is None or c.platform == platform)
            and (until is None or c.created_at <= until)
        }

    def truth_split(
        self,
        *,
        post_id: str | None = None,
        platform: str | None = None,
        until: datetime | None = None,
        comment_ids: Iterable[str] | None = None,
    ) -> dict[Truth, float]:
        """Share of each class among those comments (or among `comment_ids` of them, e.g. the
        ones a collector stored): what the sentiment split should come out as."""
        truth = self.truth(post_id=post_id, platform=platform, until=until)
        if comment_ids is not None:
            truth = {cid: truth[cid] for cid in comment_ids if cid in truth}
        counts = Counter(truth.values())
        total = sum(counts.values())
        return {label: counts[label] / total if total else 0.0 for label in TRUTHS}

    def scheduled_fault(
        self, platform: str, now: datetime, met: set[int], first_request: datetime | None
    ) -> int | None:
        """The index of the scheduled fault that answers a request to `platform` at `now`:
        one that has begun and has not ended; or one that has ended without meeting a request
        (`met` holds the indexes that have) although the site was already being polled when it
        began (its `first_request` was earlier). On a busy machine the compressed replay could
        otherwise step over a short block; a client that came later never knew of it."""
        for index, fault in enumerate(self.faults):
            if fault.platform != platform or now < fault.start:
                continue
            missed = index not in met and first_request is not None and first_request < fault.start
            if now < fault.end or missed:
                return index
        return None

    # --- counters at a moment ---------------------------------------------------------

    def likes_at(self, post: SimPost, now: datetime) -> int:
        return grow(post.likes_final, post.created_at, now, post.tau_hours)

    def shares_at(self, post: SimPost, now: datetime) -> int:
        return grow(post.shares_final, post.created_at, now, post.tau_hours)

    def reposts_at(self, post: SimPost, now: datetime) -> int:
        return grow(post.reposts_final, post.created_at, now, post.tau_hours)

    def comment_likes_at(self, comment: SimComment, now: datetime) -> int:
        return grow(comment.likes_final, comment.created_at, now, 12.0)

    def followers_at(self, account: SimAccount, now: datetime) -> int:
        share = _campaign_share(self.start, self.end, now)
        return round(
            account.followers_start + (account.followers_end - account.followers_start) * share
        )

    def topic_counts_at(self, curve: TopicCurve, now: datetime) -> tuple[int, int]:
        """(views, discussions): the sum of saturating bumps at the anchors, reaching the
        scenario's final figures at its end."""
        share = _anchored_share(self.anchors, self.end, now)
        return round(curve.final_views * share), round(curve.final_discussions * share)


def grow(final: int, since: datetime, now: datetime, tau_hours: float) -> int:
    """A counter that saturates towards `final`: final·(1 − e^(−t/τ)), 0 before `since`."""
    hours = (now - since).total_seconds() / 3600
    if hours <= 0 or final <= 0:
        return 0
    return int(final * (1 - math.exp(-hours / tau_hours)))


def _campaign_share(start: datetime, end: datetime, now: datetime) -> float:
    total = (end - start).total_seconds()
    return min(max((now - start).total_seconds() / total, 0.0), 1.0)


def _anchored_share(anchors: list[datetime], end: datetime, now: datetime) -> float:
    if not anchors:
        return 0.0
    tau = 72.0

    def level(moment: datetime) -> float:
        return sum(
            1 - math.exp(-(moment - a).total_seconds() / 3600 / tau) for a in anchors if a < moment
        )

    full = level(end)
    return min(level(min(now, end)) / full, 1.0) if full else 0.0


# --- loading and expanding a scenario ------------------------------------------------------


def load_world(source: str | Path | None = None, seed: int | None = None) -> World:
    """The bundled scenario (default), or a scenario TOML file; `seed` overrides its own."""
    if source is None or str(source) == BUNDLED:
        text = (
            resources.files("monitor.sim")
            .joinpath(f"scenarios/{BUNDLED}.toml")
            .read_text(encoding="utf-8")
        )
        origin = f"{BUNDLED} (bundled)"
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as err:
            raise ScenarioError(f"{source}: cannot read scenario: {err}") from err
        origin = str(source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{origin}: not valid TOML: {err}") from err
    try:
        return _Expander(raw, seed).world()
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ScenarioError):
            raise
        raise ScenarioError(f"{origin}: bad scenario ({type(err).__name__}: {err})") from err


class _Expander:
    """Turns the compact scenario into concrete records, deterministically."""

    def __init__(self, raw: dict[str, Any], seed: int | None) -> None:
        self.raw = raw
        meta = raw["scenario"]
        self.name = str(meta["name"])
        self.seed = int(seed if seed is not None else meta.get("seed", 0))
        self.start = _when(meta["start"])
        self.end = _when(meta["end"])
        if self.end <= self.start:
            raise ScenarioError("scenario.end must be after scenario.start")
        self.rng = random.Random(self.seed)
        # Comment words come from a stream of their own, so that editing a pool changes
        # which lines are said, never when comments are made or how many.
        self.text_rng = random.Random(f"{self.seed}:comment-text")
        self.pools: dict[str, list[str]] = raw.get("pools", {})
        self.pool_classes: dict[str, str] = raw.get("pool_classes", {})
        for pool, truth in self.pool_classes.items():
            if truth not in TRUTHS:
                raise ScenarioError(
                    f"pool_classes.{pool} must be positive, neutral or negative, not {truth!r}"
                )
        self.accounts: dict[tuple[str, str], SimAccount] = {}
        self.posts: list[SimPost] = []
        self.comments: dict[str, list[SimComment]] = {}
        self.users: dict[str, list[SimAccount]] = {"weibo": [], "douyin": []}
        self._serial = 0
        self.topics = [
            TopicCurve(
                platform=t["platform"],
                name=t["name"],
                final_views=int(t["final_views"]),
                final_discussions=int(t.get("final_discussions", 0)),
                ch_id=t.get("ch_id"),
            )
            for t in raw.get("topics", [])
        ]

    def world(self) -> World:
        for entry in self.raw.get("accounts", []):
            account = SimAccount(
                platform=entry["platform"],
                id=str(entry["id"]),
                name=entry["name"],
                kind=entry.get("kind", "user"),
                followers_start=int(entry.get("followers", 0)),
                followers_end=int(entry.get("followers_final", entry.get("followers", 0))),
                verified=bool(entry.get("verified", False)),
            )
            self.accounts[(account.platform, account.id)] = account
        crowds = self.raw.get("crowds", {})
        self._make_users(int(crowds.get("users", 0)))
        anchors = self._heroes()
        self._kol_uploads(int(crowds.get("kol_uploads_per_kol", 0)))
        self._ugc("weibo", int(crowds.get("weibo_ugc", 0)))
        self._ugc("douyin", int(crowds.get("douyin_ugc", 0)))
        self._reposts(int(crowds.get("weibo_reposts", 0)))
        self._spam(int(crowds.get("spam_posts", 0)))
        anchors += self._threads()
        self._rings()
        low, high = crowds.get("comments_per_post", [3, 30])
        for post in self.posts:
            if post.id not in self.comments:
                self._comments_for(post, self.rng.randint(low, high), "mixed", None)
        faults = [
            ScheduledFault(
                platform=f["platform"],
                kind=f["kind"],
                start=_when(f["at"]),
                end=_when(f["at"]) + timedelta(seconds=parse_duration(f.get("duration", "1h"))),
            )
            for f in self.raw.get("faults", [])
        ]
        return World(
            name=self.name,
            seed=self.seed,
            start=self.start,
            end=self.end,
            accounts=self.accounts,
            posts=self.posts,
            comments=self.comments,
            topics=self.topics,
            faults=faults,
            anchors=sorted(anchors),
        )

    # --- ids and helpers -------------------------------------------------------------

    def _id(self, platform: str, moment: datetime, what: str) -> str:
        """Ids grow with time like the real ones: Weibo 16 digits, Douyin 19 digits."""
        self._serial += 1
        seconds = int((moment - self.start).total_seconds())
        if platform == "weibo":
            base = 4_390_000_000_000_000 if what == "post" else 4_400_000_000_000_000
            return str(base + seconds * 1000 + self._serial % 1000)
        base = 6_710_000_000_000_000_000 if what == "post" else 6_720_000_000_000_000_000
        return str(base + seconds * 100_000 + self._serial % 100_000)

    def _pick(self, pool: str) -> str:
        items = self.pools.get(pool)
        if not items:
            raise ScenarioError(f"pools.{pool} is missing or empty")
        return self.rng.choice(items)

    def _fill(self, template: str) -> str:
        return template.format(
            place=self._pick("places"),
            role=self._pick("roles"),
            surname=self._pick("surnames"),
            num=self.rng.randint(1000, 9999),
        )

    def _topic_name(self, platform: str) -> str:
        for curve in self.topics:
            if curve.platform == platform:
                return curve.name
        return "话题"

    def _tag(self, platform: str) -> str:
        name = self._topic_name(platform)
        return f"#{name}#" if platform == "weibo" else f"#{name}"

    def _moment(self, low: datetime, high: datetime) -> datetime:
        span = int((high - low).total_seconds())
        return low + timedelta(seconds=self.rng.randint(0, max(span, 0)))

    def _official(self, platform: str) -> SimAccount | None:
        return next(
            (a for a in self.accounts.values() if a.platform == platform and a.kind == "official"),
            None,
        )

    # --- generators ------------------------------------------------------------------

    def _make_users(self, count: int) -> None:
        for index in range(count):
            platform: SimPlatform = "weibo" if index % 2 == 0 else "douyin"
            digest = hashlib.sha256(f"{self.seed}:{index}".encode()).hexdigest()
            if platform == "weibo":
                account_id = str(5_000_000_000 + int(digest[:8], 16) % 999_999_999)
            else:
                account_id = "MS4wLjABAAAA" + digest[:40]
            name = (
                self._pick("surnames")
                + self.rng.choice(["小", "大", "阿", "老"])
                + self.rng.choice(["海", "星", "鱼", "帆", "风", "岛", "贝", "浪", "鸥", "礁"])
            )
            name += str(self.rng.randint(10, 9999))
            followers = int(self.rng.lognormvariate(4.5, 1.4))
            account = SimAccount(platform, account_id, name, "user", followers, followers + 5)
            self.accounts[(platform, account_id)] = account
            self.users[platform].append(account)

    def _heroes(self) -> list[datetime]:
        anchors = []
        for number, hero in enumerate(self.raw.get("heroes", []), 1):
            at = _when(hero["at"])
            anchors.append(at)
            for platform in ("weibo", "douyin"):
                official = self._official(platform)
                if official is None:
                    continue
                text = (
                    f"{self._tag(platform)} 第{number}期｜{hero['role']}{hero['person']}："
                    f"{hero['line']}。平凡的人，不平凡的城市。"
                )
                scale = 1.0 if platform == "douyin" else 0.35
                self.posts.append(
                    SimPost(
                        platform=platform,
                        id=self._id(platform, at, "post"),
                        author_id=official.id,
                        created_at=at,
                        text=text,
                        role="hero",
                        media="video",
                        duration_ms=45_000 + self.rng.randint(-3000, 3000),
                        likes_final=int(self.rng.randint(6000, 16000) * scale),
                        shares_final=int(self.rng.randint(800, 2600) * scale),
                        reposts_final=int(self.rng.randint(300, 1200) * scale),
                        tau_hours=36,
                        pinned=number == 1,
                        long_text=platform == "weibo" and number % 4 == 0,
                        topics=(self._topic_name(platform),),
                    )
                )
        return anchors

    def _kol_uploads(self, per_kol: int) -> None:
        kols = [a for a in self.accounts.values() if a.kind == "kol"]
        for kol in kols:
            for _ in range(per_kol):
                at = self._moment(self.start + timedelta(days=3), self.end - timedelta(days=2))
                at = at.replace(hour=self.rng.choice([11, 12, 18, 19, 20, 21]))
                text = f"{self._fill(self._pick('kol_upload'))} {self._tag(kol.platform)}"
                reach = max(kol.followers_start // 200, 500)
                self.posts.append(
                    SimPost(
                        platform=kol.platform,
                        id=self._id(kol.platform, at, "post"),
                        author_id=kol.id,
                        created_at=at,
                        text=text,
                        role="kol",
                        media="video" if kol.platform == "douyin" else "image",
                        duration_ms=self.rng.randint(30_000, 90_000)
                        if kol.platform == "douyin"
                        else 0,
                        likes_final=self.rng.randint(reach // 2, reach * 2),
                        shares_final=self.rng.randint(reach // 20, reach // 5),
                        reposts_final=self.rng.randint(reach // 40, reach // 10),
                        tau_hours=20,
                        topics=(self._topic_name(kol.platform),),
                    )
                )

    def _ugc(self, platform: SimPlatform, count: int) -> None:
        for index in range(count):
            at = self._moment(self.start + timedelta(days=1), self.end - timedelta(hours=6))
            author = self.rng.choice(self.users[platform])
            kind = self.rng.random()
            if kind < 0.35:
                body = self._fill(self._pick("ugc_nomination"))
            elif kind < 0.8:
                body = self._fill(self._pick("ugc_own"))
            else:
                body = self._fill(self._pick("ugc_checkin"))
            if self.rng.random() < 0.5:
                body += self._pick("emoticons")
            text = (
                f"{body} {self._tag(platform)}"
                if platform == "douyin"
                else f"{self._tag(platform)}{body}"
            )
            media = (
                "video"
                if platform == "douyin"
                else self.rng.choice(["image", "image", "none", "video"])
            )
            self.posts.append(
                SimPost(
                    platform=platform,
                    id=self._id(platform, at, "post"),
                    author_id=author.id,
                    created_at=at,
                    text=text,
                    role="ugc",
                    media=media,  # type: ignore[arg-type]
                    duration_ms=self.rng.randint(8_000, 60_000) if media == "video" else 0,
                    likes_final=int(self.rng.lognormvariate(3.2, 1.3)),
                    shares_final=int(self.rng.lognormvariate(1.2, 1.1)),
                    reposts_final=int(self.rng.lognormvariate(1.0, 1.0)),
                    tau_hours=self.rng.uniform(6, 30),
                    long_text=platform == "weibo" and index % 37 == 5,
                    pics_as_object=index % 11 == 3,
                    region=self._pick("regions"),
                    removed=platform == "douyin" and index % 61 == 7,
                    topics=(self._topic_name(platform),),
                )
            )

    def _reposts(self, count: int) -> None:
        originals = [p for p in self.posts if p.platform == "weibo" and p.role in ("hero", "ugc")]
        for index in range(count):
            original = self.rng.choice(originals)
            at = self._moment(
                original.created_at, min(original.created_at + timedelta(days=5), self.end)
            )
            author = self.rng.choice(self.users["weibo"])
            self.posts.append(
                SimPost(
                    platform="weibo",
                    id=self._id("weibo", at, "post"),
                    author_id=author.id,
                    created_at=at,
                    text=f"{self._pick('repost')} {self._tag('weibo')}",
                    role="repost",
                    likes_final=self.rng.randint(0, 12),
                    tau_hours=8,
                    retweet_of=original.id,
                    retweet_deleted=index % 29 == 4,
                    topics=(self._topic_name("weibo"),),
                )
            )

    def _spam(self, count: int) -> None:
        for index in range(count):
            platform: SimPlatform = "weibo" if index % 3 else "douyin"
            at = self._moment(self.start + timedelta(days=2), self.end - timedelta(days=1))
            author = self.rng.choice(self.users[platform])
            self.posts.append(
                SimPost(
                    platform=platform,
                    id=self._id(platform, at, "post"),
                    author_id=author.id,
                    created_at=at,
                    text=f"{self._fill(self._pick('spam'))} {self._tag(platform)}",
                    role="spam",
                    likes_final=self.rng.randint(0, 3),
                    tau_hours=4,
                    topics=(self._topic_name(platform),),
                )
            )

    def _threads(self) -> list[datetime]:
        anchors = []
        for index, thread in enumerate(self.raw.get("threads", [])):
            platform = thread["platform"]
            at = _when(thread["at"])
            anchors.append(at)
            author_id = (
                str(4_000_000_000 + index)
                if platform == "weibo"
                else "MS4wLjABAAAAthread"
                + hashlib.sha256(thread["author_name"].encode()).hexdigest()[:34]
            )
            self.accounts[(platform, author_id)] = SimAccount(
                platform, author_id, thread["author_name"], "user", 300 + index * 40, 2000
            )
            takeoff = thread["kind"] == "takeoff"
            post = SimPost(
                platform=platform,
                id=self._id(platform, at, "post"),
                author_id=author_id,
                created_at=at,
                text=thread["text"],
                role="thread",
                media="video" if platform == "douyin" else "image",
                duration_ms=38_000 if platform == "douyin" else 0,
                likes_final=int(thread.get("likes", 900)),
                shares_final=int(thread.get("shares", 120)),
                reposts_final=int(thread.get("shares", 120)) // 2,
                tau_hours=5 if takeoff else 10,
                topics=(self._topic_name(platform),),
            )
            self.posts.append(post)
            window = timedelta(seconds=parse_duration(thread.get("window", "6h")))
            self._comments_for(post, int(thread["comments"]), thread["pool"], window)
        return anchors

    def _rings(self) -> None:
        for ring in self.raw.get("rings", []):
            platform = ring["platform"]
            at = _when(ring["at"])
            target = next(
                p
                for p in sorted(self.posts, key=lambda p: abs((p.created_at - at).total_seconds()))
                if p.platform == platform and p.role in ("hero", "kol") and p.created_at <= at
            )
            window = parse_duration(ring.get("window", "6m"))
            comments = self.comments.setdefault(target.id, [])
            for index in range(int(ring["accounts"])):
                author = self.users[platform][index * 7 % len(self.users[platform])]
                moment = at + timedelta(seconds=window * index / max(int(ring["accounts"]), 1))
                text = ring["text"] + ("" if index % 3 else "！")
                comment = self._comment(
                    target, author, moment, text, self.rng.randint(0, 3), "辽宁"
                )
                comments.append(replace(comment, truth=ring.get("class", "neutral")))

    def _comments_for(self, post: SimPost, count: int, pool: str, window: timedelta | None) -> None:
        if post.role == "hero":
            count *= 6
        elif post.role == "kol":
            count *= 3
        elif post.role == "spam":
            count = min(count, 2)
        comments = self.comments.setdefault(post.id, [])
        users = self.users[post.platform]
        for _ in range(count):
            if window is not None:
                offset = self.rng.uniform(0, window.total_seconds())
            else:
                offset = self.rng.expovariate(1 / (post.tau_hours * 3600))
            moment = post.created_at + timedelta(seconds=int(offset) + 30)
            if moment > self.end:
                continue
            text, truth = self._comment_text(pool)
            author = self.rng.choice(users)
            likes = int(self.rng.lognormvariate(1.0, 1.3))
            comment = self._comment(post, author, moment, text, likes, self._pick("regions"))
            comments.append(replace(comment, truth=truth))
            if self.rng.random() < 0.12:  # a short exchange under the comment
                for _ in range(self.rng.randint(1, 3)):
                    later = moment + timedelta(seconds=self.rng.randint(60, 7200))
                    if later > self.end:
                        break
                    replier = self.rng.choice(users)
                    reply_text, reply_truth = self._comment_text(pool)
                    reply_likes = self.rng.randint(0, 5)
                    region = self._pick("regions")
                    reply = self._comment(
                        post, replier, later, reply_text, reply_likes, region, comment.id
                    )
                    comments.append(replace(reply, truth=reply_truth))
        comments.sort(key=lambda c: (c.created_at, c.id))

    def _comment(
        self,
        post: SimPost,
        author: SimAccount,
        moment: datetime,
        text: str,
        likes: int,
        region: str,
        parent_id: str | None = None,
    ) -> SimComment:
        return SimComment(
            platform=post.platform,
            id=self._id(post.platform, moment, "comment"),
            post_id=post.id,
            author_id=author.id,
            author_name=author.name,
            text=text,
            created_at=moment,
            likes_final=likes,
            region=region,
            parent_id=parent_id,
        )

    def _comment_text(self, pool: str) -> tuple[str, Truth]:
        """A line of `pool` (a "mixed" comment draws its pool first), dressed as people type
        it: an opening, an ending, now and then an emoticon of its class. Returns the text and
        the class the pool carries."""
        rng = self.text_rng
        if pool == "mixed":
            roll = rng.random()
            pool = "warm" if roll < 0.62 else "neutral" if roll < 0.9 else "negative"
        items = self.pools.get(pool)
        if not items:
            raise ScenarioError(f"pools.{pool} is missing or empty")
        truth = cast(Truth, self.pool_classes.get(pool, "neutral"))
        text = rng.choice(items)
        if self.pools.get("leads"):
            text = rng.choice(self.pools["leads"]) + text
        if self.pools.get("tails"):
            text += rng.choice(self.pools["tails"])
        extras = {
            "positive": "emoticons",
            "negative": "emoticons_negative",
            "neutral": "emoticons_neutral",
        }
        chance = {"positive": 0.25, "negative": 0.15, "neutral": 0.05}[truth]
        if self.pools.get(extras[truth]) and rng.random() < chance:
            text += rng.choice(self.pools[extras[truth]])
        return text, truth


def _when(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ScenarioError(f"time {value!r} needs a UTC offset, e.g. +08:00")
    return moment
