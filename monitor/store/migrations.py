"""The database schema, only ever changed by appending a migration here."""

from __future__ import annotations

import re

from sqlite_utils import Database, Migrations

migrations = Migrations("pingfan")


@migrations()
def m001_initial(db: Database) -> None:
    # Surrogate integer keys keep FTS rowids stable across VACUUM; (platform, id) is the real key.
    for statement in _INITIAL.split(";\n"):
        if statement.strip():
            db.execute(statement)


_INITIAL = """
CREATE TABLE accounts (
    pk INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    verified INTEGER,
    followers INTEGER,
    first_seen TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    UNIQUE (platform, id)
);
CREATE TABLE account_metrics (
    pk INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    account_id TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    followers INTEGER,
    following INTEGER,
    posts_count INTEGER
);
CREATE INDEX account_metrics_by_account ON account_metrics (platform, account_id, observed_at);
CREATE TABLE posts (
    pk INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    author_kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    url TEXT,
    topics TEXT NOT NULL,
    mentions TEXT NOT NULL,
    is_original INTEGER NOT NULL,
    media TEXT,
    plays INTEGER,
    likes INTEGER,
    comments INTEGER,
    shares INTEGER,
    reposts INTEGER,
    counts_are_lower_bounds INTEGER NOT NULL DEFAULT 0,
    ugc_score REAL,
    first_seen TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    UNIQUE (platform, id)
);
CREATE INDEX posts_by_created ON posts (created_at);
CREATE INDEX posts_by_author ON posts (platform, author_id);
CREATE TABLE post_metrics (
    pk INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    post_id TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    plays INTEGER,
    likes INTEGER,
    comments INTEGER,
    shares INTEGER,
    reposts INTEGER
);
CREATE INDEX post_metrics_by_post ON post_metrics (platform, post_id, observed_at);
CREATE TABLE comments (
    pk INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    parent_id TEXT,
    author_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    likes INTEGER,
    sentiment REAL,
    label TEXT,
    model_version TEXT,
    first_seen TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    UNIQUE (platform, id)
);
CREATE INDEX comments_by_post ON comments (platform, post_id, created_at);
CREATE INDEX comments_by_created ON comments (created_at);
CREATE TABLE topic_metrics (
    pk INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    topic TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    views INTEGER,
    discussions INTEGER
);
CREATE INDEX topic_metrics_by_topic ON topic_metrics (platform, topic, observed_at);
CREATE TABLE cursors (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    platform TEXT,
    subject_id TEXT,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    sent_at TEXT,
    last_error TEXT
);
CREATE INDEX alerts_by_state ON alerts (state, next_attempt_at);
CREATE TABLE labels (
    pk INTEGER PRIMARY KEY,
    platform TEXT,
    comment_id TEXT,
    text TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('positive', 'neutral', 'negative')),
    given_by TEXT,
    given_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE posts_fts USING fts5 (tokens);
CREATE VIRTUAL TABLE comments_fts USING fts5 (tokens)
"""


@migrations()
def m020_runtime_state(db: Database) -> None:
    # Stored so that a cool-down and the schedule outlive the process (cron, restarts).
    db.execute(
        """CREATE TABLE circuits (
            platform TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            open_until TEXT,
            cooldown REAL NOT NULL,
            probes INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            due_at TEXT,
            last_run_at TEXT,
            last_success_at TEXT,
            last_error_at TEXT,
            last_error TEXT,
            last_status TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            last_rows INTEGER NOT NULL DEFAULT 0,
            last_requests INTEGER NOT NULL DEFAULT 0
        )"""
    )


@migrations()
def m030_fts_built_by_the_store(db: Database) -> None:
    # The full-text index is derived data whose shape follows the configured tokenizer (SQLite's
    # trigram, or jieba tokens from Python), so the store builds it, from `meta`, on open
    # (content.py); m001's token tables, filled by whatever jieba dictionary the process had
    # then, are dropped. `meta` records which tokenizer (and jieba lexicon) built the index.
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("DROP TABLE posts_fts")
    db.execute("DROP TABLE comments_fts")


