"""What runs inside the daemon's scoring worker process, and nothing else.

The worker is spawned, so it imports only what its functions need: this module and the
model (nlp.sentiment), not the daemon's HTTP, SQLite, chat and digest libraries. Keep it so;
`tests/test_scorer.py` checks the worker's modules.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence

from monitor.runtime.memory import return_freed_memory
from nlp.sentiment import Model, Probs, load_model

_model: Model | None = None
_error: str | None = None


def start(spec: str) -> None:
    """The pool's initializer: load the model once (a failure is said by the first call)."""
    global _model, _error
    try:
        _model = load_model(spec)
    except (ValueError, OSError) as err:
        _error = str(err)  # said by the first call, in the daemon's own words
    return_freed_memory()  # the model file's parse is scratch once the weights are packed
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A daemon killed with SIGKILL cannot stop its worker: the worker notices and leaves."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


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
