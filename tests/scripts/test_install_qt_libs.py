"""scripts/run-app installs the X libraries Qt's xcb plugin needs, once, and quietly after."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-qt-libs"
QT_LIBS = ["libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4", "libxcb-keysyms1",
           "libxcb-image0", "libxcb-render-util0", "libxcb-xinerama0", "libxcb-shape0",
           "libegl1"]


def fake_debian(folder: Path, installed: list[str], *, uid: int) -> dict[str, str]:
    """Stand-ins for dpkg-query, apt-get, sudo and id: a package database in a text file,
    and a log of every apt-get call (installing marks the packages installed)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    (folder / "installed").write_text("".join(f"{name}\n" for name in installed))
    stubs = {
        "dpkg-query": 'grep -qx "${@: -1}" "$FAKE/installed" || { echo "dpkg-query: no packages'
                      ' found matching ${@: -1}" >&2; exit 1; }\nprintf "install ok installed"',
        "apt-get": 'echo "$(id -u) apt-get $*" >> "$FAKE/calls"\n'
                   'if [ "$1" = "install" ]; then for a in "$@"; do echo "$a"; done '
                   '| grep "^lib" >> "$FAKE/installed"; fi',
        "sudo": 'echo "sudo $*" >> "$FAKE/calls"\nFAKE_UID=0 exec "$@"',
        "id": 'echo "${FAKE_UID}"',
    }
    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f"#!/bin/bash\n{body}\n")
        stub.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE": str(folder), "FAKE_UID": str(uid),
            "HOME": os.environ.get("HOME", "/tmp")}


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=60)


def test_missing_libraries_are_installed_with_sudo_then_nothing_is_done(tmp_path: Path):
    env = fake_debian(tmp_path, ["libxcb-cursor0", "libegl1"], uid=1000)

    first = run_script(env)

    assert first.returncode == 0, first.stderr
    missing = [name for name in QT_LIBS if name not in ("libxcb-cursor0", "libegl1")]
    assert f"installing the X libraries Qt needs to open a window: {' '.join(missing)}" \
        in first.stdout
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "sudo apt-get update -qq"
    assert calls[-1] == f"0 apt-get install -y -qq {' '.join(missing)}"

    again = run_script(env)

    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""
    assert (tmp_path / "calls").read_text().splitlines() == calls


def test_as_root_apt_get_runs_without_sudo(tmp_path: Path):
    env = fake_debian(tmp_path, QT_LIBS[1:], uid=0)

    result = run_script(env)

    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == ["0 apt-get update -qq", "0 apt-get install -y -qq libxcb-cursor0"]


def test_run_app_checks_the_libraries_before_it_starts_the_app():
    text = (ROOT / "scripts" / "run-app").read_text()
    assert text.index('"$ROOT/scripts/install-qt-libs"') < text.index("exec mammo-workstation")