@migrations()
def m010_alert_delivery(db: Database) -> None:
    # An alert carries its link and evidence (JSON); its delivery is tracked per sink, so one
    # sink being down neither blocks nor duplicates the others. `alert_sinks` remembers each
    # configured sink: from which alert on it delivers, and whether it is broken.
    for statement in (
        "ALTER TABLE alerts ADD COLUMN url TEXT",
        "ALTER TABLE alerts ADD COLUMN evidence TEXT",
        "ALTER TABLE alerts ADD COLUMN rule TEXT",
        """CREATE TABLE alert_deliveries (
            alert_id INTEGER NOT NULL,
            sink TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            sent_at TEXT,
            last_error TEXT,
            coalesced_into INTEGER,
            PRIMARY KEY (alert_id, sink)
        )""",
        "CREATE INDEX alert_deliveries_due ON alert_deliveries (sink, state, alert_id)",
        "CREATE INDEX alert_deliveries_sent ON alert_deliveries (sink, sent_at)",
        """CREATE TABLE alert_sinks (
            sink TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            last_alert_id INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,
            broken_at TEXT,
            broken_reason TEXT,
            first_seen TEXT NOT NULL
        )""",
    ):
        db.execute(statement)


@migrations()
def m011_alert_rules(db: Database) -> None:
    # `rule_state`: the last firing of each (rule, subject), for cooldowns and escalations; it
    # is written in the same transaction as the alert it records. `mutes`: subjects the team
    # silenced until a time.
    for statement in (
        """CREATE TABLE rule_state (
            rule TEXT NOT NULL,
            subject TEXT NOT NULL,
            window_key TEXT NOT NULL,
            fired_at TEXT NOT NULL,
            last_true_at TEXT NOT NULL,
            level REAL NOT NULL,
            volume REAL NOT NULL,
            escalations INTEGER NOT NULL DEFAULT 0,
            alert_id INTEGER,
            data TEXT,
            PRIMARY KEY (rule, subject)
        )""",
        """CREATE TABLE mutes (
            platform TEXT NOT NULL DEFAULT '',
            subject_id TEXT NOT NULL,
            until TEXT NOT NULL,
            muted_by TEXT,
            muted_at TEXT NOT NULL,
            reason TEXT,
            PRIMARY KEY (platform, subject_id)
        )""",
        # the rules read posts whose counts moved recently, and each platform's last reading
        "CREATE INDEX posts_by_observed ON posts (platform, observed_at)",
    ):
        db.execute(statement)


@migrations()
def m050_team_bot(db: Database) -> None:
    # The chat bot (alerts/bot/): who acknowledged an alert and when; comments the team skipped
    # while labelling (ids only: the words stay in `comments`); and an index on the model's
    # uncertainty for two-class scores, P(positive) nearest 0.5, so /label finds the least
    # sure comment without a scan (dropped by m092: /label orders by entropy alone).
    for statement in (
        """CREATE TABLE alert_acks (
            alert_id INTEGER PRIMARY KEY,
            acked_by TEXT NOT NULL,
            acked_by_id TEXT,
            acked_at TEXT NOT NULL
        )""",
        """CREATE TABLE label_skips (
            platform TEXT NOT NULL,
            comment_id TEXT NOT NULL,
            skipped_by TEXT,
            skipped_at TEXT NOT NULL,
            PRIMARY KEY (platform, comment_id)
        )""",
        "CREATE INDEX comments_by_uncertainty ON comments (abs(sentiment - 0.5))"
        " WHERE sentiment IS NOT NULL",
    ):
        db.execute(statement)


