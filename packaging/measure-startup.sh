#!/usr/bin/env bash
# Time the packaged program's start as a user sees it, under Xvfb, driven by xdotool:
#   launch -> first window (first-run or log-in dialog) -> credentials typed -> main window.
#
#   packaging/measure-startup.sh [PROGRAM]      # default dist/mammo-workstation/mammo-workstation
#
# Run 1 starts on an empty data directory (the first-run dialog, account created with Argon2);
# runs 2..RUNS (default 4) log in to that account, the everyday start. With SCREENSHOT=FILE.png
# and IMAGE=FILE, the last run also imports IMAGE (File > Import, Ctrl+O) and saves a
# screenshot of the scored image. Needs Debian's xvfb and xdotool (and imagemagick for the
# screenshot): apt-get install xvfb xdotool imagemagick. Times are wall-clock milliseconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PROGRAM="${1:-dist/mammo-workstation/mammo-workstation}"
RUNS="${RUNS:-4}"
USER_NAME=first.reader
PASSWORD="a long local password"
for tool in Xvfb xdotool; do
  command -v "$tool" >/dev/null || { echo "needs $tool: apt-get install xvfb xdotool" >&2; exit 1; }
done
[ -x "$PROGRAM" ] || { echo "no program at $PROGRAM: run packaging/build.sh first" >&2; exit 1; }

SANDBOX="$(mktemp -d)"
# -displayfd: Xvfb picks a free display itself (another session's Xvfb may hold :99).
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$SANDBOX/display" >/dev/null 2>&1 &
XVFB=$!
for _ in $(seq 1 100); do [ -s "$SANDBOX/display" ] && break; sleep 0.05; done
DISPLAY_NUMBER=":$(cat "$SANDBOX/display")"
APP=""
cleanup() {
  if [ -n "$APP" ]; then kill "$APP" 2>/dev/null || true; fi
  kill "$XVFB" 2>/dev/null || true
  if [ -n "${KEEP_LOGS:-}" ]; then cp "$SANDBOX"/run*.log "$KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$SANDBOX"
}
trap cleanup EXIT
export DISPLAY="$DISPLAY_NUMBER"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cpu_ms() {  # user + system CPU time the process has used so far (all its threads)
  local stat; stat="$(cut -d')' -f2- "/proc/$1/stat")"
  echo $(( ($(echo "$stat" | awk '{print $12 + $13}')) * 1000 / $(getconf CLK_TCK) ))
}
wait_window() {  # prints the window id once a visible window's title matches $1
  local deadline=$(( $(now_ms) + 60000 )) id
  while [ "$(now_ms)" -lt "$deadline" ]; do
    id="$(xdotool search --onlyvisible --name "$1" 2>/dev/null | head -1 || true)"
    if [ -n "$id" ]; then echo "$id"; return 0; fi
    sleep 0.02
  done
  echo "timed out waiting for a window named '$1'" >&2; return 1
}
type_into() {  # focus window $1, then type the fields given, Tab between them, Return at the end
  local window="$1"; shift
  xdotool windowfocus --sync "$window"
  local first=1
  for text in "$@"; do
    if [ "$first" = 0 ]; then xdotool key Tab; fi
    xdotool type --delay 1 "$text"; first=0
  done
  xdotool key Return
}

# first: launch -> dialog shown (wall; and the CPU the process used by then, which is what an
# idle machine would take); after-enter: Return pressed -> main window shown; total: launch ->
# main window, less the time spent typing.
echo "run  first-window-ms  (cpu-ms)  main-window-after-enter-ms  total-ms"
for run in $(seq 1 "$RUNS"); do
  start=$(now_ms)
  env -i PATH="$PATH" DISPLAY="$DISPLAY" HOME="$SANDBOX/home" XDG_CONFIG_HOME="$SANDBOX/config" \
    XDG_DATA_HOME="$SANDBOX/data" XDG_CONFIG_DIRS="$SANDBOX/site" LANG=C.UTF-8 \
    "$PROGRAM" >"$SANDBOX/run$run.log" 2>&1 &
  APP=$!
  if [ "$run" = 1 ]; then
    dialog="$(wait_window '^Welcome')"; shown=$(now_ms); cpu=$(cpu_ms "$APP")
    type_into "$dialog" "$USER_NAME" "$PASSWORD" "$PASSWORD"
  else
    dialog="$(wait_window '^Log in')"; shown=$(now_ms); cpu=$(cpu_ms "$APP")
    type_into "$dialog" "$USER_NAME" "$PASSWORD"
  fi
  entered=$(now_ms)
  main="$(wait_window '^Mammo Workstation — ')"; ready=$(now_ms)
  printf "%-4s %-16s %-9s %-27s %s\n" "$run" "$((shown - start))" "($cpu)" "$((ready - entered))" \
    "$((ready - start - (entered - shown)))"
  if [ "$run" = "$RUNS" ] && [ -n "${SCREENSHOT:-}" ] && [ -n "${IMAGE:-}" ]; then
    xdotool windowsize "$main" 1500 950
    xdotool windowfocus --sync "$main"; xdotool key ctrl+o
    picker="$(wait_window 'Import|Open|Choose')"
    xdotool windowfocus --sync "$picker"
    xdotool type --delay 1 "$(realpath "$IMAGE")"; xdotool key Return
    sleep "${SCREENSHOT_DELAY:-8}"
    import -window root "$SCREENSHOT"
    echo "screenshot: $SCREENSHOT"
  fi
  kill "$APP"; wait "$APP" 2>/dev/null || true; APP=""
done
