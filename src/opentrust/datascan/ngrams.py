"""Word tokens and their n-grams as 64-bit hashes, computed for a whole batch of rows at once with numpy.

Tokens are lower-cased runs of letters and digits (``\\w+``). A token's hash is its CRC-32 (stable across runs
and machines, unlike Python's ``hash``), cached for frequent words. An n-gram's hash is a polynomial in its
token hashes modulo 2**64, so all n-grams of a batch come from n vector operations. Rows are joined with a
separator token that no n-gram of real text contains, so no n-gram crosses from one row into the next.
"""

from __future__ import annotations

import re
import zlib
from typing import Any, Iterable

TOKEN = re.compile(r"\w+")
SEPARATOR = 0xFFFF_FFFF_FFFF  # above any CRC-32: never a word's hash
_MULT = 0x9E37_79B9_7F4A_7C15  # odd 64-bit constant (golden ratio)
_CACHE: dict[str, int] = {}
_CACHE_MAX = 200_000  # about 25 MB of frequent words


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def token_hashes(words: Iterable[str]) -> list[int]:
    cache = _CACHE
    out = []
    for w in words:
        h = cache.get(w)
        if h is None:
            h = zlib.crc32(w.encode("utf-8", "replace")) + 1
            if len(cache) < _CACHE_MAX:
                cache[w] = h
        out.append(h)
    return out


def batch_array(rows: Iterable[list[int]]) -> tuple[Any, list[int]]:
    """Token hashes of several rows as one uint64 array with SEPARATOR between rows, and each row's start."""
    import numpy as np

    flat: list[int] = []
    starts: list[int] = []
    for r in rows:
        starts.append(len(flat))
        flat.extend(r)
        flat.append(SEPARATOR)
    return np.asarray(flat, dtype=np.uint64), starts


def ngram_hashes(arr: Any, n: int) -> Any:
    """Hash of every n-gram of ``arr`` (length len(arr)-n+1; empty when shorter). An n-gram containing the
    separator gets a hash with the top bit forced on, which no separator-free n-gram hash has."""
    import numpy as np

    m = len(arr) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    mult = np.uint64(_MULT)
    with np.errstate(over="ignore"):
        h = arr[:m].copy()
        for k in range(1, n):
            h = h * mult + arr[k: k + m]
        h ^= h >> np.uint64(29)
        h &= np.uint64(0x7FFF_FFFF_FFFF_FFFF)
        sep = arr == np.uint64(SEPARATOR)
        if sep.any():
            # any separator inside the window: mark the window (cumulative count of separators)
            c = np.concatenate(([0], np.cumsum(sep, dtype=np.int64)))
            crossing = (c[n: n + m] - c[:m]) > 0
            h[crossing] |= np.uint64(0x8000_0000_0000_0000)
    return h


def ngram_hash(hashes: list[int], n: int) -> int:
    """The hash ``ngram_hashes`` gives the first n-gram of ``hashes`` (for building indexes in Python)."""
    import numpy as np

    return int(ngram_hashes(np.asarray(hashes[:n], dtype=np.uint64), n)[0])