@migrations()
def m040_three_way_sentiment(db: Database) -> None:
    # The sentiment model predicts three classes (nlp/sentiment.py): `sentiment` stays
    # P(positive), `p_neutral` and `p_negative` join it (the three sum to 1), and `entropy`
    # (bits) says how unsure the model is, indexed so that the least sure comments are found
    # for labelling without a scan. Scores from the older two-class model have no class
    # probabilities: they are cleared, so the scorer scores those comments again (a label
    # the team gave stays, see set_comment_scores).
    for statement in (
        "ALTER TABLE comments ADD COLUMN p_neutral REAL",
        "ALTER TABLE comments ADD COLUMN p_negative REAL",
        "ALTER TABLE comments ADD COLUMN entropy REAL",
        "CREATE INDEX comments_by_entropy ON comments (entropy) WHERE entropy IS NOT NULL",
        "UPDATE comments SET sentiment = NULL WHERE sentiment IS NOT NULL",
    ):
        db.execute(statement)


@migrations()
def m060_comments_by_first_seen(db: Database) -> None:
    # Negative-thread rules count comments made or first seen in their window.
    db.execute("CREATE INDEX IF NOT EXISTS comments_by_first_seen ON comments (first_seen)")


@migrations()
def m065_unscored_index(db: Database) -> None:
    # The scorer asks for unscored rows after every poll: partial indexes hold only those rows,
    # so the question costs what is new, not the whole table.
    db.execute(
        "CREATE INDEX IF NOT EXISTS comments_unscored ON comments (pk) WHERE sentiment IS NULL"
    )
    db.execute("CREATE INDEX IF NOT EXISTS posts_unscored ON posts (pk) WHERE ugc_score IS NULL")


@migrations()
def m070_delivery_parts(db: Database) -> None:
    # A message split into parts (Telegram's 4,096 characters) remembers how many parts the
    # service accepted, so a retry sends only the rest; `outcome_unknown` records an attempt
    # that may have been accepted although it failed (a timeout after the request went out),
    # so every later attempt is marked as a possible duplicate.
    for statement in (
        "ALTER TABLE alert_deliveries ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE alert_deliveries ADD COLUMN outcome_unknown INTEGER NOT NULL DEFAULT 0",
    ):
        db.execute(statement)


@migrations()
def m080_watched(db: Database) -> None:
    # Posts watched by link (`pingfan watch add`, and `[[watch]]` in the config, synced here
    # at each collection): `id` is NULL until a short link has been resolved.
    db.execute(
        "CREATE TABLE IF NOT EXISTS watched ("
        " pk INTEGER PRIMARY KEY,"
        " url TEXT NOT NULL UNIQUE,"
        " platform TEXT NOT NULL,"
        " id TEXT,"
        " note TEXT NOT NULL DEFAULT '',"
        " origin TEXT NOT NULL,"
        " added_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS watched_by_post ON watched (platform, id)")


@migrations()
def m085_delivery_messages(db: Database) -> None:
    # How many messages the service received for a delivery (a long Telegram alert is several,
    # a digest in Telegram a message and a document), so that a sink's rate limit counts
    # messages across restarts. Rows from before counted one message each (a burst once).
    db.execute("ALTER TABLE alert_deliveries ADD COLUMN messages INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "UPDATE alert_deliveries SET messages = 1 WHERE state = 'sent'"
        " OR (state = 'coalesced' AND coalesced_into = alert_id)"
    )


@migrations()
def m092_no_two_class_uncertainty_index(db: Database) -> None:
    # /label orders by entropy alone (`team.UNCERTAINTY`): every store has the three-way
    # columns (m040), and a two-class score is stored as three classes. m050's index of
    # |P(positive) - 0.5| served the two-class order; nothing reads it, every score writes it.
    db.execute("DROP INDEX IF EXISTS comments_by_uncertainty")


@migrations()
def m094_counts_no_longer_reported(db: Database) -> None:
    # A post whose platform stopped reporting its counts (the Douyin Open Platform, for a video
    # over 30 days old): its latest counts are NULL, never zero, and this says why.
    db.execute("ALTER TABLE posts ADD COLUMN counts_no_longer_reported INTEGER NOT NULL DEFAULT 0")


