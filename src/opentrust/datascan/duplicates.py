"""Exact duplicates by a hash of the normalised row, near-duplicates by MinHash with LSH banding.

Exact: the row's text fields joined, lower-cased, whitespace collapsed, hashed (BLAKE2b, 8 bytes); a row whose
hash was seen before is a duplicate of the first row with it.

Near: each row of at least ``MIN_TOKENS`` words becomes the set of its word 5-grams; ``NUM_PERM`` MinHash
values estimate the Jaccard similarity of two sets, and LSH with ``BANDS`` bands of ``ROWS`` values makes pairs
above ~0.8 meet in a bucket. A candidate pair is reported when its estimated Jaccard (the share of equal MinHash
values) is at least ``THRESHOLD``. Signatures are computed for a whole batch of rows with numpy (the
benchmark compares this with ``datasketch``, which does one row at a time, on the same rows).

Memory is bounded whatever the input size: the first ``MAX_EXACT`` (2.9 million) rows' hashes and the first
``MAX_NEAR`` (85,000) long rows' signatures are indexed, in flat arrays (at most 64 MB for the hashes, 32 MB for
the LSH buckets, 44 MB for the signatures); later rows are still checked against them, and the result says how
many were indexed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from opentrust.datascan import ngrams

NUM_PERM = 64
BANDS = 16
ROWS = 4  # BANDS * ROWS == NUM_PERM; pairs of Jaccard s meet with probability 1-(1-s^4)^16 (0.8 -> 0.999)
SHINGLE = 5
MIN_TOKENS = 8
THRESHOLD = 0.8
EXACT_SLOTS = 1 << 22  # open-addressing table: 4M slots x 16 bytes = 64 MB, filled to 70% at most
BUCKET_SLOTS = 1 << 21  # LSH buckets of every band in one table: 2M slots, 32 MB
MAX_EXACT = int(EXACT_SLOTS * 0.7)
MAX_NEAR = int(BUCKET_SLOTS * 0.65) // BANDS  # rows whose signatures are kept (64 values x 8 bytes each)
MAX_EXAMPLES = 10
BATCH = 1024
_WS = re.compile(r"\s+")


class IntTable:
    """A hash table from 64-bit keys to 64-bit values in two flat arrays (linear probing): 16 bytes a slot, where a
    dict of ints costs about 100. It starts small and doubles up to ``max_slots``; callers stop inserting at 70%."""

    def __init__(self, max_slots: int, slots: int = 1 << 14):
        self.max_slots = max_slots
        self.size = 0
        self._alloc(min(slots, max_slots))

    def _alloc(self, slots: int) -> None:
        from array import array

        self.mask = slots - 1
        self.keys = array("Q", bytes(8 * slots))
        self.values = array("Q", bytes(8 * slots))

    def _slot(self, key: int) -> int:
        """Where ``key`` is, or the empty slot where it would go."""
        keys, mask, i = self.keys, self.mask, key & self.mask
        while keys[i] and keys[i] != key:
            i = (i + 1) & mask
        return i

    def get(self, key: int) -> int | None:
        i = self._slot(key or 1)
        return self.values[i] if self.keys[i] else None

    def setdefault(self, key: int, value: int) -> int:
        """The value stored under ``key``, storing ``value`` first when there is none."""
        key = key or 1
        i = self._slot(key)
        if self.keys[i]:
            return self.values[i]
        self.keys[i] = key
        self.values[i] = value
        self.size += 1
        if self.size > 0.7 * (self.mask + 1) and self.mask + 1 < self.max_slots:
            self._grow()
        return value

    def _grow(self) -> None:
        old_keys, old_values = self.keys, self.values
        self._alloc(2 * (self.mask + 1))
        keys, values, mask = self.keys, self.values, self.mask
        for k, v in zip(old_keys, old_values):
            if k:
                i = k & mask
                while keys[i]:
                    i = (i + 1) & mask
                keys[i] = k
                values[i] = v


@dataclass
class Location:
    file: int
    row: int


@dataclass
class DuplicateStats:
    rows: int = 0
    exact: int = 0
    near: int = 0
    near_checked: int = 0  # rows long enough for the near-duplicate check
    exact_indexed: int = 0
    near_indexed: int = 0
    exact_examples: list[tuple[Location, Location]] = field(default_factory=list)
    near_examples: list[tuple[Location, Location, float]] = field(default_factory=list)


class Deduplicator:
    def __init__(self, near: bool = True, seed: int = 1):
        import numpy as np

        self.stats = DuplicateStats()
        self._exact = IntTable(EXACT_SLOTS)
        self._locs: list[tuple[int, int]] = []  # near index -> (file, row)
        self._near = near
        rng = np.random.default_rng(seed)
        self._a = rng.integers(0, 1 << 63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._b = rng.integers(0, 1 << 63, size=NUM_PERM, dtype=np.uint64)
        self._sigs = np.zeros((0, NUM_PERM), dtype=np.uint64)
        self._sig_rows = 0
        self._buckets = IntTable(BUCKET_SLOTS)  # key: hash of (band, the band's values); value: index row + 1
        self._pending: list[tuple[int, int, list[int]]] = []

    # -- rows --------------------------------------------------------------------------------------------
    def add(self, file: int, row: int, text: str, token_hashes: list[int] | None = None) -> None:
        """One row (its text fields joined). ``token_hashes``: its word hashes when the caller has them."""
        st = self.stats
        st.rows += 1
        lower = text.lower()
        norm = _WS.sub(" ", lower).strip()
        if not norm:
            return
        key = int.from_bytes(hashlib.blake2b(norm.encode("utf-8", "replace"), digest_size=8).digest(), "little")
        first = self._exact.get(key)
        packed = (file << 40) | row
        if first is not None:
            st.exact += 1
            if len(st.exact_examples) < MAX_EXAMPLES:
                st.exact_examples.append((Location(first >> 40, first & ((1 << 40) - 1)), Location(file, row)))
            return  # an exact duplicate is not counted again as near
        if self._exact.size < MAX_EXACT:
            self._exact.setdefault(key, packed)
            st.exact_indexed += 1
        if self._near:
            toks = token_hashes if token_hashes is not None else ngrams.token_hashes(ngrams.TOKEN.findall(lower))
            if len(toks) >= MIN_TOKENS:
                self._pending.append((file, row, toks))
                if len(self._pending) >= BATCH:
                    self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        import numpy as np

        pending, self._pending = self._pending, []
        sigs = self._signatures([p[2] for p in pending])
        st = self.stats
        for (file, row, _), sig in zip(pending, sigs):
            st.near_checked += 1
            best: tuple[int, float] | None = None
            seen: set[int] = set()
            keys = [int.from_bytes(hashlib.blake2b(sig[i * ROWS:(i + 1) * ROWS].tobytes(), digest_size=8,
                                                   person=bytes([i])).digest(), "little") for i in range(BANDS)]
            for key in keys:
                found = self._buckets.get(key)
                if found is None or found - 1 in seen:
                    continue
                other = found - 1
                seen.add(other)
                est = float(np.mean(self._sigs[other] == sig))
                if est >= THRESHOLD and (best is None or est > best[1]):
                    best = (other, est)
            if best is not None:
                st.near += 1
                if len(st.near_examples) < MAX_EXAMPLES:
                    f0, r0 = self._locs[best[0]]
                    st.near_examples.append((Location(f0, r0), Location(file, row), round(best[1], 3)))
                continue
            if self._sig_rows < MAX_NEAR:
                idx = self._sig_rows
                if idx >= len(self._sigs):
                    grown = np.zeros((min(MAX_NEAR, max(1024, len(self._sigs) * 2)), NUM_PERM), dtype=np.uint64)
                    grown[: len(self._sigs)] = self._sigs
                    self._sigs = grown
                self._sigs[idx] = sig
                self._locs.append((file, row))
                self._sig_rows += 1
                st.near_indexed += 1
                for key in keys:
                    self._buckets.setdefault(key, idx + 1)

    def _signatures(self, rows: list[list[int]]) -> Any:
        """MinHash signatures (len(rows) x NUM_PERM) of the word 5-gram sets of ``rows``, all at once."""
        import numpy as np

        arr, starts = ngrams.batch_array(rows)
        h = ngrams.ngram_hashes(arr, SHINGLE)
        ends = starts[1:] + [len(arr)]
        # the shingles of row i are h[starts[i] : ends[i] - SHINGLE] (those before its separator)
        idx = np.concatenate([np.arange(s, max(s + 1, e - SHINGLE)) for s, e in zip(starts, ends)])
        seg = np.array([max(1, e - SHINGLE - s) for s, e in zip(starts, ends)])
        vals = h[np.minimum(idx, len(h) - 1)]
        offsets = np.concatenate(([0], np.cumsum(seg)[:-1]))
        # multiply-shift hashing (a odd): h_k(x) = (a_k * x + b_k mod 2^64) >> 32, 16 permutations at a time and
        # in place (all 64 at once took three temporaries of 64 x shingles x 8 bytes: 150 MB for a batch)
        out = np.empty((len(rows), NUM_PERM), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k in range(0, NUM_PERM, 16):
                perm = np.multiply(self._a[k:k + 16, None], vals[None, :])
                perm += self._b[k:k + 16, None]
                perm >>= np.uint64(32)
                out[:, k:k + 16] = np.minimum.reduceat(perm, offsets, axis=1).T
        return out

    def result(self) -> DuplicateStats:
        self.flush()
        return self.stats
