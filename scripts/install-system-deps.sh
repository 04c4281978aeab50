#!/usr/bin/env bash
# System libraries tabench needs beyond pip: Mesa's EGL for headless Syn-TA rendering.
# Installs them with apt-get when missing and we are root; otherwise says what to install.
set -euo pipefail
pkgs="libegl1 libegl-mesa0 libgl1-mesa-dri"
have_egl() { ldconfig -p 2>/dev/null | grep -q "libEGL_mesa.so" && ldconfig -p 2>/dev/null | grep -q "libEGL.so.1"; }
if have_egl; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "tabench: EGL libraries not found; install Mesa EGL (Debian/Ubuntu: $pkgs) to render Syn-TA" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "tabench: EGL libraries not found; run as root: apt-get install -y $pkgs" >&2; exit 0; fi
else SUDO=""; fi
echo "tabench: installing $pkgs (headless OpenGL for Syn-TA rendering)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
