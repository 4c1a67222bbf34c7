"""Property-based fuzzing of every route from the server's own OpenAPI schema (schemathesis),
against a real ``mammo-server serve`` process over HTTPS on a real PostgreSQL database.

Each generated request (valid and deliberately invalid bodies, parameters and headers) is sent
once with an administrator's token and once with a radiologist's. Whatever the input, the
server must answer without a 500, in the one error shape when it refuses, with a status code,
content type, headers and body its schema declares.

The number of examples per route is bounded (``FUZZ_EXAMPLES``, default 25) so the module ends
in a minute or two on two cores; raise it for a deeper run:
``MAMMO_FUZZ_EXAMPLES=500 pytest tests/server/test_fuzz.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis
from pydantic import ValidationError
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.contracts import ErrorPublic
from server.main import create_app
from tests.e2e.sync_support import PASSWORD, ServerProcess, create_user, throwaway_database
from tests.server import factories, pg

pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = int(os.environ.get("MAMMO_FUZZ_EXAMPLES", "25"))

# Cheap Argon2 (the fuzzer creates accounts) and no per-address login throttle (the fuzzer's
# failed logins would otherwise lock out the test's own). Both are covered by their own tests.
SERVER_SETTINGS = {
    "password_time_cost": "1",
    "password_memory_kib": "8",
    "login_max_failures_per_address": "1000000",
}


@dataclass
class Target:
    server: ServerProcess
    http: requests.Session
    admin: str
    radiologist: str

    def token(self, username: str) -> str:
        response = self.http.post(
            f"{self.server.url}/auth/login",
            json={"username": username, "password": PASSWORD},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    try:
        url = throwaway_database("mammo_fuzz")
    except pg.PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    server = ServerProcess(tmp_path_factory.mktemp("fuzz-server"), url, **SERVER_SETTINGS)
    try:
        create_user(url, "fuzz-admin", role="admin")
        create_user(url, "fuzz-reader")
        server.start()
        # Schemathesis's checks send requests of their own (without the token, with another
        # method): trusting the test CA through the environment reaches those too.
        with pytest.MonkeyPatch.context() as patch, requests.Session() as http:
            patch.setenv("REQUESTS_CA_BUNDLE", str(server.certs.ca))
            yield Target(server, http, admin="fuzz-admin", radiologist="fuzz-reader")
    finally:
        server.stop()
        pg.drop_database(url)


def _load_schema():
    # The schema the server serves in development (production hides /openapi.json); the app is
    # only asked for its schema here, it never connects to anything.
    app = create_app(factories.make_settings("postgresql+psycopg2://unused@127.0.0.1/unused"))
    loaded = schemathesis.openapi.from_dict(app.openapi())
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=FUZZ_EXAMPLES,
        database="none",
        # The test sends the tokens itself; schemathesis's own ignored_auth check still sends
        # requests without them. Unknown query parameters are ignored, as HTTP allows.
        with_security_parameters=False,
        allow_extra_parameters=False,
    )
    return loaded


schema = _load_schema()


def one_error_shape(ctx, response, case) -> None:
    """Every refusal is ``{"error": {"code", "message", "detail"}}`` with a message."""
    if response.status_code < 400:
        return
    try:
        error = ErrorPublic.model_validate_json(response.content).error
    except ValidationError as exc:
        raise AssertionError(
            f"HTTP {response.status_code} is not in the error shape: {response.content[:300]!r}"
        ) from exc
    assert error.code and error.message, response.content[:300]


def valid_input_is_refused_only_on_its_merits(ctx, response, case) -> None:
    """A request the schema calls valid may still be refused for what it says (a cursor this
    server never made, an amendment of nothing: 422 ``invalid_input``), never as malformed
    (422 ``validation_error`` would mean the schema and the server disagree). Replaces
    schemathesis's own check, which counts every 422 for valid input as a failure."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return
    code = ErrorPublic.model_validate_json(response.content).error.code
    assert code == "invalid_input", f"valid input refused as malformed: {response.text[:500]}"


@pytest.fixture(scope="module")
def tokens(target: Target) -> dict[str, str]:
    return {name: target.token(name) for name in (target.admin, target.radiologist)}


@schema.parametrize()
def test_no_input_gives_a_500_another_error_shape_or_an_undeclared_answer(case, target, tokens):
    # /auth/logout revokes the token it is called with: give it one of its own.
    logout = case.path == "/auth/logout"
    for username in (target.admin, target.radiologist):
        token = target.token(username) if logout else tokens[username]
        headers = {"Authorization": f"Bearer {token}"}
        response = case.call(base_url=target.server.url, session=target.http, headers=headers)
        case.validate_response(
            response,
            additional_checks=[one_error_shape, valid_input_is_refused_only_on_its_merits],
            excluded_checks=[positive_data_acceptance],
            headers=headers,
        )


def test_the_fuzzed_server_logged_no_unhandled_error(target) -> None:
    # Runs after the fuzzing above (file order): a 500 the checks missed would be logged here.
    log = Path(target.server.log).read_text()
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]
