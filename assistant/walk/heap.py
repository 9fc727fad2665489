"""Memory that large mail leaves behind, handed back to the system where the C library keeps it.

glibc serves a large allocation (over its mmap threshold, 128 KB at start) with its own
mapping and unmaps it when freed. But each time it frees such a block it raises the
threshold to that block's size, up to 32 MB: after the first multi-megabyte mail, every
later one is carved out of the heap instead, and once freed stays in the process. A
daemon measured 68 MB free inside its heap after 2,000 mails, its resident memory
drifting up as the holes moved. Fixing the threshold keeps large mail in mappings of its
own; trimming after a batch returns whatever the heap holds free. Elsewhere than glibc
both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger("assistant.walk.heap")

M_MMAP_THRESHOLD = -3           # mallopt parameter number in glibc's malloc.h
LARGE_BYTES = 256 * 1024        # blocks from here up get a mapping of their own


@functools.lru_cache(maxsize=1)
def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def keep_large_blocks_apart() -> None:
    """Fix glibc's mmap threshold at LARGE_BYTES for this process (and those it forks)."""
    libc = _glibc()
    if libc is not None and not libc.mallopt(M_MMAP_THRESHOLD, LARGE_BYTES):
        log.warning("heap: glibc refused to fix its mmap threshold")


def give_back() -> None:
    """Return the heap's free pages to the system (glibc's malloc_trim)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
