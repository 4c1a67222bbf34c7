"""C-ECHO and C-FIND against a real Orthanc: connection problems become clear errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from core.errors import PacsError, PacsErrorKind
from core.pacs import PacsConfig, StudyQuery, echo, find_studies
from tests.mg_factory import MgExam
from tests.orthanc import OrthancServer, free_port


def test_echo_answers_when_the_pacs_is_up(pacs_config: PacsConfig) -> None:
    echo(pacs_config)


def test_echo_to_a_pacs_that_is_down_says_it_cannot_be_reached(pacs_config: PacsConfig,
                                                               orthanc: OrthancServer) -> None:
    orthanc.stop()
    with pytest.raises(PacsError) as caught:
        echo(pacs_config)
    assert caught.value.kind is PacsErrorKind.UNREACHABLE
    assert caught.value.transient
    assert "cannot be reached" in caught.value.message
    assert "pacs_host, pacs_port" in caught.value.message


def test_nothing_listening_on_the_port_is_unreachable(pacs_config: PacsConfig) -> None:
    config = dataclasses.replace(pacs_config, port=free_port())
    with pytest.raises(PacsError) as caught:
        echo(config)
    assert caught.value.kind is PacsErrorKind.UNREACHABLE


def test_a_wrong_called_ae_title_is_rejected_with_what_to_check(pacs_config: PacsConfig
                                                                ) -> None:
    config = dataclasses.replace(pacs_config, called_ae="NOTORTHANC")
    with pytest.raises(PacsError) as caught:
        echo(config)
    assert caught.value.kind is PacsErrorKind.REJECTED
    assert not caught.value.transient
    assert "pacs_called_ae = NOTORTHANC" in caught.value.message


def test_query_lists_the_mg_studies_with_their_details(pacs_config: PacsConfig,
                                                       filled_orthanc: OrthancServer,
                                                       mg_exams: list[MgExam]) -> None:
    studies = find_studies(pacs_config, StudyQuery())
    assert [s.study_uid for s in studies] == [e.study_uid for e in mg_exams]
    first = studies[0]
    assert (first.patient_id, first.patient_name, first.accession, first.study_date) == (
        "MG-0001", "Test^Alice", "ACC1001", "2026-11-02")
    assert first.modalities == ("MG",)
    assert first.image_count == 4


@pytest.mark.parametrize(("query", "patients"), [
    (StudyQuery(date_from=date(2026, 11, 3)), ["MG-0002"]),
    (StudyQuery(date_to=date(2026, 11, 2)), ["MG-0001"]),
    (StudyQuery(date_from=date(2026, 11, 2), date_to=date(2026, 11, 3)), ["MG-0001", "MG-0002"]),
    (StudyQuery(date_from=date(2026, 11, 4)), []),
    (StudyQuery(patient_id="MG-0002"), ["MG-0002"]),
    (StudyQuery(accession="ACC1001"), ["MG-0001"]),
    (StudyQuery(modality="CT"), []),
])
def test_query_filters_by_date_patient_accession_and_modality(
        pacs_config: PacsConfig, filled_orthanc: OrthancServer, query: StudyQuery,
        patients: list[str]) -> None:
    assert [s.patient_id for s in find_studies(pacs_config, query)] == patients


def test_a_query_from_an_ae_the_pacs_does_not_know_is_refused(pacs_config: PacsConfig,
                                                              filled_orthanc: OrthancServer
                                                              ) -> None:
    config = dataclasses.replace(pacs_config, calling_ae="STRANGER")
    with pytest.raises(PacsError) as caught:
        find_studies(config, StudyQuery())
    assert caught.value.kind is PacsErrorKind.REFUSED
    assert "STRANGER" in caught.value.message


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    from tests.server.stack import make_certificates

    folder = tmp_path / "tls"
    folder.mkdir()
    return make_certificates(folder)


def test_echo_over_tls_checks_the_pacs_certificate(start_orthanc: Callable[..., OrthancServer],
                                                   tls_files: tuple[Path, Path, Path],
                                                   pacs_config: PacsConfig,
                                                   tmp_path: Path) -> None:
    secure = start_orthanc(tls=tls_files)
    ca = tls_files[0]
    config = dataclasses.replace(pacs_config, port=secure.dicom_port, tls=True, ca_cert=ca)
    echo(config)
    other_ca = make_other_ca(tmp_path)
    with pytest.raises(PacsError) as untrusted:
        echo(dataclasses.replace(config, ca_cert=other_ca))
    assert "certificate" in untrusted.value.message and "ca_cert" in untrusted.value.message
    with pytest.raises(PacsError) as plain:
        echo(dataclasses.replace(config, tls=False))
    assert plain.value.kind is PacsErrorKind.UNREACHABLE
    assert "pacs_tls = true" in plain.value.message


def make_other_ca(tmp_path: Path) -> Path:
    from tests.server.stack import make_certificates

    folder = tmp_path / "other-ca"
    folder.mkdir()
    return make_certificates(folder)[0]
