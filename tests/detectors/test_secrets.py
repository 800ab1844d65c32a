"""Secrets: provider tokens by prefix and shape, generic assignments only when the value looks random,
placeholders never."""

from __future__ import annotations

import pytest

from opentrust.detectors import get_detector
from opentrust.detectors.secrets import RULES, SecretsDetector, find_secrets, shannon_entropy

# Built at run time so that no scanner flags this test file as leaking real keys.
GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
AWS = "AKIA" + "Z7QW3ERT5YUI2OPL"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
SLACK = "xoxb-" + "2948127340-2949128374012-Zq8fKd93LmPq02XcVb7N"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq9\nQk3nZ0x\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    "kind,text,value",
    [
        ("github_token", f"export GITHUB_TOKEN={GH}", GH),
        ("aws_access_key_id", f"aws_access_key_id = {AWS}", AWS),
        ("stripe_key", f"stripe.api_key = '{STRIPE}'", STRIPE),
        ("slack_token", f"SLACK_BOT={SLACK}", SLACK),
        ("private_key", f"here it is:\n{PEM}\nbye", PEM),
        ("connection_string_password", "DATABASE_URL=postgres://app:Tr0ub4dor-9xQ@db.internal:5432/main",
         "Tr0ub4dor-9xQ"),
        ("generic_secret_assignment", 'api_key = "q8Zr3xT0vLp9Wm2K"', "q8Zr3xT0vLp9Wm2K"),
    ],
)
def test_finds_each_kind_with_its_exact_span(kind: str, text: str, value: str) -> None:
    found = find_secrets(text)
    assert [(m.kind, m.value) for m in found] == [(kind, value)]
    assert text[found[0].start:found[0].end] == value
    d = SecretsDetector().detect("", text)
    assert d.label == "secret" and kind in d.reason and value not in d.reason  # the reason masks the value


@pytest.mark.parametrize(
    "text",
    [
        'password = "changeme"',  # low entropy, a known placeholder
        "api_key = <your-api-key>",
        "token: ${GITHUB_TOKEN}",
        "AKIAIOSFODNN7EXAMPLE",  # AWS's documentation key
        "secret = xxxxxxxxxxxxxxxx",
        "The password must be at least twelve characters long.",
        "postgres://localhost:5432/db",
        "",
    ],
)
def test_placeholders_and_prose_are_not_secrets(text: str) -> None:
    assert find_secrets(text) == [], find_secrets(text)


def test_keyword_prefilter_and_kinds_filter() -> None:
    assert all(r.keywords and all(k == k.lower() for k in r.keywords) for r in RULES)
    text = f"{GH} and {AWS}"
    assert {m.kind for m in find_secrets(text)} == {"github_token", "aws_access_key_id"}
    only = SecretsDetector(kinds=["aws_access_key_id"])
    assert "github" not in only.detect("", text).reason and only.detect("", GH).label == "clean"


def test_entropy() -> None:
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)


def test_registered() -> None:
    assert get_detector("secrets").detect("", GH).label == "secret"
