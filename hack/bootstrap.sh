#!/usr/bin/env bash
# Installs what e2e-images needs on Debian 12, idempotently: Debian packages (as root) and a
# virtualenv at .venv with the package and its test extras. Safe to run again: it only
# installs what is missing. Not root and something missing: it names it and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv git ca-certificates
  docker-registry        # CNCF distribution: the embedded registry
  skopeo umoci           # bases into buildah's storage; interop checks on what we push
  buildah                # stages with RUN
  qemu-user-static binfmt-support   # foreign-arch RUN and runtime checks
  golang-go              # Go payloads (agnhost, hostname), CGO_ENABLED=0 cross-compiles
  busybox-static         # hermetic upstream stand-in (real busybox binaries)
  docker.io              # runtime checks of Linux images
  openssl                # test certificates for the token-auth registry
  make                   # upstream Makefiles with their own `bin` recipe
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: $PYTHON is $("$PYTHON" -V 2>&1); e2e-images needs Python >= 3.11" >&2
  exit 1
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -f $stamp ]]; then
  [[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  rm -f .venv/.installed-* && touch "$stamp"
fi
echo "bootstrap: ready ($(.venv/bin/e2e-images --version))"