@migrations()
def m096_web_console(db: Database) -> None:
    # The web console (alerts/web/): its accounts (scrypt hashes, never passwords), sessions
    # (a SHA-256 of the cookie's token, so that a copy of the file opens no session), each
    # person's last visit (for "what changed since"), and the team's marks on UGC posts.
    for statement in (
        "CREATE TABLE IF NOT EXISTS web_users ("
        " name TEXT PRIMARY KEY,"
        " role TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),"
        " password_hash TEXT NOT NULL,"
        " created_at TEXT NOT NULL,"
        " last_visit_at TEXT)",
        "CREATE TABLE IF NOT EXISTS web_sessions ("
        " token_hash TEXT PRIMARY KEY,"
        " user_name TEXT NOT NULL REFERENCES web_users (name) ON DELETE CASCADE,"
        " csrf_token TEXT NOT NULL,"
        " created_at TEXT NOT NULL,"
        " expires_at TEXT NOT NULL,"
        " previous_visit_at TEXT)",
        "CREATE INDEX IF NOT EXISTS web_sessions_by_user ON web_sessions (user_name)",
        "CREATE TABLE IF NOT EXISTS ugc_marks ("
        " platform TEXT NOT NULL,"
        " post_id TEXT NOT NULL,"
        " mark TEXT NOT NULL CHECK (mark IN ('thanked', 'featured', 'not_suitable')),"
        " marked_by TEXT NOT NULL,"
        " marked_at TEXT NOT NULL,"
        " PRIMARY KEY (platform, post_id))",
        "CREATE INDEX IF NOT EXISTS posts_by_ugc_score ON posts (ugc_score)",
        "CREATE INDEX IF NOT EXISTS alerts_by_created ON alerts (created_at)",
    ):
        db.execute(statement)


@migrations()
def m098_latest_reading_indexes(db: Database) -> None:
    # A topic or account reading is stored only when it differs from the series' last one
    # (metrics.py, `ORDER BY pk DESC LIMIT 1`). The (…, observed_at) indexes made that a sort
    # of the series' whole history on every reading: a year of 15-minute topic readings,
    # 35,000 a topic, took minutes to store (benchmarks/growth.py). These indexes hold each
    # series in pk order (SQLite appends the rowid), so the last reading is one probe.
    db.execute("CREATE INDEX IF NOT EXISTS topic_metrics_latest ON topic_metrics (platform, topic)")
    db.execute(
        "CREATE INDEX IF NOT EXISTS account_metrics_latest ON account_metrics"
        " (platform, account_id)"
    )


@migrations()
def m099_posts_by_time_of_author_and_platform(db: Database) -> None:
    # The rules ask, every round, when a platform was first watched (the KOL rule), and for an
    # author's posts in a time range, or newest post (trending baselines, silent KOLs). By
    # (platform, author_id) alone, or without an index, that read every post the author or
    # platform ever had: a cost that grew with history (benchmarks/growth.py). These give the
    # answer from the range itself; the new author index serves all the old one did.
    for statement in (
        "CREATE INDEX IF NOT EXISTS posts_by_first_seen ON posts (platform, first_seen)",
        "CREATE INDEX IF NOT EXISTS posts_by_author_time"
        " ON posts (platform, author_id, created_at)",
        "DROP INDEX IF EXISTS posts_by_author",
    ):
        db.execute(statement)


