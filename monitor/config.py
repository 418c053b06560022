"""config.toml → frozen dataclasses, validated once, with errors that name the key and the fix.

Every section is a frozen dataclass; one generic builder walks its fields and type hints, so a
new key is one line in a dataclass, and unknown keys, wrong types and bad durations are caught
the same way everywhere.

A config file that holds no settings at all (empty, or only comments) is refused: running on
built-in defaults would quietly watch nothing and create a database next to it. Start from the
shipped `config.toml` (the #平凡大连人 campaign, commented key by key) instead.
`config_from_dict` (used by the demo and the tests) has no such rule: an empty dict is the
defaults.

Secrets never appear in the file or in a message: `*_env` keys name environment variables,
`read_cookie` reads one, and no error repeats a value that might be a secret.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import os
import re
import tomllib
import types
import typing
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from monitor.errors import ConfigError, PingfanError
from monitor.parse.links import parse_link

DEFAULT_CONFIG_NAME = "config.toml"
CONFIG_ENV = "PINGFAN_CONFIG"

# Marks a float field that is written as a duration ("30s", "5m", "1h30m", "2d" or seconds).
DURATION = "duration"
Duration = Annotated[float, DURATION]

Platform = Literal["weibo", "douyin"]
SinkType = Literal[
    "console", "jsonl", "telegram", "wecom", "dingtalk", "feishu", "webhook", "apprise"
]
Severity = Literal["info", "warning", "critical"]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST_DURATION = 3650 * 86400.0  # ten years: anything longer is a typo, and overflows timers


def parse_duration(value: object) -> float:
    """Seconds from `30`, `"30s"`, `"5m"`, `"1h30m"`, `"2d"`; ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '30s', '5m', '1h'")
    try:
        if isinstance(value, int | float):
            seconds = float(value)
        elif isinstance(value, str):
            text = value.strip().lower()
            parts = list(_DURATION_PART.finditer(text))
            if not text or not parts or "".join(p.group(0) for p in parts) != text.replace(" ", ""):
                raise ValueError(
                    f"{_short(value)} is not a duration like '30s', '5m', '1h30m' or '2d'"
                )
            seconds = sum(float(p.group(1)) * _DURATION_UNITS[p.group(2)] for p in parts)
        else:
            raise ValueError("a duration is a number of seconds or a string like '30s', '5m', '1h'")
    except OverflowError:
        seconds = math.inf
    if math.isnan(seconds):
        raise ValueError("a duration is a number of seconds or a string like '30s', '5m', '1h'")
    if seconds <= 0:
        raise ValueError(f"{_short(value)} must be longer than zero")
    if seconds > _LONGEST_DURATION:
        raise ValueError(f"{_short(value)} is longer than ten years; use a shorter duration")
    return seconds


@dataclass(frozen=True)
class UiConfig:
    language: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class StorageConfig:
    path: Path = Path("data/pingfan.db")
    # Comments are citizens' words: drop them after this many days (0 keeps them).
    comment_retention_days: int = 180
    # Full-text index: SQLite's trigram tokenizer (substring search), or jieba words.
    fts_tokenizer: Literal["trigram", "jieba"] = "trigram"
    # PostgreSQL instead of the file (monitor/store/postgres.py): its address, without a
    # password, and the environment variable that holds the password (else libpq's own,
    # PGPASSWORD or ~/.pgpass). With `url` set, `path` is not used.
    url: str | None = None
    password_env: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    @property
    def where(self) -> str:
        """Where the data lives, for messages: the PostgreSQL address (it holds no password:
        the config refuses one) or the SQLite file."""
        return self.url if self.url is not None else str(self.path)


@dataclass(frozen=True)
class TopicConfig:
    name: str
    douyin_ch_id: str | None = None


@dataclass(frozen=True)
class KolConfig:
    platform: Platform
    id: str
    name: str


@dataclass(frozen=True)
class WatchConfig:
    # A post or video to collect whatever it is tagged with (the campaign's own videos): its
    # share link, as `pingfan watch resolve` reads it, and a note for the team.
    url: str
    note: str = ""


@dataclass(frozen=True)
class OfficialConfig:
    weibo: tuple[str, ...] = ()
    douyin: tuple[str, ...] = ()


@dataclass(frozen=True)
class WeiboConfig:
    enabled: bool = True
    base_url: str = "https://m.weibo.cn"
    topic_base_url: str = "https://m.s.weibo.com"
    cookie_env: str | None = "PINGFAN_WEIBO_COOKIE"
    # More identities (variable names) for several workers on one PostgreSQL database: each
    # worker holds one identity at a time, the first free of cookie_env and these.
    cookie_envs: tuple[str, ...] = ()
    requests_per_minute: int = 20
    # Requests that may go out back to back before even spacing applies (at least 1).
    burst: int = 2
    timeout: Duration = 20.0
    # After a block (432/418/403, captcha), leave the platform alone this long, then probe;
    # each failed probe doubles the wait, up to six hours.
    cooldown: Duration = 1800.0
    # The largest answer read, in MB, before and after decompression; a larger one fails
    # its source (or comment thread) as unreadable.
    max_response_mb: int = 20


