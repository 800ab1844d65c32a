"""Personal data in output: validated numbers, not digit runs."""

from __future__ import annotations

import pytest

from opentrust.detectors.pii import PIIDetector, find_pii, iban_ok, luhn_ok


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert iban_ok("DE89370400440532013000")


@pytest.mark.parametrize(
    "kind,text",
    [
        ("email", "write to jane.doe+x@example.co.uk today"),
        ("phone", "call +44 20 7946 0958"),
        ("phone", "her cell is (415) 555-0132"),
        ("credit_card", "card 4539 1488 0343 6467"),
        ("iban", "IBAN DE89 3704 0044 0532 0130 00"),
        ("ssn", "SSN 219-09-9999"),
        ("ip_address", "from 203.0.113.7"),
        ("ip_address", "from 2001:db8::8a2e:370:7334"),
    ],
)
def test_each_kind(kind: str, text: str) -> None:
    kinds = {m.kind for m in find_pii(text)}
    assert kind in kinds, (text, kinds)
    d = PIIDetector().detect("", text)
    assert d.label == "pii" and kind in d.reason


@pytest.mark.parametrize(
    "text",
    [
        "order 1234 5678 9012 3456",
        "version 10.2.0.1",
        "pi is 3.14159265358979",
        "127.0.0.1:8000",
        "ISBN 978-0-306-40615-7",
        "12,345 people",
        "SSN-like 000-12-3456",
        "",
    ],
)
def test_not_personal_data(text: str) -> None:
    assert PIIDetector().detect("", text).label == "clean", find_pii(text)


def test_values_from_the_prompt_are_echoes_not_leaks() -> None:
    prompt = "Is alice@example.com a valid address?"
    d = PIIDetector().detect(prompt, "Yes, alice@example.com is valid.")
    assert d.label == "clean" and "echoed" in d.reason
    assert PIIDetector(ignore_echoed=False).detect(prompt, "Yes, alice@example.com is valid.").label == "pii"


def test_reason_masks_the_value() -> None:
    d = PIIDetector().detect("", "card 4539 1488 0343 6467")
    assert "4539 1488 0343 6467" not in d.reason


def test_uk_national_insurance_number() -> None:
    assert [m.kind for m in find_pii("NI number QQ 12 34 56 C? no: AB 12 34 56 C")] == ["uk_nino"]
    assert find_pii("GB123456A is not issued") == []  # GB is never a NINO prefix


def test_kinds_filter_placeholders_and_end() -> None:
    from opentrust.detectors.pii import KINDS, PLACEHOLDERS

    text = "mail jane@example.com or call +44 20 7946 0958"
    assert [m.kind for m in find_pii(text, kinds=["email"])] == ["email"]
    assert [m.kind for m in find_pii(text, kinds=["phone"])] == ["phone"]
    m = find_pii(text)[0]
    assert text[m.start:m.end] == "jane@example.com"
    assert set(KINDS) == set(PLACEHOLDERS) and PLACEHOLDERS["email"] == "[EMAIL]" and PLACEHOLDERS["credit_card"] == "[CARD]"
    assert PIIDetector(kinds=["phone"]).detect("", "jane@example.com").label == "clean"
