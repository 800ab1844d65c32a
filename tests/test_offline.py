"""``opentrust.offline.hub_offline`` switches the Hugging Face libraries offline even when they were imported before
it was called (they read the environment once, at import)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, socket, sys
for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.pop(k, None)
import huggingface_hub                      # imported first, online, as a benchmark importing TRL would
from huggingface_hub import constants
assert not constants.is_offline_mode()
from opentrust.offline import hub_offline
hub_offline()
assert constants.is_offline_mode()
looked_up = []
def audit(event, args):
    if event in ("socket.getaddrinfo", "socket.connect"):
        looked_up.append(args[0])
sys.addaudithook(audit)
try:
    huggingface_hub.hf_hub_download("opentrust-test/no-such-model", "config.json")
except Exception as exc:
    print(type(exc).__name__)
print("lookups", looked_up)
"""


def test_hub_offline_applies_to_libraries_imported_before_it() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "lookups []" in out.stdout, out.stdout