@dataclass(frozen=True)
class DouyinConfig:
    enabled: bool = True
    base_url: str = "https://www.douyin.com"
    mode: Literal["browser", "http", "open_platform"] = "browser"
    cookie_env: str | None = "PINGFAN_DOUYIN_COOKIE"
    cookie_envs: tuple[str, ...] = ()  # more identities, as for Weibo
    requests_per_minute: int = 10
    # Requests that may go out back to back before even spacing applies (at least 1).
    burst: int = 2
    chromium_path: Path = Path("/usr/bin/chromium")
    timeout: Duration = 30.0
    cooldown: Duration = 1800.0
    # The largest answer read, in MB (see WeiboConfig), in every mode.
    max_response_mb: int = 20
    # browser mode: relaunch Chromium when its processes together use more than this (MB).
    browser_memory_limit_mb: int = 1024
    # browser mode: false runs Chromium with a window (needs a display: Xvfb on a server).
    headless: bool = True
    # http mode: "package.module:function" adding msToken/a_bogus to a query; "" for none.
    signer: str = ""
    # Where v.douyin.com share links are resolved (one request each, its redirect read once).
    short_link_base_url: str = "https://v.douyin.com"
    # open_platform mode: the official API, for KOLs who authorised the campaign's app.
    open_platform_base_url: str = "https://open.douyin.com"
    # One "sec_user_id=ENV_NAME" per authorising KOL; $ENV_NAME holds "open_id:access_token",
    # optionally ":expiry:refresh_token:refresh_expiry" after it.
    open_platform_token_envs: tuple[str, ...] = ()
    # Refresh access tokens and renew refresh tokens before they expire (kept in memory only),
    # with the app's client_key from $open_platform_client_key_env; false: alerts only.
    open_platform_refresh: bool = False
    open_platform_client_key_env: str = "PINGFAN_DOUYIN_CLIENT_KEY"


@dataclass(frozen=True)
class ScheduleConfig:
    topic_posts: Duration = 300.0
    topic_stats: Duration = 900.0
    kol_posts: Duration = 600.0
    profiles: Duration = 21600.0
    comments_hot: Duration = 300.0
    comments_cold: Duration = 7200.0
    # A post stays "hot" (comments polled often) this long after it was posted or last moved.
    hot_window: Duration = 172800.0
    # Several workers on one PostgreSQL database: how long a worker's hold on a source or an
    # identity outlasts its last heartbeat (a killed worker's sources move within two).
    lease: Duration = 30.0


@dataclass(frozen=True)
class NlpConfig:
    # "default" (shipped model), "snownlp" (stock baseline) or a path to a trained model.
    model: str = "default"
    neutral_low: float = 0.4
    neutral_high: float = 0.6
    lexicon: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrendingRule:
    enabled: bool = True
    # Velocity: likes + comments + shares + reposts gained per hour, read from post_metrics.
    window: Duration = 3600.0
    min_interactions: int = 200  # gained in the window, at least
    growth_ratio: float = 3.0  # versus the baseline: the author's recent posts at the same age
    min_z: float = 3.0  # robust z-score against the topic's posts when the author has no history
    watch_for: Duration = 172800.0  # posts younger than this are watched
    baseline_window: Duration = 1209600.0  # the author's posts of the last 14 days
    min_baseline_posts: int = 3
    # The topic as a whole: Weibo reads, Douyin challenge views per hour (topic_metrics).
    topic_growth_ratio: float = 3.0
    topic_min_views_per_hour: int = 2000
    cooldown: Duration = 43200.0


@dataclass(frozen=True)
class NegativeThreadRule:
    enabled: bool = True
    window: Duration = 21600.0
    min_comments: int = 20
    # The Wilson lower bound (95 %) of the negative share must reach this.
    negative_share: float = 0.5
    critical_share: float = 0.7  # ...and this with twice min_comments: critical
    # A sharp rise: the window's share against the thread's own earlier comments.
    rise_ratio: float = 2.0
    rise_min_share: float = 0.35
    sensitive_words: tuple[str, ...] = (
        "投诉", "举报", "曝光", "维权", "事故", "骗", "黑幕", "造假",
    )  # fmt: skip
    sensitive_ignore: tuple[str, ...] = ("零事故", "无事故", "防骗")
    sensitive_min_likes: int = 20  # a comment this liked, or a partner KOL's post
    cooldown: Duration = 43200.0


@dataclass(frozen=True)
class MilestoneRule:
    enabled: bool = True
    views: tuple[int, ...] = (1_000_000, 2_000_000, 3_000_000)


@dataclass(frozen=True)
class KolRule:
    enabled: bool = True
    uploads: bool = True  # an alert when a partner posts
    recent: Duration = 86400.0  # older uploads, first seen later, are history, not news
    silent_after: Duration = 604800.0
    cooldown: Duration = 86400.0


@dataclass(frozen=True)
class UgcRule:
    enabled: bool = True
    min_score: float = 0.7
    batch_every: Duration = 28800.0  # one batch of UGC and nominations at most this often
    max_items: int = 8
    lookback: Duration = 604800.0


@dataclass(frozen=True)
class CoordinationRule:
    enabled: bool = True
    lookback: Duration = 86400.0
    window: Duration = 600.0
    min_accounts: int = 3
    max_distance: int = 3
    cooldown: Duration = 86400.0


@dataclass(frozen=True)
class HealthRule:
    enabled: bool = True
    stale_after: Duration = 7200.0  # no new reading from a platform for this long
    parser_failures: int = 3  # failed passes in a row of one source


