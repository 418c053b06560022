"""What runs inside the daemon's scoring worker process, and nothing else.

The worker is spawned, so it imports only what its functions need: this module and the
model (nlp.sentiment), not the daemon's HTTP, SQLite, chat and digest libraries. Keep it so;
`tests/test_scorer.py` checks the worker's modules.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from monitor.apart import leave_with_parent
from monitor.runtime.memory import return_freed_memory
from nlp.sentiment import Model, Probs, load_model

_model: Model | None = None
_error: str | None = None


def start(spec: str, parent: int) -> None:
    """The pool's initializer: load the model once (a failure is said by the first call);
    leave when the daemon (`parent`) is gone: killed with SIGKILL, it cannot stop us."""
    global _model, _error
    leave_with_parent(parent)
    try:
        _model = load_model(spec)
    except (ValueError, OSError) as err:
        _error = str(err)  # said by the first call, in the daemon's own words
    return_freed_memory()  # the model file's parse is scratch once the weights are packed


def _loaded() -> Model:
    if _model is None:
        raise ValueError(_error or "the scoring worker has no model")
    return _model


def probabilities(texts: Sequence[str]) -> tuple[str, list[float]]:
    model = _loaded()
    return model.version, model.probabilities(texts)


def predict(texts: Sequence[str]) -> tuple[str, list[Probs]]:
    model = _loaded()
    return model.version, model.predict(texts)


def imported_modules() -> list[str]:
    """The worker's own view of what it imported (for the test that keeps it lean)."""
    return sorted(sys.modules)
