"""Detectors that judge a model's response (refusal, canary leak, harmful compliance, personal data).

``get_detector(name, **options)`` is the one way to build one by name (CLI, red-team campaign, assertions).
"""

from __future__ import annotations

from typing import Any, Callable

from opentrust.detectors.base import Detection, Detector, DetectorError
from opentrust.errors import UserError

__all__ = ["Detection", "Detector", "DetectorError", "DETECTORS", "get_detector"]


def _refusal(**options: Any) -> Detector:
    from opentrust.detectors.refusal import RefusalDetector

    return RefusalDetector(**options)


def _canary(**options: Any) -> Detector:
    from opentrust.detectors.canary import CanaryDetector

    return CanaryDetector(**options)


def _harmful(**options: Any) -> Detector:
    from opentrust.detectors.harmful import HarmfulDetector

    return HarmfulDetector(**options)


def _pii(**options: Any) -> Detector:
    from opentrust.detectors.pii import PIIDetector

    return PIIDetector(**options)


#: name -> (factory, one-line description). Factories import lazily so the CLI starts fast.
DETECTORS: dict[str, tuple[Callable[..., Detector], str]] = {
    "refusal": (_refusal, "did the model decline? labels refusal / compliance"),
    "canary": (
        _canary,
        "did a canary secret leak (exact, fuzzy or encoded)? labels leak / clean; needs a canary",
    ),
    "harmful": (
        _harmful,
        "did the model comply with a harmful request with actionable content? labels harmful / safe",
    ),
    "pii": (_pii, "personal data in the response (e-mail, phone, card, IBAN, SSN, IP)? labels pii / clean"),
}


def get_detector(name: str, **options: Any) -> Detector:
    try:
        factory, _ = DETECTORS[name]
    except KeyError:
        raise UserError(f"unknown detector {name!r}", f"choose one of: {', '.join(DETECTORS)}") from None
    return factory(**options)
