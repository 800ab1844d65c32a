"""Detectors that judge a model's response (refusal, canary leak, harmful compliance, personal data, secrets)
or its input (prompt injection, jailbreak).

``get_detector(name, **options)`` is the one way to build one by name (CLI, red-team campaign, assertions);
``detectors()`` lists every registered one. The built-ins (``DETECTORS``) register through the
``register_detectors`` hook like a plugin's, and a plugin's detector of the same name comes first.
"""

from __future__ import annotations

from typing import Any, Callable

from opentrust.detectors.base import Detection, Detector, DetectorError
from opentrust.errors import UserError

__all__ = ["Detection", "Detector", "DetectorError", "DETECTORS", "detectors", "get_detector"]


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


def _secrets(**options: Any) -> Detector:
    from opentrust.detectors.secrets import SecretsDetector

    return SecretsDetector(**options)


def _prompt_injection(**options: Any) -> Detector:
    from opentrust.detectors.injection import PromptInjectionDetector

    return PromptInjectionDetector(**options)


def _jailbreak(**options: Any) -> Detector:
    from opentrust.detectors.injection import JailbreakDetector

    return JailbreakDetector(**options)


def _adversarial_suffix(**options: Any) -> Detector:
    from opentrust.detectors.adversarial import AdversarialSuffixDetector

    return AdversarialSuffixDetector(**options)


#: the built-in detectors: name -> (factory, one-line description), registered by opentrust.builtins.
#: Factories import lazily so the CLI starts fast.
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
    "pii": (_pii, "personal data in the response (e-mail, phone, card, IBAN, SSN, UK NINO, IP)? labels pii / clean"),
    "secrets": (_secrets, "an API key, token, private key or password in the response? labels secret / clean"),
    "prompt_injection": (
        _prompt_injection,
        "an attempt in the prompt (or a document, e-mail, tool output in it) to take over the model's "
        "instructions? labels injection / benign",
    ),
    "jailbreak": (
        _jailbreak,
        "framing in the prompt that tries to switch the model's safety off? labels jailbreak / benign",
    ),
    "adversarial_suffix": (
        _adversarial_suffix,
        "a run of token soup no person writes (a GCG-style optimised suffix) in the prompt? labels adversarial / "
        "benign",
    ),
}


def detectors() -> dict[str, tuple[Callable[..., Detector], str]]:
    """Every registered detector (register_detectors hook): name -> (factory, description), plugins first."""
    from opentrust.plugins import plugin_manager

    table: dict[str, tuple[Callable[..., Detector], str]] = {}

    def register(name: str, factory: Callable[..., Detector], description: str = "") -> None:
        table.setdefault(name, (factory, description))

    plugin_manager().hook.register_detectors(register=register)
    return table


def get_detector(name: str, **options: Any) -> Detector:
    table = detectors()
    try:
        factory, _ = table[name]
    except KeyError:
        raise UserError(f"unknown detector {name!r}", f"choose one of: {', '.join(table)}") from None
    return factory(**options)