_QUIET_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class AlertsConfig:
    # "23:00-07:30" in ui.timezone: only critical alerts are sent then; the rest wait.
    quiet_hours: str = ""
    max_escalations: int = 2  # re-alerts of one episode, each when share or volume doubles
    trending: TrendingRule = field(default_factory=TrendingRule)
    negative_thread: NegativeThreadRule = field(default_factory=NegativeThreadRule)
    milestones: MilestoneRule = field(default_factory=MilestoneRule)
    kol: KolRule = field(default_factory=KolRule)
    ugc: UgcRule = field(default_factory=UgcRule)
    coordination: CoordinationRule = field(default_factory=CoordinationRule)
    health: HealthRule = field(default_factory=HealthRule)

    def __post_init__(self) -> None:
        if self.quiet_hours and not _QUIET_HOURS.fullmatch(self.quiet_hours):
            raise ConfigError(
                f"'alerts.quiet_hours' is {self.quiet_hours!r}; use HH:MM-HH:MM, "
                "e.g. '23:00-07:30', or leave it empty"
            )
        if self.max_escalations < 0:
            raise ConfigError("'alerts.max_escalations' must be 0 or more")


@dataclass(frozen=True)
class SinkConfig:
    type: SinkType
    enabled: bool = True
    min_severity: Severity = "info"
    path: Path | None = None
    token_env: str | None = None
    chat_ids: tuple[int, ...] = ()
    base_url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    # console: one line per alert (its severity and title); the full text stays in the other
    # sinks (e.g. jsonl).
    brief: bool = False
    # apprise: the variable holding one or more Apprise URLs, and the body's form
    urls_env: str | None = None
    format: Literal["text", "markdown"] = "text"

    def secret_envs(self) -> tuple[str, ...]:
        """Environment variables this sink needs at run time."""
        envs = (self.token_env, self.url_env, self.secret_env, self.urls_env)
        return tuple(env for env in envs if env)


# An Apprise URL starts with its scheme (json://, mailto://, discord://, …).
_APPRISE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
# Between URLs: whitespace, or a comma that comes before the next scheme (a comma inside a
# URL, as in mailto://…?to=a@x,b@y, stays in it).
_APPRISE_SPLIT = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def apprise_urls(value: str) -> list[str]:
    """The Apprise URLs in an `urls_env` value, in order (whitespace or comma separated)."""
    return [piece.strip(",") for piece in _APPRISE_SPLIT.split(value) if piece.strip(", ")]


def apprise_url_problem(value: str) -> str | None:
    """What is wrong with an `urls_env` value, never quoting it (it holds secrets)."""
    urls = apprise_urls(value)
    if not urls:
        return "holds no Apprise URL"
    for position, url in enumerate(urls, start=1):
        if not _APPRISE_URL.fullmatch(url):
            return (
                f"holds something that is not an Apprise URL at position {position} "
                "(each is scheme://…, e.g. json://host/path or mailto://…; "
                "separate them with spaces or commas)"
            )
    return None


# Keys each sink type accepts beyond the common ones, and which of them it needs.
_COMMON_SINK_KEYS = {"type", "enabled", "min_severity"}
_SINK_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "console": ({"brief"}, set()),
    "jsonl": ({"path"}, {"path"}),
    "telegram": ({"token_env", "chat_ids", "base_url"}, {"token_env", "chat_ids"}),
    "wecom": ({"url_env"}, {"url_env"}),
    "dingtalk": ({"url_env", "secret_env"}, {"url_env"}),
    "feishu": ({"url_env", "secret_env"}, {"url_env"}),
    "webhook": ({"url_env", "secret_env"}, {"url_env"}),
    "apprise": ({"urls_env", "format"}, {"urls_env"}),
}


TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_TOKEN_ENV = "PINGFAN_TELEGRAM_TOKEN"


@dataclass(frozen=True)
class BotConfig:
    # The team's chat bot inside `pingfan run` (alerts/bot/): commands, and the buttons on
    # alerts. It must be the telegram sink's bot: presses go to the bot that sent the message.
    # token_env and base_url: "" (unset) takes them from the [[sinks]] telegram entry (else
    # PINGFAN_TELEGRAM_TOKEN and api.telegram.org); after loading they are always filled in.
    enabled: bool = False
    token_env: str = ""
    base_url: str = ""
    poll_timeout: Duration = 30.0  # long polling: how long one getUpdates waits for news
    # Groups whose members may use it, and people who may also use it in a private chat.
    allowed_chat_ids: tuple[int, ...] = ()
    allowed_user_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class HealthConfig:
    # `pingfan run` serves /healthz and /metrics (Prometheus) on 127.0.0.1:port; 0 turns it off.
    port: int = 9464


@dataclass(frozen=True)
class WebConfig:
    # The team console (alerts/web/): `pingfan web`, and inside `pingfan run` when enabled.
    # base_url: where people reach it (behind a TLS proxy: https://...); an https one makes the
    # session cookie Secure. "" means http://host:port.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = ""
    session_lifetime: Duration = 7 * 86400.0