@migrations()
def m100_comment_hours(db: Database) -> None:
    # The console's overview shows whole-store figures (comments, the campaign's sentiment
    # shares, comments per day): summing a million comments took seconds on each first view.
    # `comment_hours` holds, per UTC hour of `created_at`, how many comments there are, how
    # many are scored and their summed P(positive), P(neutral), P(negative) (a two-class score
    # as the store reads it: P(neutral) 0, P(negative) 1 - P(positive)). Triggers keep it in
    # step with every insert, score, edit and purge of a comment.
    hour, *terms = _comment_hour_terms("")
    sums = ", ".join(f"sum({term})" for term in terms)
    for statement in (
        "CREATE TABLE comment_hours ("
        " hour TEXT PRIMARY KEY,"  # substr(created_at, 1, 13): 'YYYY-MM-DDTHH', UTC
        " comments INTEGER NOT NULL,"
        " scored INTEGER NOT NULL,"
        " positive REAL NOT NULL,"
        " neutral REAL NOT NULL,"
        " negative REAL NOT NULL) WITHOUT ROWID",
        f"INSERT INTO comment_hours SELECT {hour}, {sums} FROM comments GROUP BY 1",
        "CREATE TRIGGER comment_hours_insert AFTER INSERT ON comments"
        f" BEGIN {_comment_hour_add('new.')} END",
        f"CREATE TRIGGER comment_hours_delete AFTER DELETE ON comments"
        f" BEGIN {_comment_hour_take('old.')} END",
        # A score set in place (the usual update) moves its hour's sums by the difference;
        # a comment moved to another time leaves one hour and joins another.
        "CREATE TRIGGER comment_hours_score AFTER UPDATE OF sentiment, p_neutral, p_negative"
        " ON comments WHEN old.created_at IS new.created_at AND (old.sentiment IS NOT"
        " new.sentiment OR old.p_neutral IS NOT new.p_neutral OR old.p_negative IS NOT"
        f" new.p_negative) BEGIN {_comment_hour_move()} END",
        "CREATE TRIGGER comment_hours_moved AFTER UPDATE OF created_at ON comments"
        " WHEN old.created_at IS NOT new.created_at"
        f" BEGIN {_comment_hour_take('old.')} {_comment_hour_add('new.')} END",
    ):
        db.execute(statement)


_HOUR_COLUMNS = ("comments", "scored", "positive", "neutral", "negative")


def _comment_hour_terms(row: str) -> tuple[str, ...]:
    """A comment's share of its hour's row (`row` is "new.", "old." or ""): its hour, then one
    term per `_HOUR_COLUMNS`."""
    scored = f"{row}sentiment IS NOT NULL"
    return (
        f"substr({row}created_at, 1, 13)",
        "1",
        f"({scored})",
        f"coalesce({row}sentiment, 0)",
        f"(CASE WHEN {scored} THEN coalesce({row}p_neutral, 0) ELSE 0 END)",
        f"(CASE WHEN {scored} THEN coalesce({row}p_negative, 1 - {row}sentiment) ELSE 0 END)",
    )


def _comment_hour_add(row: str) -> str:
    hour, *terms = _comment_hour_terms(row)
    return (
        f"INSERT INTO comment_hours VALUES ({hour}, {', '.join(terms)})"
        " ON CONFLICT (hour) DO UPDATE SET "
        + ", ".join(f"{c} = {c} + excluded.{c}" for c in _HOUR_COLUMNS)
        + ";"
    )


def _comment_hour_move() -> str:
    """The update of a comment's hour by the difference between its old and new terms."""
    hour, *new = _comment_hour_terms("new.")
    _, *old = _comment_hour_terms("old.")
    changes = ", ".join(
        f"{c} = {c} + {n} - {o}"
        for c, n, o in zip(_HOUR_COLUMNS[1:], new[1:], old[1:], strict=True)
    )
    return f"UPDATE comment_hours SET {changes} WHERE hour = {hour};"


def _comment_hour_take(row: str) -> str:
    hour, *terms = _comment_hour_terms(row)
    changes = ", ".join(f"{c} = {c} - {t}" for c, t in zip(_HOUR_COLUMNS, terms, strict=True))
    return f"UPDATE comment_hours SET {changes} WHERE hour = {hour};"


@migrations()
def m102_post_readings_by_time(db: Database) -> None:
    # The weekly digest asks when a platform was last read before the week's end; by
    # (platform, post_id, observed_at) that read every post reading the platform ever had
    # (benchmarks/growth.py). This gives it from the end of a range.
    db.execute(
        "CREATE INDEX IF NOT EXISTS post_metrics_by_time ON post_metrics (platform, observed_at)"
    )


@migrations()
def m103_delivery_claims(db: Database) -> None:
    # Several workers on one PostgreSQL database claim a delivery before sending it: who
    # (`claimed_by`) and until when by the database's clock (`claimed_until`, ISO text). One
    # process on SQLite never claims (the run lock makes it the only one); the columns keep
    # both schemas alike.
    for statement in (
        "ALTER TABLE alert_deliveries ADD COLUMN claimed_by TEXT",
        "ALTER TABLE alert_deliveries ADD COLUMN claimed_until TEXT",
    ):
        db.execute(statement)


