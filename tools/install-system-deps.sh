#!/usr/bin/env bash
# Locate, or install with apt, the shared libraries that the pinned wheels load at import time:
#   libusb-1.0  <- pyrealsense2 (librealsense links it even for file playback)
#   libgomp1    <- open3d, scikit-learn (OpenMP runtime)
# With --tex (what `make test` adds), also a minimal TeX for the test that compiles every
# LaTeX table of the integration run:
#   pdflatex    <- texlive-latex-base
#   booktabs    <- texlive-latex-recommended (\toprule, \midrule, \bottomrule)
# Nothing is downloaded from anywhere but the distribution's package archive.
set -euo pipefail

with_tex=0
for arg in "$@"; do
  case "$arg" in
    --tex) with_tex=1 ;;
    *) echo "usage: $0 [--tex]" >&2; exit 2 ;;
  esac
done

need=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libusb-1.0.so.0' || need+=(libusb-1.0-0)
have_lib 'libgomp.so.1' || need+=(libgomp1)
if [ "$with_tex" -eq 1 ]; then
  command -v pdflatex >/dev/null 2>&1 || need+=(texlive-latex-base)
  { command -v kpsewhich >/dev/null 2>&1 && [ -n "$(kpsewhich booktabs.sty)" ]; } \
    || need+=(texlive-latex-recommended)
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: libusb-1.0 and libgomp found$([ "$with_tex" -eq 1 ] && echo ', pdflatex and booktabs too')"
  exit 0
fi

echo "system packages missing: ${need[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get here; install ${need[*]} with your system's package manager" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "error: need root to run: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
echo "installed: ${need[*]}"
