#!/bin/sh
# Install (or update, or remove) Mammo Workstation for every user of a Linux machine.
# Run as root from the unpacked archive; nothing asks a question, so it suits silent installs:
#
#   sudo ./install.sh [--prefix /opt/mammo-workstation] [--site-config site.toml]
#   sudo ./install.sh --uninstall [--prefix /opt/mammo-workstation]
#
# --site-config copies IT's settings to /etc/xdg/mammo-workstation/site.toml (see
# site.toml.example). An update keeps a site.toml that lies next to the old program. The
# install ends with the program's --self-test (in a scratch data directory) and fails with it.
set -eu
PREFIX=/opt/mammo-workstation
SITE=""
UNINSTALL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --site-config) SITE="$2"; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
HERE="$(cd "$(dirname "$0")" && pwd)"
APPS=/usr/share/applications
ICONS=/usr/share/icons/hicolor
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo $0)" >&2; exit 1; }

refresh_menus() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICONS" || true
}

if [ "$UNINSTALL" = 1 ]; then
  rm -rf "$PREFIX" "$APPS/mammo-workstation.desktop" \
    "$ICONS/256x256/apps/mammo-workstation.png" "$ICONS/scalable/apps/mammo-workstation.svg"
  refresh_menus
  echo "Removed $PREFIX. Users' data (~/.local/share/mammo-workstation) and" \
       "/etc/xdg/mammo-workstation were left in place."
  exit 0
fi

if [ ! -x "$HERE/mammo-workstation" ]; then
  echo "install.sh: run it from the unpacked archive" >&2; exit 1
fi
# Copy beside the old version, then swap, so a failed copy never leaves half a program.
rm -rf "$PREFIX.new"
mkdir -p "$(dirname "$PREFIX")"
cp -a "$HERE" "$PREFIX.new"
[ -f "$PREFIX/site.toml" ] && cp -p "$PREFIX/site.toml" "$PREFIX.new/site.toml"
rm -rf "$PREFIX.old"
[ -d "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
mv "$PREFIX.new" "$PREFIX"
rm -rf "$PREFIX.old"

if [ -n "$SITE" ]; then
  install -D -m 0644 "$SITE" /etc/xdg/mammo-workstation/site.toml
fi
sed "s|/opt/mammo-workstation/|$PREFIX/|g" "$HERE/mammo-workstation.desktop" \
  > "$APPS/mammo-workstation.desktop"
install -D -m 0644 "$HERE/mammo-workstation.png" "$ICONS/256x256/apps/mammo-workstation.png"
install -D -m 0644 "$HERE/mammo-workstation.svg" "$ICONS/scalable/apps/mammo-workstation.svg"
refresh_menus

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
echo "Installed in $PREFIX; running its self-test:"
MAMMO_DATA_DIR="$SCRATCH" "$PREFIX/mammo-workstation" --self-test
