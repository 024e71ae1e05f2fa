#!/usr/bin/env bash
# Start or stop the host services the tests need: `hack/services.sh up|down [--binfmt]`.
#  - binfmt: qemu-user-static handlers for foreign-arch RUN and runtime checks. `up` mounts
#    binfmt_misc if needed and enables the qemu entries. `down` leaves them registered (they
#    are host configuration other runs rely on: `pytest -k windows` after `hack/test` must
#    not meet `exec format error`); `down --binfmt` disables what `up` enabled.
#  - dockerd: the engine the runtime checks use, started if none answers on the default socket.
# Each records what it changed in .cache/services, so `down` undoes only that.
# The embedded registry is not a service here: the test session starts and stops its own.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.cache/services
mkdir -p "$state"
QEMU_ARCHES=(arm aarch64 ppc64le s390x)

binfmt_up() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "services: not root; leaving binfmt as it is" >&2; return 0
  fi
  if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && touch "$state/binfmt-mounted"
  fi
  for arch in "${QEMU_ARCHES[@]}"; do
    if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-$arch ]]; then
      update-binfmts --enable "qemu-$arch" && echo "$arch" >> "$state/binfmt-enabled"
    fi
  done
  for arch in "${QEMU_ARCHES[@]}"; do
    grep -q enabled "/proc/sys/fs/binfmt_misc/qemu-$arch" || {
      echo "services: qemu-$arch is not registered with binfmt_misc" >&2; return 1; }
  done
  echo "services: binfmt ready (${QEMU_ARCHES[*]})"
}

binfmt_down() {
  if [[ -f $state/binfmt-enabled ]]; then
    while read -r arch; do update-binfmts --disable "qemu-$arch" || true; done < "$state/binfmt-enabled"
    rm -f "$state/binfmt-enabled"
  fi
  if [[ -f $state/binfmt-mounted ]]; then
    umount /proc/sys/fs/binfmt_misc || true
    rm -f "$state/binfmt-mounted"
  fi
}

dockerd_up() {
  if docker version >/dev/null 2>&1; then
    echo "services: docker engine already running"; return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "services: no docker engine, and not root to start one" >&2; return 0
  fi
  dockerd --pidfile "$PWD/$state/dockerd.pid" >"$state/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    if docker version >/dev/null 2>&1; then
      touch "$state/dockerd-started"; echo "services: dockerd started"; return 0
    fi
    sleep 0.5
  done
  echo "services: dockerd did not start; last lines of $state/dockerd.log:" >&2
  tail -5 "$state/dockerd.log" >&2
  return 1
}

dockerd_down() {
  if [[ -f $state/dockerd-started && -f $state/dockerd.pid ]]; then
    pid=$(cat "$state/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    rm -f "$state/dockerd-started"
  fi
}

case "${1:-}" in
  up) binfmt_up && dockerd_up ;;
  down) dockerd_down; if [[ ${2:-} == --binfmt ]]; then binfmt_down; fi ;;
  *) echo "usage: hack/services.sh up|down [--binfmt]" >&2; exit 2 ;;
esac
