"""Every user-facing text in English ([ui] language = "en").

The same keys and placeholders as alerts/i18n/zh.py (tests/test_i18n.py). Read through
`alerts.i18n.t`."""

from __future__ import annotations

TEXT: dict[str, str] = {
    # --- Names: platforms, severities, alert kinds, outbox states, metrics, sentiment labels
    "platform.weibo": "Weibo",
    "platform.douyin": "Douyin",
    "severity.info": "info",
    "severity.warning": "warning",
    "severity.critical": "critical",
    "kind.negative_thread": "negative thread",
    "kind.trending": "trending",
    "kind.topic_trending": "topic accelerating",
    "kind.milestone": "milestone",
    "kind.kol_upload": "KOL upload",
    "kind.kol_silent": "KOL silent",
    "kind.ugc": "UGC",
    "kind.coordination": "coordination",
    "kind.collector_health": "collector health",
    "kind.sink_health": "sink health",
    "state.pending": "pending",
    "state.sent": "sent",
    "metric.weibo": "reads",
    "metric.douyin": "views",
    "label.positive": "positive",
    "label.neutral": "neutral",
    "label.negative": "negative",
    # --- Units and punctuation
    "unit.days": "{n} d",
    "unit.hours": "{n} h",
    "unit.minutes": "{n} min",
    "unit.seconds": "{n} s",
    "unit.hours_minutes": "{hours} h {minutes} min",
    "sep.list": ", ",
    "sep.clause": ", ",
    "change.new": "new",
    "paren": " ({text})",
    # --- Alerts: the rules' findings (alerts/wording.py), the dispatcher's notices, sink footers
    "alert.title_line": "[{severity}] {title}",
    "alert.escalated": "Escalated: ",
    "alert.duplicate": " (possible duplicate: the last send was not confirmed)",
    "alert.time": "At {time}",
    "alert.rule": "Rule: {rule}",
    "alert.terms": "Top terms: {terms}",
    "alert.samples": "Representative comments:",
    "alert.sample": "· {author} ({likes} likes): “{quote}”",
    "alert.post": "Post: {author} “{excerpt}”",
    "alert.link": "Link: {url}",
    "alert.negative.title": "Negative thread on {platform}: {share} negative ({n} comments)",
    "alert.negative.rise_title": "Negativity rising on {platform}: {p0} → {share} negative",
    "alert.negative.word_title": "Sensitive word on {platform}: “{word}”",
    "alert.negative.counts": (
        "Last {hours} h: {neg} of {n} scored comments negative ({share}; 95% lower bound {lb})"
    ),
    "alert.negative.rise": "Before: {p0} negative of {n0} comments; this window: {share}",
    "alert.negative.word_comment": (
        "Sensitive word “{word}” in a liked comment: {author} ({likes} likes)"
    ),
    "alert.negative.word_post": "Sensitive word “{word}” in partner KOL {name}'s post",
    "alert.negative.rule": (
        "95% lower bound of the negative share ≥ {threshold} with ≥ {min} comments, or "
        "a {ratio}× rise with lower bound ≥ {rise_min}, or a sensitive word in a "
        "comment with ≥ {likes} likes or a KOL post"
    ),
    "alert.trending.title": (
        "Trending on {platform}: {author}'s post at {rate}/h ({ratio}× baseline)"
    ),
    "alert.trending.counts": (
        "Gained {gained} interactions (likes+comments+shares) in {window}; last two "
        "readings {r1}/h, {r2}/h"
    ),
    "alert.trending.plays": "Plays {plays}/h",
    "alert.trending.base_author": (
        "Baseline: the author's last {k} posts at the same age, median {baseline}/h"
    ),
    "alert.trending.base_topic": (
        "Baseline: {k} posts of the topic at the same age, median {baseline}/h, robust z = {z}"
    ),
    "alert.trending.base_none": (
        "No comparable baseline yet: judged at {ratio}× the floor {floor}/h"
    ),
    "alert.trending.rule": (
        "velocity ≥ {growth}× baseline (and z ≥ {z} against the topic), ≥ {min} "
        "interactions in {window}, confirmed over two readings"
    ),
    "alert.topic.title": (
        "Topic accelerating: #{topic}# {platform} {metric} {rate}/h (median before {baseline}/h)"
    ),
    "alert.topic.counts": "Last two readings {r1}/h, {r2}/h, total {views}; robust z = {z}",
    "alert.topic.rule": (
        "velocity ≥ {growth}× the median before and z ≥ {z}, at least {min}/h, "
        "confirmed over two readings"
    ),
    "alert.milestone.title": "Milestone: #{topic}# passed {mark} {metric} on {platform}",
    "alert.milestone.counts": "Now {views} (read at {time})",
    "alert.milestone.rule": "configured marks: {marks}",
    "alert.kol_upload.title": "Partner KOL posted: {name} ({platform})",
    "alert.kol_upload.counts": (
        "Posted at {time}; {likes} likes, {comments} comments, {shares} shares"
    ),
    "alert.kol_silent.title": "Partner KOL silent: {name}, no post for {days} days",
    "alert.kol_silent.last": "Last post: {time}",
    "alert.kol_silent.never": "No post seen since monitoring began ({time})",
    "alert.kol_silent.rule": "no post for more than {days} days",
    "alert.ugc.title": "UGC and nominations: {n} worth thanking or featuring",
    "alert.ugc.item": "· {author}: “{excerpt}” score {score}{nomination}",
    "alert.ugc.nomination": ", nominates: {role} {person}",
    "alert.ugc.rule": (
        "UGC score ≥ {min} or a nomination; one batch per {hours} h at most, {max} items"
    ),
    "alert.coordination.title": (
        "Possible coordination (a lead): {accounts} accounts posted near-identical text"
    ),
    "alert.coordination.counts": "{messages} near-identical texts, {first} to {last}",
    "alert.coordination.sample": "Sample: “{sample}”",
    "alert.coordination.accounts": "Accounts: {authors}",
    "alert.coordination.lead": "This is a lead for a person to check, not a verdict.",
    "alert.coordination.rule": (
        "≥ {accounts} accounts within {window} posting near-identical text (SimHash "
        "distance ≤ {distance})"
    ),
    "alert.stale.title": "{platform} data stale: nothing new for {hours} h",
    "alert.stale.last": "Last reading: {time}",
    "alert.stale.hint": (
        "Check that pingfan run is running, the network and the cookie (pingfan doctor)."
    ),
    "alert.stale.rule": "no new reading for more than {hours} h",
    "alert.parser.title": "{platform} parser failing: {source}, {n} times in a row",
    "alert.parser.error": "Last error: {error}",
    "alert.parser.hint": "The other sources go on; the platform's pages may have changed.",
    "alert.parser.rule": "one source failing ≥ {n} times in a row",
    "alert.sink.title": "Alert sink broken: {sink}",
    "alert.sink.text": (
        "{reason}. This sink stops sending until its configuration is fixed and "
        "pingfan restarts; the other sinks go on."
    ),
    "alert.coalesced.title": "{n} more alerts (coalesced to respect the rate limit)",
    "alert.coalesced.item": "· [{severity}] {title}",
    "alert.coalesced.more": "Full texts: pingfan export alerts, and the weekly digest.",
    # --- Buttons under an alert (Telegram, Feishu, Apprise)
    "button.ack": "Acknowledge",
    "button.mute": "Mute 24 h",
    "button.open_post": "Open the post",
    "button.label": "#{n} {label}",
    # --- Collector health at the moment it changes (alerts/health.py)
    "health.cause.blocked": "blocked by the platform",
    "health.cause.cookie": "the login cookie expired",
    "health.cause.unreachable": "the platform is unreachable",
    "health.advice.blocked": "Check the cookie (pingfan doctor) or lower requests_per_minute.",
    "health.advice.cookie": "Renew the cookie (pingfan doctor).",
    "health.advice.unreachable": "Check the network, the proxy and base_url (pingfan doctor).",
    "health.paused.title": "{name} collection paused: {cause}",
    "health.paused.text": (
        "{reason}. pingfan stops polling {name} for {pause}, then probes once. {advice}"
    ),
    "health.recovered": "{name} collection recovered",
    # --- The chat bot's replies (alerts/bot/replies.py): Telegram HTML, values escaped
    "bot.refusal": "Sorry, this bot only serves the campaign team; it cannot be used here.",
    "bot.help": (
        "<b>pingfan bot</b>\n/status collection per platform, today's posts and "
        "comments, topic reads/views and their 24 h growth\n/top [24h|7d] posts "
        "gaining the most interactions\n/negative [24h|7d] negative threads: share, "
        "top terms, a representative comment\n/ugc UGC and nominations to thank or "
        "feature\n/kol [7d|30d] partner KOL leaderboard\n/digest this week's digest "
        "now\n/label label the comment the model is least sure about (teaches the "
        "model)\n/mute &lt;id&gt; [duration] e.g. /mute #12 2d; /mute alone lists the "
        "mutes\n/unmute &lt;id&gt;\nAn id is an alert's #number (its last line) or "
        "platform:post-or-account-id (e.g. weibo:4390…)."
    ),
    "bot.unknown": "Unknown command; /help lists them.",
    "bot.link": '<a href="{url}">post</a>',
    "bot.error": "Something went wrong; it is logged. Please try again later.",
    "bot.window.bad": (
        "Cannot use the duration {value}: write one from {low} to {high}, like 6h, 24h, 7d."
    ),
    "bot.status.title": "<b>Collection status</b> · {time}",
    "bot.status.platform": "<b>{platform}</b>: {state}",
    "bot.status.ok": "✅ running",
    "bot.status.open": "⛔ paused ({reason}); probing again at {until}",
    "bot.status.half_open": "⚠️ probing for recovery ({reason})",
    "bot.status.off": "not enabled",
    "bot.status.stale": " (nothing new for {hours} h)",
    "bot.status.last": "Last successful poll: {time} ({ago} ago)",
    "bot.status.never": "No successful poll yet",
    "bot.status.today": "Today ({zone}): posts {posts}, comments {comments}",
    "bot.status.sentiment": "Comments, last 24 h ({n}; mean probability, 90% interval): {shares}",
    "bot.status.topic": "#{topic}# {metric} {views}, 24 h {growth}",
    "bot.status.topic_since": "#{topic}# {metric} {views}, since {since} {growth}",
    "bot.status.no_topics": "No topic readings yet",
    "bot.top.title": "<b>Trending posts</b> · interactions gained in {window}",
    "bot.top.item": "{n}. {platform} · {author} · +{gained} interactions",
    "bot.top.counts": "   {likes} likes · {comments} comments · {shares} shares{plays} · {link}",
    "bot.top.plays": " · {plays} plays",
    "bot.top.none": "No post gained interactions in {window}.",
    "bot.top.watched": "<b>This campaign's videos</b> (watched by link)",
    "bot.top.watched_item": "{n}. {platform} · {name} · +{gained} interactions in {window}",
    "bot.top.watched_pending": "{n}. {platform} · {name} · not collected yet",
    "bot.negative.title": (
        "<b>Negative threads</b> · last {window} (≥ {min} scored comments, ≥ {share} negative)"
    ),
    "bot.negative.item": "{n}. {platform} · {author} · {share} negative ({neg}/{scored})",
    "bot.negative.terms": "   Top terms: {terms}",
    "bot.negative.sample": "   Representative: {author} ({likes} likes) “{quote}”",
    "bot.negative.none": "No clearly negative thread in {window}.",
    "bot.ugc.title": (
        "<b>UGC to thank or feature</b> · last {window} (score ≥ {min} or a nomination)"
    ),
    "bot.ugc.item": "{n}. {platform} · {author} · score {score}{nomination}",
    "bot.ugc.nomination": " · nominates: {role} {person}",
    "bot.ugc.none": "No UGC scoring ≥ {min} and no nomination in {window}.",
    "bot.kol.title": "<b>Partner KOLs</b> · last {window}",
    "bot.kol.item": "{n}. {name} ({platform}): uploads {uploads}",
    "bot.kol.counts": (
        "   {plays} plays · {likes} likes · {comments} comments · engagement {rate} · "
        "followers {growth}"
    ),
    "bot.kol.note": (
        "Engagement = mean interactions (likes + comments + shares) per upload ÷ followers"
    ),
    "bot.kol.none": "No partner KOLs in the config ([[kols]]).",
    "bot.digest.missing": (
        "The weekly digest is not built yet (the digest issue); then /digest makes "
        "this week's digest at once."
    ),
    "bot.mute.usage": (
        "Usage: /mute &lt;id&gt; [duration], e.g. /mute #12 2d, /mute weibo:4390… 6h "
        "(24 h by default); /unmute &lt;id&gt; undoes it. An id is an alert's #number "
        "or platform:post-or-account-id."
    ),
    "bot.mute.done": "Muted {subject} until {until}.",
    "bot.mute.title": "<b>Muted</b>",
    "bot.mute.item": "· {subject} until {until}{by}",
    "bot.mute.by": " ({name})",
    "bot.mute.none": "Nothing is muted.",
    "bot.unmute.done": "Unmuted {subject}.",
    "bot.unmute.none": "{subject} is not muted.",
    "bot.id.unknown": "Cannot find {id}: use an alert's #number or platform:id (e.g. weibo:4390…).",
    "bot.id.ambiguous": "{id} exists on both platforms: write weibo:{id} or douyin:{id}.",
    "bot.id.no_subject": "Alert #{id} is not about one post or account; it cannot be muted.",
    "bot.subject.alert": "the subject of alert #{id} ({subject})",
    "bot.label.title": "<b>Sentiment label</b> · the comment the model is least sure about",
    "bot.label.meta": "{platform} · {time} · {likes} likes · {author}",
    "bot.label.text": "“{text}”",
    "bot.label.post": "On the post: “{excerpt}”",
    "bot.label.model": "Model: P(positive) {p}",
    "bot.label.model3": "Model: positive {p} · neutral {u} · negative {n}",
    "bot.label.ask": (
        "What is this comment's sentiment? ({n} labels given so far; used by pingfan "
        "nlp train --from-db)"
    ),
    "bot.label.none": "No comment is waiting for a label. Thank you!",
    "bot.label.previous": "✓ The last one was labelled “{label}”",
    "bot.label.skipped": "The last one was skipped",
    "bot.label.saved": "Saved: {label}",
    "bot.label.skip": "Skip",
    "bot.ack.line": "✅ Acknowledged by {name} at {time}",
    "bot.ack.button": "✅ {name} {time}",
    "bot.ack.done": "Acknowledged",
    "bot.ack.already": "Already acknowledged by {name} at {time}",
    "bot.mute.button": "🔕 Muted until {until} · undo",
    "bot.mute.pressed": "Muted until {until}; press again to undo",
    "bot.unmute.pressed": "Unmuted",
    "bot.press.forged": "This button is no longer valid (or never was); refused.",
    "bot.press.old": (
        "This message is too old to check its buttons; refused. Send the command again."
    ),
    "bot.press.stale": "This button is stale (its alert or comment is no longer stored); refused.",
    "bot.press.refused": "Sorry, only the campaign team may use these buttons.",
    "bot.command.status": "collection, today's numbers, topic growth",
    "bot.command.top": "posts gaining the most [24h|7d]",
    "bot.command.negative": "negative threads [24h|7d]",
    "bot.command.ugc": "UGC and nominations to thank or feature",
    "bot.command.kol": "partner KOL leaderboard [7d|30d]",
    "bot.command.digest": "this week's digest now",
    "bot.command.label": "label the comment the model is least sure about",
    "bot.command.mute": "mute <id> [duration]",
    "bot.command.unmute": "unmute <id>",
    "bot.command.help": "all commands",
    # --- The weekly digest (alerts/digest/): documents, charts, the chat summary
    "digest.title": "{campaign} weekly digest · {week}",
    "digest.title_plain": "Weekly digest · {week}",
    "digest.period": "{first} (Monday) to {last} (Sunday), {tz}",
    "digest.generated": "Generated {time}",
    "digest.partial": "This week is not over yet: data up to {time}.",
    "digest.no_data": "No data was collected in {week}: no posts, no comments, no topic readings.",
    "digest.no_data_span": "The database holds data from {first} to {last}.",
    "digest.no_data_empty": "The database holds no posts or comments yet.",
    "digest.no_data_hint": (
        "Check that collection runs (pingfan status, pingfan doctor), or pick another "
        "week: --week {hint}."
    ),
    "digest.no_data_check": "Check that collection runs (pingfan status, pingfan doctor).",
    "digest.toc": "Contents",
    "digest.summary": "This week",
    "digest.reach": "Reach",
    "digest.volume": "Volume",
    "digest.sentiment": "Sentiment",
    "digest.threads": "Negative threads this week",
    "digest.ugc": "UGC and nominations to thank or feature",
    "digest.kols": "Partner KOL leaderboard",
    "digest.watched": "This campaign's videos",
    "digest.alerts": "Alerts this week",
    "digest.coordination": "Suspected coordination",
    "digest.health": "Collector health",
    "digest.notes": "Notes",
    "digest.none": "none",
    "digest.unknown": "–",
    "digest.sum.reach": "{platform} topic {metric} {views}, +{gained} this week{change}{mark}",
    "digest.sum.reach_unknown": (
        "{platform} topic {metric} {views} (growth unknown: no reading before the week)"
    ),
    "digest.sum.reach_stale": (
        "{platform} topic {metric} {views} (no reading this week; the last one was on {at})"
    ),
    "digest.sum.mark_next": ", {left} to go to {mark}",
    "digest.sum.mark_passed": ", passed {marks} this week",
    "digest.sum.volume": (
        "Posts {posts}{posts_change}, comments {comments}{comments_change}, authors "
        "{authors}, interactions {engagement}"
    ),
    "digest.sum.sentiment": "Comments: {pos} positive, {neu} neutral, {neg} negative{neg_change}",
    "digest.sum.sentiment_none": "No scored comments this week",
    "digest.note.model": (
        "Sentiment model {version}: three-way macro-F1 {f1} on real Weibo comments "
        "(hand-labelled LCCC test split); shares are mean calibrated probabilities, "
        "90% interval in brackets."
    ),
    "digest.note.model_unmeasured": "Sentiment model {version}: not measured on real comments.",
    "digest.sum.sentiment_shares": (
        "Comments (mean probability, 90% interval): {pos} positive, {neu} neutral, "
        "{neg} negative{neg_change}"
    ),
    "digest.sum.drivers": "Negative terms: {terms}",
    "digest.sum.threads": "Negative threads: {n} ({calmed} calmed down)",
    "digest.sum.threads_none": "No negative threads this week",
    "digest.sum.ugc": "UGC to thank: {n}, nominations among them: {nominations}",
    "digest.sum.alerts": "Alerts: {n}, acknowledged: {acked}",
    "digest.sum.alerts_no_ack": "Alerts: {n}",
    "digest.sum.coordination": "Suspected coordination leads: {n} (for a person to check)",
    "digest.sum.health": "Collection down: {parts}",
    "digest.sum.health_part": "{platform} {duration}",
    "digest.sum.health_ok": "Collection ran without interruption",
    "digest.sum.no_data": "No data was collected this week",
    "digest.sum.files": "Full digest: {name}",
    "digest.sum.attached": "The full digest is attached (HTML).",
    "digest.reach.platform": "Platform",
    "digest.reach.topic": "Topic",
    "digest.reach.metric": "Metric",
    "digest.reach.views": "Total at week end",
    "digest.reach.gained": "Gained this week",
    "digest.reach.previous": "Gained last week",
    "digest.reach.change": "Change",
    "digest.reach.discussions": "Discussions (gained)",
    "digest.reach.mark": "Next mark",
    "digest.reach.mark_value": "{mark} ({progress} there)",
    "digest.reach.all_marks": "all passed",
    "digest.reach.read_at": "last reading {time}",
    "digest.reach.none": "No topic readings this week.",
    "digest.reach.partial": (
        "No reading before the week: growth counts from the week's first reading."
    ),
    "digest.reach.chart": "Topic reads/views (last reading of each day)",
    "digest.volume.metric": "",
    "digest.volume.total": "All",
    "digest.volume.previous": "All, last week",
    "digest.volume.change": "Change",
    "digest.volume.posts": "Posts",
    "digest.volume.ugc_posts": "of which UGC",
    "digest.volume.kol_posts": "of which KOL",
    "digest.volume.official_posts": "of which official",
    "digest.volume.authors": "Authors",
    "digest.volume.comments": "Comments",
    "digest.volume.commenters": "Commenters",
    "digest.volume.likes": "Likes",
    "digest.volume.post_comments": "Comment counts (platform)",
    "digest.volume.shares": "Shares/reposts",
    "digest.volume.engagement": "Interactions (likes+comments+shares)",
    "digest.volume.plays": "Plays (where known)",
    "digest.sent.label": "Sentiment",
    "digest.sent.positive": "positive",
    "digest.sent.neutral": "neutral",
    "digest.sent.negative": "negative",
    "digest.sent.unscored": "not scored",
    "digest.sent.this_week": "This week",
    "digest.sent.last_week": "Last week",
    "digest.sent.p_negative": "Mean P(negative) this week: {value}",
    "digest.sent.daily": "Sentiment by day",
    "digest.sent.day": "Day",
    "digest.sent.share_negative": "Negative share",
    "digest.sent.drivers": "What drives it",
    "digest.sent.positive_terms": "Terms in positive comments",
    "digest.sent.negative_terms": "Terms in negative comments",
    "digest.sent.chart": "Comment sentiment by day",
    "digest.sent.none": "No comments this week.",
    "digest.thread.by": "{platform} · {author} · posted {time}",
    "digest.thread.counts": (
        "{comments} comments this week, {scored} scored, {negative} negative ({share}; "
        "95% lower bound {lower})"
    ),
    "digest.thread.peak": "Most negative day: {day} ({share})",
    "digest.thread.outcome": "Outcome: {outcome}",
    "digest.thread.calmed": "calmed down: no new comments after {time}",
    "digest.thread.cooling": "cooling: {share} negative in the week's last 24 h ({n} comments)",
    "digest.thread.quiet": "cooling: no new comment in the week's last 24 h (last one {time})",
    "digest.thread.ongoing": "still going: {share} negative in the week's last 24 h ({n} comments)",
    "digest.thread.alert": "Alert #{id} ({time}): {state}{ack}",
    "digest.thread.no_alert": "no alert raised",
    "digest.thread.terms": "Terms: {terms}",
    "digest.thread.samples": "Representative negative comments:",
    "digest.quote.likes": "{n} likes",
    "digest.thread.link": "post",
    "digest.thread.rule": (
        "Listed: at least {min} scored comments this week and a 95% lower bound of the "
        "negative share ≥ {share}, or a negative-thread alert this week."
    ),
    "digest.ugc.author": "Author",
    "digest.ugc.platform": "Platform",
    "digest.ugc.text": "Text",
    "digest.ugc.score": "Score",
    "digest.ugc.nomination": "Nominates",
    "digest.ugc.interactions": "Interactions",
    "digest.ugc.link": "Link",
    "digest.ugc.none": "No UGC this week.",
    "digest.ugc.masked": "Authors are masked; reach them through the link on the platform.",
    "digest.kol.name": "KOL",
    "digest.kol.platform": "Platform",
    "digest.kol.uploads": "Uploads",
    "digest.kol.plays": "Plays",
    "digest.kol.likes": "Likes",
    "digest.kol.comments": "Comments",
    "digest.kol.shares": "Shares",
    "digest.kol.rate": "Engagement rate",
    "digest.kol.followers": "Followers",
    "digest.kol.growth": "Follower growth",
    "digest.kol.none": "No partner KOLs are configured ([[kols]]).",
    "digest.kol.chart": "KOL interactions this week (likes+comments+shares)",
    "digest.kol.rate_note": (
        "Engagement rate = the week's interactions ÷ uploads ÷ followers at week end; "
        "“–” where the platform gives no figure."
    ),
    "digest.kol.partial": "*",
    "digest.kol.partial_note": (
        "* No follower snapshot before the week: growth counts from the week's first snapshot."
    ),
    "digest.watched.post": "Post",
    "digest.watched.note": "Note",
    "digest.watched.gained": "Interactions gained",
    "digest.watched.negative": "Negative share",
    "digest.watched.pending": "not collected yet",
    "digest.watched.intro": (
        "Posts watched by link ([[watch]] and pingfan watch add), tagged or not."
    ),
    "digest.alert.time": "Time",
    "digest.alert.kind": "Kind",
    "digest.alert.severity": "Severity",
    "digest.alert.title": "Title",
    "digest.alert.state": "Delivery",
    "digest.alert.ack": "Acknowledged",
    "digest.alert.acked": "{who} ({time})",
    "digest.alert.not_acked": "no",
    "digest.alert.ack_unknown": "not recorded",
    "digest.alert.none": "No alerts this week.",
    "digest.alert.by_kind": "By kind: {parts}",
    "digest.coord.item": (
        "{platform}: {accounts} accounts posted {messages} near-identical texts "
        "between {first} and {last}: “{sample}” (accounts: {authors})"
    ),
    "digest.coord.none": (
        "No group of accounts posted near-identical text within minutes this week."
    ),
    "digest.coord.lead": "These are leads for a person to check, not verdicts.",
    "digest.health.platform": "Platform",
    "digest.health.downtime": "Downtime",
    "digest.health.outages": "Outages",
    "digest.health.stale": "Stale-data alerts",
    "digest.health.parser": "Parser alerts",
    "digest.health.last": "Last reading",
    "digest.health.down_now": " (still down at week end)",
    "digest.health.disabled": "disabled",
    "digest.health.note": (
        "Downtime = collection paused after a block or an expired cookie, until it "
        "recovered (from the collector-health alerts)."
    ),
    "digest.note.counts": (
        "Posts, comments, authors, interactions, sentiment and alerts equal `pingfan "
        "export` for the same week; a post's likes, comments and shares are its counts "
        "in the database when the digest was made."
    ),
    "digest.note.masked": (
        "Comment and UGC authors are masked; links and @mentions in comments are made inert."
    ),
    "digest.note.font": (
        "No CJK font for the charts: they are labelled in English; install "
        "fonts-noto-cjk and build the digest again."
    ),
    "digest.sum.change": "{ratio} on last week",
    # --- The web console (alerts/web): its own texts; the shared names above are read as they are
    "web.app.title": "pingfan · console",
    "web.nav.overview": "Overview",
    "web.nav.threads": "Threads",
    "web.nav.alerts": "Alerts",
    "web.nav.ugc": "UGC & nominations",
    "web.nav.kols": "KOLs",
    "web.nav.search": "Search",
    "web.nav.label": "Label",
    "web.nav.digests": "Digests",
    "web.nav.logout": "Log out",
    "web.role.viewer": "viewer",
    "web.role.editor": "editor",
    "web.login.title": "Log in",
    "web.login.username": "Username",
    "web.login.password": "Password",
    "web.login.submit": "Log in",
    "web.login.failed": "Wrong username or password.",
    "web.login.expired": "The form expired; please try again.",
    "web.error.forbidden": "A viewer account cannot change anything.",
    "web.error.csrf": "The form expired or came from elsewhere; reload the page and try again.",
    "web.error.not_found": "Not found.",
    "web.error.bad_request": "Bad request: {reason}",
    "web.live.title": "Live",
    "web.live.new_alert": "New alert",
    "web.live.threads_changed": "Threads changed",
    "web.overview.title": "Overview",
    "web.overview.totals": "Total",
    "web.overview.week": "Last 7 days",
    "web.overview.posts": "Posts",
    "web.overview.comments": "Comments",
    "web.overview.alerts": "Alerts",
    "web.overview.topics": "Topic reads and views",
    "web.overview.topic_views": "{platform} #{topic}#: {views}",
    "web.overview.milestone": "milestone {value}",
    "web.overview.reached": "reached",
    "web.overview.no_topics": "No topic readings yet.",
    "web.overview.sentiment_campaign": "Campaign sentiment, all stored comments (90% interval)",
    "web.overview.sentiment_week": "Sentiment of the last 7 days' comments (90% interval)",
    "web.overview.sentiment_n": "from {n} scored comments",
    "web.overview.no_sentiment": "No scored comments yet.",
    "web.overview.since_visit": "Since your last visit ({time})",
    "web.overview.first_visit": "This is your first visit.",
    "web.overview.new_counts": "{posts} new posts, {comments} new comments, {alerts} new alerts",
    "web.overview.chart_comments": "Comments per day (last 30 days)",
    "web.overview.chart_views": "{platform} topic views/reads (last 30 days)",
    "web.label.skip": "skip",
    "web.kind.kol": "KOL",
    "web.kind.official": "official",
    "web.kind.user": "user",
    "web.filter.all": "all",
    "web.filter.apply": "Filter",
    "web.filter.platform": "Platform",
    "web.filter.kind": "Kind",
    "web.filter.severity": "Severity",
    "web.filter.state": "State",
    "web.filter.author_kind": "Author",
    "web.filter.days": "Days",
    "web.filter.from": "From",
    "web.filter.to": "To",
    "web.alerts.title": "Alert history",
    "web.alerts.time": "Time",
    "web.alerts.what": "Alert",
    "web.alerts.status": "Handling",
    "web.alerts.acked": "acknowledged",
    "web.alerts.unacked": "not acknowledged",
    "web.alerts.acked_by": "acknowledged by {name} at {time}",
    "web.alerts.muted_until": "muted until {time}",
    "web.alerts.ack": "Acknowledge",
    "web.alerts.mute": "Mute 24 h",
    "web.alerts.unmute": "Unmute",
    "web.alerts.none": "No alert matches.",
    "web.alerts.done_ack": "Alert {id} acknowledged.",
    "web.alerts.done_mute": "The subject of alert {id} is muted.",
    "web.alerts.done_unmute": "Unmuted.",
    "web.severity.info": "info",
    "web.severity.warning": "warning",
    "web.severity.critical": "critical",
    "web.search.title": "Search",
    "web.search.placeholder": "words, separated by spaces",
    "web.search.submit": "Search",
    "web.search.posts": "Posts",
    "web.search.comments": "Comments",
    "web.search.none": "Nothing found for “{q}”.",
    "web.search.count": "“{q}”: {n} results on this page, newest first",
    "web.search.more_posts": "Older posts",
    "web.search.more_comments": "Older comments",
    "web.search.first_page": "Back to the newest",
    "web.threads.title": "Threads",
    "web.threads.post": "Post",
    "web.threads.comments": "Comments",
    "web.threads.recent": "Last 24 h",
    "web.threads.negative": "Negative share",
    "web.threads.none": "No comments in this period.",
    "web.thread.title": "Thread",
    "web.thread.counts": "Counts over time",
    "web.thread.keywords": "Keywords",
    "web.thread.alerts": "Its alerts",
    "web.thread.comments": "Comments (newest 200, authors masked)",
    "web.thread.newest": "Newest comments",
    "web.thread.older": "Older comments",
    "web.thread.open": "Open on the platform",
    "web.thread.shares": "Shares",
    "web.thread.no_readings": "Not enough readings yet.",
    "web.ugc.title": "UGC and nominations",
    "web.ugc.note": (
        "Users' own posts scoring ≥ {min} or nominating someone; authors are masked,"
        " reach them through the link."
    ),
    "web.ugc.score": "Score",
    "web.ugc.nomination": "Nominates: {role} {person}",
    "web.ugc.mark": "Mark",
    "web.ugc.mark.thanked": "thanked",
    "web.ugc.mark.featured": "featured",
    "web.ugc.mark.not_suitable": "not suitable",
    "web.ugc.mark.none": "clear",
    "web.ugc.csv": "Download CSV (recommendation and selection)",
    "web.ugc.none": "No UGC worth thanking yet.",
    "web.ugc.previous": "Previous",
    "web.ugc.next": "More",
    "web.ugc.page": "page {n}",
    "web.ugc.done": "Marked.",
    "web.kols.title": "KOL leaderboard (last {days} days)",
    "web.kols.name": "KOL",
    "web.kols.uploads": "Uploads",
    "web.kols.plays": "Plays",
    "web.kols.likes": "Likes",
    "web.kols.comments": "Comments",
    "web.kols.engagement": "Engagement",
    "web.kols.followers": "Followers",
    "web.kols.growth": "Follower growth",
    "web.kols.none": "No KOLs in the config ([[kols]]).",
    "web.kols.recent_uploads": "Recent uploads",
    "web.labelq.title": "Labelling",
    "web.labelq.help": (
        "Press 1 positive, 2 neutral, 3 negative, 0 to skip."
        " Labels go where the chat bot's /label puts them."
    ),
    "web.labelq.model": "Model: negative {neg}, neutral {neu}, positive {pos}",
    "web.labelq.post": "On the post: ",
    "web.labelq.empty": "Nothing left to label.",
    "web.labelq.saved": "Saved: {label}",
    "web.labelq.skipped": "Skipped.",
    "web.labelq.count": "The team has labelled {n}",
    "web.digests.title": "Weekly digests",
    "web.digests.none": "No digest yet (pingfan digest, or pingfan run each week).",
    "web.time.none": "—",
}
