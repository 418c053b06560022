"""Import a library without one of its optional dependencies, when pingfan needs none of
what that dependency adds: a long-running process should not carry it.

`sys.modules[name] = None` makes `import name` raise ImportError, which is how these
libraries detect that the optional module is absent (sqlite-utils: numpy, about 12 MB that
only adds numpy column types; jieba: pkg_resources, about 6 MB, used only to find its own
files). If the module is already imported, nothing changes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without(*optional: str) -> Iterator[None]:
    hidden = [name for name in optional if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
