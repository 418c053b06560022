"""Give memory that the C allocator keeps after a burst back to the system.

Building jieba's tries and loading the sentiment model allocate and free tens of MB once,
at start; glibc keeps freed heap pages for reuse, so a long-running process would carry them
for ever. `malloc_trim(0)` returns them. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def return_freed_memory() -> bool:
    """True if the allocator was asked to give freed pages back."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
