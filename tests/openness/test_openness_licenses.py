"""Licence identification (real licence texts) and the MOT licence policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.openness.helpers import mit_text

from opentrust.openness import licenses as lic

COMMON = Path("/usr/share/common-licenses")


@pytest.mark.parametrize("name,expected_id,category", [
    ("apache-2.0", "Apache-2.0", "open"),          # Hugging Face spelling
    ("Apache 2.0", "Apache-2.0", "open"),
    ("MIT License", "MIT", "open"),
    ("CC-BY-4.0", "CC-BY-4.0", "open"),            # open-data licence
    ("CDLA-Permissive-2.0", "CDLA-Permissive-2.0", "open"),
    ("OpenMDW-1.0", "OpenMDW-1.0", "open"),
    ("GPL-3.0-only", "GPL-3.0-only", "open"),
    ("CC-BY-NC-4.0", "CC-BY-NC-4.0", "not-open"),
    ("Apache-2.0 OR CC-BY-NC-4.0", "Apache-2.0 OR CC-BY-NC-4.0", "open"),
    ("MIT AND CC-BY-NC-4.0", "MIT AND CC-BY-NC-4.0", "not-open"),
    ("GPL-2.0-only WITH Classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0", "open"),
    ("gemma", "LicenseRef-scancode-gemma-tou-2024-04-01", "restricted"),
    ("llama3.1", "LicenseRef-scancode-llama-3.1-license-2024", "restricted"),
    ("Llama 2 Community License", "LicenseRef-scancode-llama-2-license-2023", "restricted"),
    ("creativeml-openrail-m", "LicenseRef-scancode-bigscience-open-rail-m", "restricted"),
    ("tongyi-qianwen", "LicenseRef-scancode-tongyi-qianwen-2023", "restricted"),
    ("other", "other", "unknown"),
])
def test_describe(name: str, expected_id: str, category: str) -> None:
    info = lic.describe(name)
    assert (info.id, info.category) == (expected_id, category)


def test_restricted_licences_carry_their_notable_restrictions() -> None:
    kinds = {r["kind"] for r in lic.describe("llama3").restrictions}
    assert {"user-cap", "naming", "attribution", "use-restrictions"} <= kinds
    assert any("700 million" in r["text"] for r in lic.describe("llama3.2").restrictions)
    assert {r["kind"] for r in lic.describe("openrail").restrictions} >= {"use-restrictions", "flow-down"}


def test_mot_openness_is_exact_and_case_sensitive() -> None:
    assert lic.is_open_id("Apache-2.0") and not lic.is_open_id("apache-2.0")  # the MOT compares ids exactly
    assert lic.is_open_id("CC-BY-SA-2.0-UK") and not lic.is_open_id("softSurfer")
    assert lic.is_type_appropriate("CC-BY-4.0", "document") and not lic.is_type_appropriate("MIT", "data")


def test_mit_text_is_identified_from_its_text() -> None:
    match = lic.identify_text(mit_text())
    assert match.ids == ["MIT"] and match.method == "spdx-text"


@pytest.mark.skipif(not COMMON.is_dir(), reason="Debian's /usr/share/common-licenses is not on this machine")
@pytest.mark.parametrize("file,spdx", [("Apache-2.0", "Apache-2.0"), ("GPL-3", "GPL-3.0"), ("MPL-2.0", "MPL-2.0")])
def test_real_licence_files_are_identified(file: str, spdx: str) -> None:
    match = lic.identify_text((COMMON / file).read_text())
    assert match.ids and match.ids[0].startswith(spdx)


def test_a_mention_is_not_a_licence_text() -> None:
    assert lic.identify_text("This project is released under the MIT license. See LICENSE.").ids == []


def test_custom_model_licence_is_recognised_by_its_title(tmp_path: Path) -> None:
    page = tmp_path / "TERMS.html"
    page.write_text("<html><head><style>p{}</style><script>var x='Llama';</script></head><body>"
                    "<h1>META LLAMA 3 COMMUNITY LICENSE AGREEMENT</h1><p>Meta Llama 3 Version Release Date: "
                    "April 18, 2024</p></body></html>")
    match = lic.identify_text(lic.read_text(page))
    assert match.ids == ["LicenseRef-scancode-llama-license-2023"] and match.method == "title"


def test_licence_reads_are_bounded(tmp_path: Path) -> None:
    big = tmp_path / "LICENSE"
    big.write_bytes(b"A" * (lic.MAX_LICENSE_BYTES * 3))
    assert len(lic.read_text(big)) == lic.MAX_LICENSE_BYTES
    assert lic.identify_text(lic.read_text(big)).ids == []