@dataclass(frozen=True)
class DigestConfig:
    # The weekly digest (alerts/digest/): `pingfan run` builds last ISO week's digest at this
    # weekday and time in `timezone` (the zone of its weeks, days and times too; when the file
    # does not set it, [ui] timezone), writes it to `out_dir` and sends it through the outbox
    # once.
    enabled: bool = True
    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    time: str = "09:00"
    timezone: str = "Asia/Shanghai"
    out_dir: Path = Path("data/digests")  # data/digests/<campaign id> under [campaign] id
    # A daemon that was down at the scheduled time sends the digest late, within this long.
    catch_up: Duration = 86400.0
    top: int = 10  # UGC items listed (nominations beyond them are listed too)
    # A font file with Chinese glyphs for the charts; None: the first installed CJK font
    # (Debian: fonts-noto-cjk).
    font: Path | None = None


# --- [campaign] ---------------------------------------------------------------------------

CAMPAIGN_ID_MAX = 64


@dataclass(frozen=True)
class CampaignConfig:
    """Which campaign this config is: one config, one campaign. Several campaigns share one
    deployment as several workers, each with its own config, on one database; what the team
    makes (alerts, labels, mutes) carries the id, so one campaign never reads another's, while
    what is collected (posts, comments, counts) is shared (monitor/store/campaigns.py).

    `id` is the key stored with every row the campaign owns: the first topic's name when the
    file does not set it (so a single-campaign file needs no [campaign] table); `name` is what
    the team reads, the id when not set."""

    id: str = ""
    name: str = ""


def campaign_id_problem(value: str) -> str | None:
    """Why `value` cannot be a campaign id, or None. An id ends up in dedupe keys and file
    names: one printable word, no '/', at most CAMPAIGN_ID_MAX characters."""
    if not value:
        return "is empty"
    if len(value) > CAMPAIGN_ID_MAX:
        return f"is {len(value)} characters long; use at most {CAMPAIGN_ID_MAX}"
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "holds a space or a control character; use one word"
    if "/" in value:
        return "holds '/'; use another separator, e.g. '-'"
    return None


def _resolve_campaign(config: Config, raw: dict[str, Any], source: Path) -> Config:
    """[campaign] id and name, with their defaults, checked."""
    table = raw.get("campaign") or {}
    campaign = config.campaign
    given = "id" in table
    campaign_id = campaign.id if given else (config.topics[0].name if config.topics else "")
    if not given and not campaign_id:
        campaign_id = "default"  # no topic to name it after: a file of KOLs or watches only
    problem = campaign_id_problem(campaign_id)
    if problem is not None:
        shown = _short(campaign_id)
        if given:
            raise ConfigError(f"{source}: 'campaign.id' {shown} {problem}")
        raise ConfigError(
            f"{source}: the campaign id defaults to the first topic's name, and {shown} "
            f"{problem}; set [campaign] id"
        )
    if "name" in table and not campaign.name.strip():
        raise ConfigError(f"{source}: 'campaign.name' is empty; fill it in or remove it")
    name = campaign.name if "name" in table else campaign_id
    return dataclasses.replace(config, campaign=CampaignConfig(campaign_id, name))


