"""A real deployment on loopback for the end-to-end test and the bench: a throw-away
PostgreSQL database, a test CA and certificate, two ``mammo-server serve`` processes, and
nginx running ``server/deploy/nginx.conf`` with its ports and paths swapped for temporary ones.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.server import pg

REPO = Path(__file__).resolve().parents[2]
NGINX = Path(os.environ.get("MAMMO_TEST_NGINX", "/usr/sbin/nginx"))
SITE_CONF = REPO / "server" / "deploy" / "nginx.conf"
SECRET = "e2e-secret-" + "k" * 60


class StackError(RuntimeError):
    pass


def server_env(database_url: str, folder: Path, **settings: str) -> dict[str, str]:
    """Environment of a ``mammo-server`` process under test: production mode, this database,
    an empty config file in ``folder``, and ``settings`` as ``MAMMO_SERVER_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMMO_SERVER_")}
    env.update(
        MAMMO_SERVER_DATABASE_URL=database_url,
        MAMMO_SERVER_SECRET_KEY=SECRET,
        MAMMO_SERVER_ENVIRONMENT="production",
        MAMMO_SERVER_CONFIG_FILE=str(folder / "server.toml"),
        PYTHONPATH=str(REPO),
    )
    env.update({f"MAMMO_SERVER_{k.upper()}": v for k, v in settings.items()})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_certificates(
    folder: Path, *, issued_ago: dt.timedelta = dt.timedelta(days=1)
) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost, valid from ``issued_ago`` back
    (a day, as a hospital's would be; minutes, to meet a workstation clock that runs behind)
    for two days; returns (ca, cert, key) paths."""
    now = dt.datetime.now(dt.UTC)
    start = now - issued_ago
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mammo test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.crt", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return ca_path, cert_path, key_path


def render_site_conf(
    *, https_port: int, http_port: int, app_ports: tuple[int, int], cert: Path, key: Path
) -> str:
    """The shipped site file with loopback ports and temporary certificate paths."""
    text = SITE_CONF.read_text()
    swaps = {
        "listen [::]:80;": "",
        "listen [::]:443 ssl;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "127.0.0.1:8001": f"127.0.0.1:{app_ports[0]}",
        "127.0.0.1:8002": f"127.0.0.1:{app_ports[1]}",
        "/etc/ssl/mammo/server.crt": str(cert),
        "/etc/ssl/mammo/server.key": str(key),
    }
    for old, new in swaps.items():
        if old not in text:
            raise StackError(f"server/deploy/nginx.conf no longer contains {old!r}")
        text = text.replace(old, new)
    return text


def _wait_until(check, *, what: str, timeout: float = 30.0, logs: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    tail = logs.read_text()[-3000:] if logs and logs.exists() else ""
    raise StackError(f"{what} did not come up within {timeout:.0f}s\n{tail}")


@dataclass
class Stack:
    """A running deployment; use :func:`running_stack` to get one."""

    folder: Path
    database_url: str
    ca: Path
    https_port: int
    http_port: int
    app_ports: tuple[int, int]
    app_logs: tuple[Path, Path]
    apps: list[subprocess.Popen] = field(default_factory=list)
    nginx: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def env(self) -> dict[str, str]:
        return server_env(self.database_url, self.folder)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run ``mammo-server`` with this stack's settings; raise with its output on failure."""
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            input=stdin,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        if done.returncode != 0:
            raise StackError(f"mammo-server {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    def stop_app(self, index: int) -> None:
        process = self.apps[index]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def _start_apps(stack: Stack, exits: ExitStack) -> None:
    for port, log in zip(stack.app_ports, stack.app_logs, strict=True):
        handle = exits.enter_context(log.open("w"))
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=stack.env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        stack.apps.append(process)
        exits.callback(_terminate, process, signal.SIGTERM)
    for port, log in zip(stack.app_ports, stack.app_logs, strict=True):
        url = f"http://127.0.0.1:{port}/readyz"
        _wait_until(lambda u=url: httpx.get(u).status_code == 200, what=f"app on {port}", logs=log)


def _start_nginx(stack: Stack, cert: Path, key: Path, exits: ExitStack) -> None:
    prefix = stack.folder / "nginx"
    for sub in ("logs", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    site = prefix / "mammo-site.conf"
    site.write_text(
        render_site_conf(
            https_port=stack.https_port,
            http_port=stack.http_port,
            app_ports=stack.app_ports,
            cert=cert,
            key=key,
        )
    )
    temp = prefix / "tmp"
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = prefix / "nginx.conf"
    main.write_text(
        f"{user}worker_processes 2;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/logs/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
        # Per request: nginx's own time and the app's, for the bench's latency breakdown.
        "  log_format timing '$request_method $uri $status $request_time"
        " $upstream_response_time';\n"
        f"  access_log {prefix}/logs/access.log timing;\n"
        + "".join(
            f"  {kind}_temp_path {temp}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {site};\n}}\n"
    )
    command = [str(NGINX), "-p", str(prefix), "-c", str(main), "-e", str(prefix / "logs/error.log")]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    if check.returncode != 0:
        raise StackError(f"nginx refused the configuration:\n{check.stderr}")
    stack.nginx = subprocess.Popen([*command, "-g", "daemon off;"])
    exits.callback(_terminate, stack.nginx, signal.SIGQUIT)

    def tls_ready() -> bool:
        with socket.create_connection(("127.0.0.1", stack.https_port), timeout=1):
            return True

    _wait_until(tls_ready, what="nginx", logs=prefix / "logs/error.log")


def _terminate(process: subprocess.Popen, sig: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class running_stack:  # noqa: N801 - used like a function: `with running_stack(tmp) as stack`
    """Context manager: start everything under ``folder``, stop and drop it all on exit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._exits = ExitStack()

    def __enter__(self) -> Stack:
        if not NGINX.exists():
            raise StackError(
                f"nginx is not installed at {NGINX}; install it (apt-get install nginx) or set"
                " MAMMO_TEST_NGINX"
            )
        exits = self._exits
        try:
            database_url = pg.create_database("mammo_e2e")
            exits.callback(pg.drop_database, database_url)
            ca, cert, key = make_certificates(self.folder)
            (self.folder / "server.toml").write_text("")
            stack = Stack(
                folder=self.folder,
                database_url=database_url,
                ca=ca,
                https_port=free_port(),
                http_port=free_port(),
                app_ports=(free_port(), free_port()),
                app_logs=(self.folder / "app-1.log", self.folder / "app-2.log"),
            )
            stack.cli("migrate")
            _start_apps(stack, exits)
            _start_nginx(stack, cert, key, exits)
        except BaseException:
            exits.close()
            raise
        return stack

    def __exit__(self, *exc_info: object) -> None:
        self._exits.close()
