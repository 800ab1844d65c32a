"""Nothing is downloaded at run time. The Hugging Face libraries we load local models with (transformers, peft,
sentence-transformers) look things up on the Hub unless told not to — peft's ``save_pretrained`` asks whether the
base model's config exists there — so every path into them calls ``hub_offline`` first."""

from __future__ import annotations

import os
import sys

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def hub_offline() -> None:
    """Switch the Hugging Face libraries of this process to offline mode. The environment is read once, when
    ``huggingface_hub`` (or ``datasets``) is imported: a library imported before this call (a benchmark importing
    TRL first, a plugin) would otherwise stay online, so the flags already read are set too."""
    os.environ.update(OFFLINE_ENV)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # is_offline_mode() and every request check read this module global
        constants.HF_HUB_OFFLINE = True
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        datasets_config.HF_HUB_OFFLINE = True
        datasets_config.HF_DATASETS_OFFLINE = True