# --- the whole file ----------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    source: Path = Path(DEFAULT_CONFIG_NAME)
    ui: UiConfig = field(default_factory=UiConfig)
    campaign: CampaignConfig = field(default_factory=CampaignConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    topics: tuple[TopicConfig, ...] = ()
    kols: tuple[KolConfig, ...] = ()
    watch: tuple[WatchConfig, ...] = ()
    official: OfficialConfig = field(default_factory=OfficialConfig)
    weibo: WeiboConfig = field(default_factory=WeiboConfig)
    douyin: DouyinConfig = field(default_factory=DouyinConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    nlp: NlpConfig = field(default_factory=NlpConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    sinks: tuple[SinkConfig, ...] = ()
    bot: BotConfig = field(default_factory=BotConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    web: WebConfig = field(default_factory=WebConfig)

    def enabled_sinks(self) -> tuple[SinkConfig, ...]:
        return tuple(sink for sink in self.sinks if sink.enabled)


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--config PATH, else $PINGFAN_CONFIG, else ./config.toml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else Path(DEFAULT_CONFIG_NAME)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate one config file; every problem is a one-line ConfigError.

    A file without a single setting (empty, or only comments) is refused, see the module doc.
    """
    source = Path(path)
    try:
        if source.is_dir():
            raise IsADirectoryError(str(source))
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(
            f"{source}: no such config file; pass --config PATH or set ${CONFIG_ENV}"
        ) from err
    except IsADirectoryError as err:
        raise ConfigError(
            f"{source} is a directory; pass the config file, e.g. "
            f"--config {source / DEFAULT_CONFIG_NAME}"
        ) from err
    except PermissionError as err:
        raise ConfigError(
            f"{source}: permission denied reading the config file; "
            f"make it readable (chmod u+r {source}) or pass another --config"
        ) from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{source}: not UTF-8 text; save the file as UTF-8") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}; fix the syntax there") from err
    except RecursionError as err:
        raise ConfigError(f"{source}: not valid TOML: nested too deeply; fix the syntax") from err
    except (OSError, ValueError) as err:
        # Any other OSError (an unreadable device, a broken mount), or a path with a NUL byte.
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConfigError(
            f"{source}: cannot read the config file ({reason}); pass another --config"
        ) from err
    if not raw:
        raise ConfigError(
            f"{source}: the config file is empty (no settings, or only comments); "
            f"start from the shipped config.toml{_shipped_hint(source)} and edit it"
        )
    return config_from_dict(raw, source)


def _shipped_hint(source: Path) -> str:
    """' (copy DIR/config.toml)' when the repository's own config.toml is at hand."""
    shipped = Path(__file__).resolve().parent.parent / DEFAULT_CONFIG_NAME
    try:
        if shipped.is_file() and shipped.resolve() != source.resolve():
            return f" (cp {shipped} {source})"
    except (OSError, ValueError, RuntimeError):
        pass
    return ""


def config_from_dict(raw: dict[str, Any], source: Path) -> Config:
    config = dataclasses.replace(_build(Config, raw, source, ""), source=source)
    # Relative paths follow the real file: a symlinked config (e.g. /etc/pingfan.toml ->
    # /srv/pingfan/config.toml) means the same database as the file it points to.
    config = _resolve_paths(config, _real_folder(source))
    config = _resolve_campaign(config, raw, source)
    config = _inherit_bot_settings(config)
    if "timezone" not in (raw.get("digest") or {}):
        # One zone for the team unless they ask for two: the digest's weeks follow [ui].
        digest = dataclasses.replace(config.digest, timezone=config.ui.timezone)
        config = dataclasses.replace(config, digest=digest)
    if "id" in (raw.get("campaign") or {}) and "out_dir" not in (raw.get("digest") or {}):
        # Two campaigns' files side by side would write the same week's files into one folder:
        # a campaign that names itself gets a folder of its own (a file without [campaign]
        # id writes where it always did).
        out_dir = config.digest.out_dir / config.campaign.id
        config = dataclasses.replace(
            config, digest=dataclasses.replace(config.digest, out_dir=out_dir)
        )
    _check_semantics(config, source)
    return config


def _inherit_bot_settings(config: Config) -> Config:
    """One bot, one configuration: [bot] takes token_env and base_url from the first telegram
    sink unless it sets its own (`bot_mismatch` then says whether they agree)."""
    sink = next((sink for sink in config.sinks if sink.type == "telegram"), None)
    token_env = config.bot.token_env or (sink.token_env if sink else None) or TELEGRAM_TOKEN_ENV
    base_url = config.bot.base_url or (sink.base_url if sink else None) or TELEGRAM_BASE_URL
    return dataclasses.replace(
        config, bot=dataclasses.replace(config.bot, token_env=token_env, base_url=base_url)
    )


def bot_mismatch(config: Config) -> str | None:
    """The enabled bot must be the enabled telegram sinks' bot (same token variable, same Bot
    API server): buttons on an alert go to the bot that sent it. One line, or None."""
    if not config.bot.enabled:
        return None
    bot = config.bot
    for index, sink in enumerate(config.sinks):
        if sink.type != "telegram" or not sink.enabled:
            continue
        sink_url = sink.base_url or TELEGRAM_BASE_URL
        if sink.token_env != bot.token_env:
            differs = f"token_env ${bot.token_env} is not the sink's ${sink.token_env}"
        elif sink_url.rstrip("/") != bot.base_url.rstrip("/"):
            differs = f"base_url {_host_of(bot.base_url)} is not the sink's {_host_of(sink_url)}"
        else:
            continue
        return (
            f"{config.source}: [bot] {differs} ([[sinks]] #{index + 1}); one bot, one "
            "configuration: remove token_env and base_url from [bot] (it takes the sink's) or "
            "make them the same"
        )
    return None


def _host_of(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.hostname}{f':{parts.port}' if parts.port else ''}"
    except ValueError:
        return "(not a URL)"


def missing_secrets(config: Config) -> list[str]:
    """One message per environment variable an enabled sink names but the environment lacks."""
    problems = []
    for index, sink in enumerate(config.sinks):
        if not sink.enabled:
            continue
        for env in sink.secret_envs():
            if not os.environ.get(env):
                problems.append(
                    f"{config.source}: [[sinks]] #{index + 1} ({sink.type}) needs ${env}; "
                    f"export it or set enabled = false for that sink"
                )
        if sink.urls_env and os.environ.get(sink.urls_env):
            problem = apprise_url_problem(os.environ[sink.urls_env])
            if problem:  # the value holds tokens: the message names the key and variable only
                problems.append(
                    f"{config.source}: [[sinks]] #{index + 1} ({sink.type}) 'urls_env': "
                    f"${sink.urls_env} {problem}"
                )
    return problems


def is_loopback(url: str) -> bool:
    """Does `url` name this machine (localhost, 127.0.0.0/8, ::1)? The simulator lives there."""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unsigned_http_problem(config: Config) -> str | None:
    """Douyin `http` mode without a signer against a real site can only fail: every web API
    request needs msToken/a_bogus, and no signer ships. The one line saying so, or None."""
    douyin = config.douyin
    if not douyin.enabled or douyin.mode != "http" or douyin.signer:
        return None
    if is_loopback(douyin.base_url):
        return None  # the simulator or a stand-in: unsigned requests are answered there
    host = urllib.parse.urlsplit(douyin.base_url).hostname
    return (
        f'{config.source}: [douyin] mode = "http" has no signer and base_url {host} is not '
        "loopback, so every request would fail (no signer ships; http mode is an extension "
        'point); use mode = "browser", set douyin.signer = "package.module:function", or '
        "set douyin.enabled = false"
    )


def require_honest_mode(config: Config, platform: str | None = None) -> None:
    """`run` and `collect` refuse to start in a mode that can only fail (one line)."""
    problem = unsigned_http_problem(config) if platform in (None, "douyin") else None
    if problem:
        raise ConfigError(problem)


def require_secrets(config: Config) -> None:
    problems = missing_secrets(config)
    if problems:
        raise ConfigError(problems[0])


# --- the generic builder -------------------------------------------------------------------


def _build(cls: type, table: object, source: Path, where: str) -> Any:
    label = f"[{where}]" if where else "top level"
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {label} must be a table, got {_kind(table)}")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    allowed = set(fields) - {"source"}
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{source}: unknown key '{_join(where, _printable(key))}'{_suggest(key, allowed)}; "
                f"remove it or check the spelling"
            )
    values = {}
    for name, spec in fields.items():
        if name not in allowed:
            continue
        if name in table:
            values[name] = _convert(table[name], hints[name], source, _join(where, name))
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{source}: missing key '{_join(where, name)}'; add it")
    return cls(**values)


def _convert(value: Any, hint: Any, source: Path, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Annotated and DURATION in args[1:]:
        try:
            return parse_duration(value)
        except ValueError as err:
            raise ConfigError(f"{source}: '{key}': {err}") from err
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], source, key)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{source}: '{key}' is {value!r}; use one of {choices}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: '{key}' must be a list, got {_kind(value)}")
        return tuple(_convert(item, args[0], source, f"{key}[{i}]") for i, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, key)  # type: ignore[arg-type]
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{source}: '{key}' must be a path string, got {_kind(value)}")
        if "\x00" in value:
            raise ConfigError(f"{source}: '{key}' contains a NUL character; retype the path")
        return Path(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError as err:
            raise ConfigError(f"{source}: '{key}' is far too large a number; check it") from err
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"{source}: '{key}' must be an integer, got a boolean")
    if not isinstance(value, hint):
        raise ConfigError(f"{source}: '{key}' must be {_kind_name(hint)}, got {_kind(value)}")
    return value


def _real_folder(source: Path) -> Path:
    """The folder of the config file itself, symlinks resolved."""
    try:
        return source.resolve().parent
    except (OSError, RuntimeError):  # a symlink loop cannot have been read: keep the path
        return source.parent


def _resolve_paths(config: Config, base: Path) -> Config:
    """Relative paths in the file are relative to the file, not to the working directory."""

    def resolve(path: Path) -> Path:
        return path if path.is_absolute() or str(path) == ":memory:" else base / path

    sinks = tuple(
        dataclasses.replace(sink, path=resolve(sink.path)) if sink.path else sink
        for sink in config.sinks
    )
    nlp = config.nlp
    if nlp.model not in ("default", "snownlp"):
        nlp = dataclasses.replace(nlp, model=str(resolve(Path(nlp.model))))
    return dataclasses.replace(
        config,
        nlp=nlp,
        storage=dataclasses.replace(config.storage, path=resolve(config.storage.path)),
        digest=dataclasses.replace(config.digest, out_dir=resolve(config.digest.out_dir)),
        sinks=sinks,
    )


def _check_semantics(config: Config, source: Path) -> None:
    for index, sink in enumerate(config.sinks):
        allowed, required = _SINK_KEYS[sink.type]
        label = f"[[sinks]] #{index + 1} ({sink.type})"
        for spec in dataclasses.fields(SinkConfig):
            value = getattr(sink, spec.name)
            is_set = value != spec.default
            if is_set and spec.name not in allowed | _COMMON_SINK_KEYS:
                raise ConfigError(
                    f"{source}: {label} does not take '{spec.name}'; remove it "
                    f"(it takes {', '.join(sorted(allowed | _COMMON_SINK_KEYS))})"
                )
        for key in sorted(required):
            if not getattr(sink, key):
                raise ConfigError(f"{source}: {label} needs '{key}'; add it")
    for index, topic in enumerate(config.topics):
        if not topic.name.strip("# "):
            raise ConfigError(f"{source}: [[topics]] #{index + 1} has an empty name; fill it in")
        if topic.name.startswith("#") or topic.name.endswith("#"):
            raise ConfigError(
                f"{source}: [[topics]] name {topic.name!r}: write it without '#' "
                f"(name = {topic.name.strip('#')!r})"
            )
    if not 0 <= config.nlp.neutral_low <= config.nlp.neutral_high <= 1:
        raise ConfigError(
            f"{source}: [nlp] needs 0 <= neutral_low <= neutral_high <= 1; "
            f"got {config.nlp.neutral_low} and {config.nlp.neutral_high}"
        )
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", config.digest.time):
        raise ConfigError(f"{source}: 'digest.time' is {config.digest.time!r}; use HH:MM")
    for key, tz in (
        ("ui.timezone", config.ui.timezone),
        ("digest.timezone", config.digest.timezone),
    ):
        try:
            ZoneInfo(tz)
        except (KeyError, ValueError, OSError) as err:
            # OSError: a key like 'America' names a directory of the zone database.
            raise ConfigError(
                f"{source}: '{key}' is {tz!r}; use an IANA name like 'Asia/Shanghai'"
            ) from err
    if config.storage.comment_retention_days < 0:
        raise ConfigError(
            f"{source}: 'storage.comment_retention_days' must be 0 (keep) or a number of days"
        )
    _check_storage(config.storage, source)
    _check_web(config.web, source)
    _check_kols(config, source)
    _check_watch(config, source)
    _check_platforms(config, source)
    _check_sink_urls_and_envs(config, source)


_PG_SCHEMES = ("postgresql", "postgres")
_PG_EXAMPLE = "postgresql://pingfan@db.example:5432/pingfan"


def _check_storage(storage: StorageConfig, source: Path) -> None:
    """`url` is a PostgreSQL address without a password; `password_env` names a variable.
    No message repeats the address: a mistyped one may still hold a password."""
    if storage.url is None:
        if storage.password_env:
            raise ConfigError(
                f"{source}: 'storage.password_env' is the PostgreSQL password's variable, and "
                "'storage.url' is not set; remove 'password_env' (SQLite has no password) or "
                "set 'url'"
            )
        return
    problem = _postgres_url_problem(storage.url)
    if problem:
        raise ConfigError(
            f"{source}: 'storage.url' {problem}; write a PostgreSQL address like "
            f"{_PG_EXAMPLE!r}, or remove 'url' to use the SQLite file at 'storage.path'"
        )
    if _url_has_password(storage.url):
        raise ConfigError(
            f"{source}: 'storage.url' holds a password, which must not be in the config file; "
            "remove it from the address and put it in an environment variable named by "
            "'storage.password_env' (or in libpq's PGPASSWORD or ~/.pgpass)"
        )
    _check_env_name(storage.password_env, source, "'storage.password_env'", "password_env")
    if storage.fts_tokenizer != "trigram":
        raise ConfigError(
            f"{source}: 'storage.fts_tokenizer' is {storage.fts_tokenizer!r}, which is SQLite "
            "only; PostgreSQL searches with pg_trgm (trigrams): remove 'fts_tokenizer' or set "
            'it to "trigram"'
        )


def _postgres_url_problem(url: str) -> str | None:
    """What is wrong with `url` as a PostgreSQL address, in words that do not repeat it."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "contains spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        return "is not a valid URL (check the port)"
    scheme_written = url[: len(parts.scheme) + 3].lower() == parts.scheme + "://"
    if parts.scheme not in _PG_SCHEMES or not scheme_written:
        return "does not start with postgresql:// (PostgreSQL is the only other store)"
    if parts.fragment:
        return "has a '#' part, which PostgreSQL addresses do not have"
    return None


def _url_has_password(url: str) -> bool:
    """A password in the address itself (user:password@) or in its query (?password=)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    return parts.password is not None or any(key.lower() == "password" for key in query)


def _check_web(web: WebConfig, source: Path) -> None:
    if not 0 <= web.port <= 65535:
        raise ConfigError(f"{source}: 'web.port' is {web.port}; use a port from 1 to 65535")
    if not web.host.strip():
        raise ConfigError(f"{source}: 'web.host' is empty; use e.g. \"127.0.0.1\"")
    if web.base_url:
        parts = urllib.parse.urlsplit(web.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"{source}: 'web.base_url' is {web.base_url!r}; use the console's address as "
                'people reach it, e.g. "https://pingfan.example.org"'
            )
    if web.session_lifetime <= 0:
        raise ConfigError(f"{source}: 'web.session_lifetime' must be positive, e.g. \"7d\"")


# Environment variable names as a shell accepts them; a cookie or token pasted into an `*_env`
# key fails this (it has '=', ';', ':' or spaces) and is then never repeated in a message.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_EXAMPLES = {
    "cookie_env": "PINGFAN_WEIBO_COOKIE",
    "token_env": "PINGFAN_TELEGRAM_TOKEN",
    "url_env": "PINGFAN_WECOM_WEBHOOK",
    "secret_env": "PINGFAN_DINGTALK_SECRET",
    "urls_env": "PINGFAN_APPRISE_URLS",
    "password_env": "PINGFAN_PG_PASSWORD",
}
_ENV_WHAT = {
    "cookie_env": "cookie",
    "token_env": "token",
    "url_env": "URL",
    "secret_env": "secret",
    "urls_env": "Apprise URLs",
    "password_env": "password",
}
_URL_EXAMPLE = "http://127.0.0.1:8700"


def _check_kols(config: Config, source: Path) -> None:
    seen: dict[tuple[str, str], int] = {}
    for index, kol in enumerate(config.kols):
        first = seen.setdefault((kol.platform, kol.id), index)
        if first != index:
            raise ConfigError(
                f"{source}: [[kols]] #{first + 1} and #{index + 1} are the same {kol.platform} "
                f"account (id {_short(kol.id)}); remove one of the two entries"
            )


# An answer cap above this would let one answer take the memory the cap is there to protect.
MAX_RESPONSE_MB = 1024


def _check_watch(config: Config, source: Path) -> None:
    """Every `[[watch]] url` is a link pingfan can read (a short link is resolved later)."""
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(config.watch):
        try:
            link = parse_link(item.url)
        except PingfanError as err:
            raise ConfigError(f"{source}: [[watch]] #{index + 1} 'url': {err}") from err
        first = seen.setdefault((link.platform, link.id or link.url), index)
        if first != index:
            raise ConfigError(
                f"{source}: [[watch]] #{first + 1} and #{index + 1} are the same "
                f"{link.platform} post; remove one of the two entries"
            )


def _check_platforms(config: Config, source: Path) -> None:
    for name, platform in (("weibo", config.weibo), ("douyin", config.douyin)):
        for key in ("requests_per_minute", "burst"):
            value = getattr(platform, key)
            if value < 1:
                what = (
                    "requests per minute, e.g. 20"
                    if key == "requests_per_minute"
                    else "requests sent back to back before spacing, e.g. 2"
                )
                raise ConfigError(
                    f"{source}: '{name}.{key}' is {value}; it must be 1 or more ({what}); "
                    f"to stop collecting from {name}, set '{name}.enabled = false'"
                )
        if not 1 <= platform.max_response_mb <= MAX_RESPONSE_MB:
            raise ConfigError(
                f"{source}: '{name}.max_response_mb' is {platform.max_response_mb}; it must be "
                f"1 to {MAX_RESPONSE_MB} (the largest answer read, in MB; the default is 20)"
            )
        for spec in dataclasses.fields(platform):
            if spec.name.endswith("_url"):
                _check_url(getattr(platform, spec.name), source, f"'{name}.{spec.name}'")
        _check_env_name(
            platform.cookie_env,
            source,
            f"'{name}.cookie_env'",
            "cookie_env",
            example=f"PINGFAN_{name.upper()}_COOKIE",
        )
        for env_name in platform.cookie_envs:
            _check_env_name(
                env_name,
                source,
                f"'{name}.cookie_envs'",
                "cookie_env",
                example=f"PINGFAN_{name.upper()}_COOKIE_2",
            )


def _check_sink_urls_and_envs(config: Config, source: Path) -> None:
    for index, sink in enumerate(config.sinks):
        label = f"[[sinks]] #{index + 1} ({sink.type})"
        if sink.base_url is not None:
            _check_url(sink.base_url, source, f"{label} 'base_url'")
        for key in ("token_env", "url_env", "secret_env", "urls_env"):
            _check_env_name(getattr(sink, key), source, f"{label} '{key}'", key)


def _check_url(url: str, source: Path, label: str) -> None:
    problem = None
    try:
        parts = urllib.parse.urlsplit(url)
        scheme_written = url[: len(parts.scheme) + 3].lower() == parts.scheme + "://"
        if parts.scheme not in ("http", "https") or not scheme_written:
            problem = "does not start with http:// or https://"
        elif not parts.hostname:
            problem = "names no host"
        else:
            _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        problem = "is not a valid URL"
    if problem is None and any(ch.isspace() or not ch.isprintable() for ch in url):
        problem = "contains spaces or control characters"
    if problem:
        raise ConfigError(
            f"{source}: {label} is {_short(url)}, which {problem}; write a full URL with "
            f"http:// or https:// and a host, e.g. {_URL_EXAMPLE!r}"
        )


def _check_env_name(
    name: str | None, source: Path, label: str, key: str, *, example: str | None = None
) -> None:
    """An `*_env` key holds a variable NAME; the message never repeats the value."""
    if not name or _ENV_NAME.fullmatch(name):
        return  # unset ("" or absent) is allowed here; sinks that need one say so elsewhere
    what = _ENV_WHAT[key]
    example = example or _ENV_EXAMPLES[key]
    raise ConfigError(
        f"{source}: {label} must be the NAME of an environment variable (like {example}), "
        f"not the {what} itself; put the {what} in that variable (export {example}=...) "
        f"and write its name here"
    )


def read_cookies(settings: WeiboConfig | DouyinConfig, platform: str) -> list[str | None]:
    """The platform's cookies in order: `cookie_env`'s, then each of `cookie_envs` (None for
    a variable that is not set)."""
    cookies = [read_cookie(settings.cookie_env, key=f"{platform}.cookie_env")]
    cookies += [read_cookie(env, key=f"{platform}.cookie_envs") for env in settings.cookie_envs]
    return cookies


def read_cookie(env_name: str | None, *, key: str) -> str | None:
    """The cookie in `$env_name`, surrounding whitespace stripped; None when unset or empty.

    `key` is the config key that names the variable (e.g. "weibo.cookie_env"), for the message.
    A value that cannot go into an HTTP header (a control character such as the carriage return
    of a cookie copied on Windows, DEL, or a character outside Latin-1) is a ConfigError naming
    the variable and the key; the value itself is never repeated.
    """
    if not env_name:
        return None
    value = os.environ.get(env_name, "").strip()
    if not value:
        return None
    for position, char in enumerate(value, 1):
        code = ord(char)
        if code < 0x20 or code == 0x7F:
            problem = f"a control character (U+{code:04X}) at position {position}"
        elif code > 0xFF:
            problem = f"a character outside Latin-1 (U+{code:04X}) at position {position}"
        else:
            continue
        raise ConfigError(
            f"${env_name} (named by '{key}') contains {problem}, which cannot go in an HTTP "
            f"header; copy the cookie again from the browser as one line and export it again"
        )
    return value


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _printable(text: str) -> str:
    """A key as written, with line breaks and other control characters escaped (one line)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _short(value: object, limit: int = 60) -> str:
    """repr() of a value for a message: one line, and cut short when long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suggest(key: str, allowed: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _kind_name(hint: object) -> str:
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
    }.get(hint, str(hint))  # type: ignore[call-overload]