# (table, its old key's columns, its new key's columns): what a campaign owns (m104).
_CAMPAIGN_KEYS = (
    ("alerts", "dedupe_key", "campaign, dedupe_key"),
    ("rule_state", "rule, subject", "campaign, rule, subject"),
    ("mutes", "platform, subject_id", "campaign, platform, subject_id"),
    ("label_skips", "platform, comment_id", "campaign, platform, comment_id"),
    ("ugc_marks", "platform, post_id", "campaign, platform, post_id"),
)


@migrations()
def m104_campaigns(db: Database) -> None:
    # Several campaigns in one database (monitor/store/campaigns.py): which posts each one
    # counts (its topics, KOLs and watches), and the campaign of what its team makes. Rows
    # from before have campaign '' until the first campaign that opens the store adopts them.
    db.execute("CREATE TABLE campaigns (id TEXT PRIMARY KEY, name TEXT NOT NULL)")
    db.execute(
        "CREATE TABLE campaign_members ("
        " campaign TEXT NOT NULL,"
        " kind TEXT NOT NULL CHECK (kind IN ('topic', 'kol', 'watch')),"
        " platform TEXT NOT NULL,"
        " key TEXT NOT NULL,"
        " PRIMARY KEY (campaign, kind, platform, key)) WITHOUT ROWID"
    )
    db.execute("ALTER TABLE labels ADD COLUMN campaign TEXT NOT NULL DEFAULT ''")
    # the /label queue asks, per candidate, whether this campaign labelled it
    db.execute("CREATE INDEX labels_by_comment ON labels (campaign, platform, comment_id)")
    for table, old_key, new_key in _CAMPAIGN_KEYS:
        _rekey_with_campaign(db, table, old_key, new_key)


def _rekey_with_campaign(db: Database, table: str, old_key: str, new_key: str) -> None:
    """Add `campaign` to `table` and make it part of the table's key. SQLite cannot change a
    key in place: the table is rebuilt from its own stored definition (so a column another
    migration added is kept), its rows copied, its indexes made again."""
    schema = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    definition = schema.fetchone()[0]
    indexes = [
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
            " AND sql IS NOT NULL",
            (table,),
        ).fetchall()
    ]
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()]
    if old_key == "dedupe_key":  # declared on its column (`dedupe_key TEXT NOT NULL UNIQUE`)
        changed = definition.replace("dedupe_key TEXT NOT NULL UNIQUE", "dedupe_key TEXT NOT NULL")
        changed = changed.rstrip().removesuffix(")")
        changed += f", campaign TEXT NOT NULL DEFAULT '', UNIQUE ({new_key}))"
    else:
        changed = definition.replace(
            f"PRIMARY KEY ({old_key})",
            f"campaign TEXT NOT NULL DEFAULT '', PRIMARY KEY ({new_key})",
        )
    if changed == definition:
        raise RuntimeError(f"m104: cannot find the key of {table} in {definition!r}")
    rebuilt = f"{table}_m104"
    named = re.sub(
        rf"^CREATE TABLE (IF NOT EXISTS )?\"?{table}\"?", f"CREATE TABLE {rebuilt}", changed
    )
    if named == changed:
        raise RuntimeError(f"m104: cannot find the name of {table} in {definition!r}")
    db.execute(named)
    listed = ", ".join(columns)
    db.execute(f"INSERT INTO {rebuilt} ({listed}) SELECT {listed} FROM {table}")
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {rebuilt} RENAME TO {table}")
    for sql in indexes:
        db.execute(sql)


@migrations()
def m107_team_labelled(db: Database) -> None:
    # A label the team gives is its campaign's (labels.py): the comment keeps the model's
    # label and is only marked, so that a read looks up the campaign's label for the few
    # comments a team labelled, not for every comment (campaigns.label_in_campaign).
    db.execute("ALTER TABLE comments ADD COLUMN team_labelled INTEGER NOT NULL DEFAULT 0")
