"""Which comment the bot's /label card asks about next: uncertain, and unlike the last ones.

The store's queue (`next_label_candidate`) is ordered by uncertainty alone, so a busy thread's
copy-pasted joke would come up card after card. The chooser reads the queue's first
QUEUE_READ comments and takes the one `nlp.active.choose` ranks first: uncertain and unlike
the team's newest RECENT_LABELS labels (so a near copy of a comment just labelled waits).
"""

from __future__ import annotations

from datetime import datetime

from monitor.store import Store
from monitor.store.team import LabelCandidate
from nlp.active import choose
from nlp.sentiment import Probs

QUEUE_READ = 40
RECENT_LABELS = 200


def next_label_candidate(store: Store) -> LabelCandidate | None:
    """The comment to ask about next, or None when nothing scored is left to label."""
    queue = store.team.label_candidates(QUEUE_READ)
    if not queue:
        return None
    known = [text for text, _ in store.labels.labels()[-RECENT_LABELS:]]
    order = choose([c.text for c in queue], [candidate_probs(c) for c in queue], 1, known=known)
    return queue[order[0]] if order else queue[0]


def candidate_probs(candidate: LabelCandidate) -> Probs:
    """Its stored probabilities; a two-class score as P(positive) and its complement."""
    positive = candidate.sentiment if candidate.sentiment is not None else 0.5
    if candidate.p_negative is None:
        return Probs(positive, 0.0, 1.0 - positive)
    return Probs(positive, candidate.p_neutral or 0.0, candidate.p_negative)


def record_label_answer(
    store: Store, candidate: LabelCandidate, label: str | None, *, by: str, at: datetime
) -> None:
    """A team member's answer to a card, from the chat or the console: a label, or None for
    a skip (the comment leaves this person's queue, and nothing is learned from it)."""
    if label is None:
        store.team.skip_label(candidate.platform, candidate.id, by=by, at=at)
    else:
        store.labels.add_label(
            candidate.text,
            label,
            platform=candidate.platform,
            comment_id=candidate.id,
            given_by=by,
            given_at=at,
        )
