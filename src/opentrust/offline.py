"""Nothing is downloaded at run time. The Hugging Face libraries we load local models with (transformers, peft,
sentence-transformers) look things up on the Hub unless told not to — peft's ``save_pretrained`` asks whether the
base model's config exists there — so every path into them calls ``hub_offline`` first."""

from __future__ import annotations

import os

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def hub_offline() -> None:
    """Switch the Hugging Face libraries of this process to offline mode (read when they are imported and, for some
    checks, at each call)."""
    os.environ.update(OFFLINE_ENV)
