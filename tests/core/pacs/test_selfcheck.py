"""The self-test's PACS line: the libraries load with their data and name the PACS."""

from __future__ import annotations

from pathlib import Path

from core.pacs.selfcheck import check_pacs_support
from core.settings import load_settings


def test_the_pacs_line_says_a_report_can_be_made_and_which_pacs(isolated_env: Path) -> None:
    line = check_pacs_support(load_settings(pacs_host="pacs.example", pacs_called_ae="HOSP"))
    assert "a report can be made" in line and "HOSP at pacs.example:104" in line
    assert "no PACS configured" in check_pacs_support(load_settings())
