"""``mammo pacs``: echo, query, retrieve and send against a real Orthanc, configured as IT
would, through MAMMO_PACS_* variables; and the exit codes."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from app.cli import main
from core.pacs import PacsConfig
from core.settings import load_settings
from core.store import Store
from tests.mg_factory import MgExam
from tests.orthanc import OrthancServer, free_port
from tests.pacs_support import COMPREHENSIVE_SR, SECONDARY_CAPTURE, sign_breasts


@pytest.fixture
def pacs_env(isolated_env: Path, pacs_config: PacsConfig, monkeypatch: pytest.MonkeyPatch
             ) -> Path:
    monkeypatch.setenv("MAMMO_DATA_DIR", str(isolated_env / "data"))
    for key, value in {"HOST": pacs_config.host, "PORT": pacs_config.port,
                       "CALLED_AE": pacs_config.called_ae,
                       "CALLING_AE": pacs_config.calling_ae,
                       "RECEIVE_PORT": pacs_config.receive_port}.items():
        monkeypatch.setenv(f"MAMMO_PACS_{key}", str(value))
    return isolated_env


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_echo_answers_and_says_which_pacs(pacs_env: Path, pacs_config: PacsConfig,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pacs", "echo")
    assert code == 0 and pacs_config.peer in out


def test_echo_without_a_configured_pacs_says_what_to_set(isolated_env: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    code, _, err = run(capsys, "pacs", "echo")
    assert code == 1 and "No PACS is configured" in err and "pacs_host" in err


def test_echo_to_a_closed_port_fails_with_one_clear_line(pacs_env: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    monkeypatch.setenv("MAMMO_PACS_PORT", str(free_port()))
    code, _, err = run(capsys, "pacs", "echo")
    assert code == 1 and "cannot be reached" in err and "Traceback" not in err


def test_query_prints_one_json_row_per_matching_study(pacs_env: Path,
                                                      filled_orthanc: OrthancServer,
                                                      mg_exams: list[MgExam],
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    code, out, _ = run(capsys, "pacs", "query", "--json", "--date-from", "2026-11-03")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(r["study_uid"], r["patient_id"], r["accession"], r["retrieved"]) for r in rows] \
        == [(mg_exams[1].study_uid, "MG-0002", "ACC1002", False)]


def test_retrieve_reads_the_studies_as_exams_and_send_waits_for_the_signature(
        pacs_env: Path, filled_orthanc: OrthancServer, mg_exams: list[MgExam],
        tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uids = [e.study_uid for e in mg_exams]
    code, out, err = run(capsys, "pacs", "retrieve", *uids, "--json", "--model",
                         str(tiny_model_dir))
    assert code == 0, err
    exams = [json.loads(line) for line in out.splitlines()]
    assert [e["exam"] for e in exams] == uids
    assert all(len(e["breasts"]["L"]["views"]) == 2 and len(e["breasts"]["R"]["views"]) == 2
               and e["score"] is not None for e in exams)

    code, _, err = run(capsys, "pacs", "send", uids[0], "--model", str(tiny_model_dir))
    assert code == 2 and "only after the reader has signed" in err
    assert filled_orthanc.instances_of_study(uids[0])[4:] == []  # the 4 images, nothing more

    with Store.open(load_settings().store_path) as store:
        me = store.ensure_user(getpass.getuser())
        sign_breasts(store, uids[0], user_id=me, birads={"L": "1", "R": "3"})
    code, out, err = run(capsys, "pacs", "send", uids[0], "--model", str(tiny_model_dir))
    assert code == 0, err
    assert "5 of 5 results sent to" in out
    classes = [i["SOPClassUID"] for i in filled_orthanc.instances_of_study(uids[0])]
    assert classes.count(COMPREHENSIVE_SR) == 1 and classes.count(SECONDARY_CAPTURE) == 4


def test_retrieve_of_one_unknown_study_among_good_ones_exits_2(
        pacs_env: Path, filled_orthanc: OrthancServer, mg_exams: list[MgExam],
        tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "pacs", "retrieve", mg_exams[0].study_uid, "1.2.3.4.5",
                         "--model", str(tiny_model_dir))
    assert code == 2
    assert "holds no mammograms for study 1.2.3.4.5" in err
    assert out.startswith(f"exam {mg_exams[0].study_uid}")


def test_retrieve_from_a_pacs_that_cannot_send_here_exits_1(
        pacs_env: Path, filled_orthanc: OrthancServer, mg_exams: list[MgExam],
        tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MAMMO_PACS_CALLED_AE", "WRONGAE")
    code, _, err = run(capsys, "pacs", "retrieve", mg_exams[0].study_uid, "--model",
                       str(tiny_model_dir))
    assert code == 1 and "pacs_called_ae = WRONGAE" in err
