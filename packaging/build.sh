#!/usr/bin/env bash
# Build the packaged workstation (Linux; macOS works the same way, untested) and check it.
#
#   packaging/build.sh                        # bundles models/densenet121-mil
#   MODEL_DIR=/path/to/model packaging/build.sh
#
# 1. makes (once) a lean virtual environment, build/venv-lean, with only the runtime
#    dependencies of pyproject.toml and PyInstaller (no TensorFlow: it would be bundled);
# 2. installs this checkout into it (pip install --no-deps .);
# 3. records the sample mammogram's score with the model about to be bundled;
# 4. runs PyInstaller (packaging/mammo-workstation.spec) into dist/mammo-workstation/;
# 5. runs the packaged program's --self-test in a fresh home directory, without a display;
# 6. Linux: packs dist/mammo-workstation-<version>-linux-<arch>.tar.gz (program, .desktop
#    entry, icon, install.sh, site.toml.example).
#
# Environment: MODEL_DIR (model folder to bundle), PYTHON (a Python 3.11, default python3.11),
# LEAN_VENV (default build/venv-lean), NO_ARCHIVE=1 (skip the tar.gz), CLEAN=1 (rebuild the
# venv and PyInstaller's cache from scratch). Safe to run again: what is up to date is reused.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODEL_DIR="${MODEL_DIR:-models/densenet121-mil}"
PYTHON="${PYTHON:-python3.11}"
VENV="${LEAN_VENV:-build/venv-lean}"
WORK=build/pyinstaller
EXPECTED=build/selftest/expected.json
DIST=dist/mammo-workstation
START=$SECONDS
STEP_START=$SECONDS
STEP_NAME=""
die() { echo "build.sh: error: $*" >&2; exit 1; }
step() {  # prints how long the previous step took, then the next step's name
  if [ -n "${STEP_NAME:-}" ]; then echo "   ${STEP_NAME}: $((SECONDS - STEP_START)) s"; fi
  STEP_NAME="$1"; STEP_START=$SECONDS
  if [ "$1" != done ]; then echo "==> $1"; fi
}
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac

# --- the model comes first: there is nothing to package without one ------------------------------
if [ ! -f "$MODEL_DIR/manifest.json" ]; then
  die "no model to bundle: $MODEL_DIR/manifest.json does not exist.
  Train or copy the model folder to models/densenet121-mil (see docs/model.md), or point
  MODEL_DIR at a model folder holding manifest.json, e.g.
    MODEL_DIR=/path/to/densenet121-mil packaging/build.sh"
fi
MODEL_DIR="$(cd "$MODEL_DIR" && pwd)"

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; set PYTHON to a Python 3.11."
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "$PYTHON is not Python 3.11 (pyproject.toml requires 3.11)."

# --- 1, 2. the lean venv and this checkout in it -------------------------------------------------
step "lean virtual environment ($VENV)"
if [ "${CLEAN:-0}" = 1 ]; then rm -rf "$VENV" "$WORK"; fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
REQS=build/lean-requirements.txt
mkdir -p build
# The runtime dependencies are pyproject.toml's [project] dependencies, nothing else.
"$PYTHON" - > "$REQS.new" <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join([*project["dependencies"], "pyinstaller>=6.10"]))
PY
STAMP="$(cat "$REQS.new" packaging/constraints-lean.txt | "$PYTHON" -c \
  'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')"
if [ "$(cat "$VENV/.deps-stamp" 2>/dev/null)" != "$STAMP" ]; then
  mv "$REQS.new" "$REQS"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r "$REQS" -c packaging/constraints-lean.txt
  echo "$STAMP" > "$VENV/.deps-stamp"
else
  rm -f "$REQS.new"; echo "   dependencies up to date"
fi
"$VENV/bin/python" -m pip install --quiet --no-deps --force-reinstall .
# PyInstaller bundles whatever optional import it can resolve: refuse a venv that can.
"$VENV/bin/python" - <<'PY' \
  || die "the lean venv holds packages that must not be bundled; CLEAN=1 rebuilds it."
import importlib.util, sys
bad = [m for m in ("tensorflow", "keras", "jax", "torch", "PyQt5", "PyQt6")
       if importlib.util.find_spec(m)]
if bad:
    print("   found:", ", ".join(bad))
sys.exit(1 if bad else 0)
PY

# --- 3. the score the bundled model gives the sample ---------------------------------------------
step "recording the sample score with $MODEL_DIR"
"$VENV/bin/python" -m core.selftest --record "$EXPECTED" --model "$MODEL_DIR" \
  || die "the model in $MODEL_DIR could not score the sample (see above)."

# --- 4. PyInstaller ------------------------------------------------------------------------------
step "PyInstaller (packaging/mammo-workstation.spec -> $DIST)"
PACKAGING_MODEL_DIR="$MODEL_DIR" PACKAGING_EXPECTED="$ROOT/$EXPECTED" \
PACKAGING_VERSION="$("$VENV/bin/python" -c 'import core; print(core.__version__)')" \
  "$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist --workpath "$WORK" \
  packaging/mammo-workstation.spec
cp packaging/site.toml.example "$DIST/site.toml.example"
if [ "$(uname -s)" = Linux ]; then
  cp packaging/linux/mammo-workstation.desktop packaging/linux/install.sh "$DIST/"
  cp resources/icons/mammo-workstation.png resources/icons/mammo-workstation.svg "$DIST/"
  chmod +x "$DIST/install.sh"
fi
# A Python built from source (pyenv) leaves libpython's symbol table in (23 MB, stripped 5 MB).
# Only this file: stripping the wheels' patchelf-ed libraries breaks them.
LIBPYTHON="$DIST/_internal/libpython3.11.so.1.0"
if [ -f "$LIBPYTHON" ] && command -v strip >/dev/null 2>&1; then
  strip --strip-unneeded "$LIBPYTHON"
fi
echo "   size: $(du -sh "$DIST" | cut -f1) ($DIST)"

# --- 5. the packaged program checks itself -------------------------------------------------------
step "self-test of the packaged program (fresh home, no display)"
SANDBOX="$(mktemp -d)"
trap 'rm -rf "$SANDBOX"' EXIT
now_ms() { "$PYTHON" -c 'import time; print(int(time.time() * 1000))'; }
T0=$(now_ms)
env -i PATH="$PATH" HOME="$SANDBOX/home" XDG_CONFIG_HOME="$SANDBOX/config" \
  XDG_DATA_HOME="$SANDBOX/data" XDG_CONFIG_DIRS="$SANDBOX/site" LANG=C.UTF-8 \
  "$DIST/mammo-workstation" --self-test || die "the packaged program failed its self-test."
echo "   self-test wall time: $(( $(now_ms) - T0 )) ms"

# --- 6. the Linux archive ------------------------------------------------------------------------
if [ "$(uname -s)" = Linux ] && [ "${NO_ARCHIVE:-0}" != 1 ]; then
  VERSION="$("$VENV/bin/python" -c 'import core; print(core.__version__)')"
  ARCHIVE="dist/mammo-workstation-$VERSION-linux-$(uname -m).tar.gz"
  step "archive $ARCHIVE"
  GZIP_CMD=gzip; command -v pigz >/dev/null 2>&1 && GZIP_CMD=pigz
  tar -C dist -cf - mammo-workstation | "$GZIP_CMD" -6 > "$ARCHIVE.part"
  mv "$ARCHIVE.part" "$ARCHIVE"
  echo "   $(du -h "$ARCHIVE" | cut -f1) $ARCHIVE"
fi

step "done"
echo "Built $DIST ($(du -sh "$DIST" | cut -f1)) in $((SECONDS - START)) s."
