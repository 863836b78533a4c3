# shellcheck shell=bash
# Shared helpers for the project's scripts. Source it; it defines functions only.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
IMAGE_REPO=${PULSESTAGE_IMAGE_REPO:-pulsestage/systemd-debian}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: install the Debian packages that are missing.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# find_python: print an interpreter >= 3.12 (ansible-core 2.21 needs it).
find_python() {
  local c
  for c in "${PYTHON:-}" python3.12 python3.13 python3 \
           "$HOME"/.pyenv/versions/3.12*/bin/python3.12 \
           "$HOME"/.pyenv/versions/3.13*/bin/python3.13 \
           /root/.pyenv/versions/3.12*/bin/python3.12; do
    [ -n "$c" ] || continue
    # pyenv shims answer for versions that are not selected: run them to be sure.
    if "$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c" 2>/dev/null || echo "$c"
      return 0
    fi
  done
  return 1
}

# ensure_venv: the controller's tool venv, pinned by requirements/tools.txt.
ensure_venv() {
  local py stamp="$VENV/.tools.sha256" want
  want=$(sha256sum "$ROOT/requirements/tools.txt" | cut -d' ' -f1)
  if [ -x "$VENV/bin/ansible-playbook" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  py=$(find_python) || {
    apt_install python3 python3-venv
    py=$(find_python) || die "Python >= 3.12 is needed for ansible-core 2.21 (Ubuntu 24.04 and Debian 13 ship it); set PYTHON=/path/to/python3.12"
  }
  log "tool venv in $VENV with $py"
  "$py" -m venv "$VENV" || { apt_install python3-venv; "$py" -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --upgrade pip
  # --no-compile: byte-compiling every file of the ansible bundle is most of the install's time
  # (105 s against 49 s here); Python compiles what is imported, once, on first use.
  "$VENV/bin/pip" install -q --no-compile -r "$ROOT/requirements/tools.txt"
  echo "$want" > "$stamp"
}

activate() {
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
  export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
  # Read by ./dev's containers, every molecule/*/molecule.yml and tests/aws.
  PULSESTAGE_CGROUP_MOUNT=${PULSESTAGE_CGROUP_MOUNT:-$(cgroup_mount)}
  export PULSESTAGE_CGROUP_MOUNT
}

# cgroup_mount [FSTYPE]: how a systemd test container gets /sys/fs/cgroup (with
# --cgroupns=host), from the type of the host's /sys/fs/cgroup. The one place that chooses it.
#   cgroup v1 (a tmpfs holding one mount per controller, as on these machines): read-only is
#     enough, systemd finds its hierarchy there.
#   cgroup v2 (cgroup2fs: GitHub's Ubuntu runners, Docker Desktop, current Debian/Ubuntu):
#     systemd as PID 1 must create its own control group, so read-write (moby/moby#42275,
#     systemd/systemd#19245: "Failed to create /init.scope control group" otherwise).
cgroup_mount() {
  local fs=${1:-$(stat -fc %T /sys/fs/cgroup 2>/dev/null || echo unknown)}
  case "$fs" in
    cgroup2fs) echo /sys/fs/cgroup:/sys/fs/cgroup:rw ;;
    *) echo /sys/fs/cgroup:/sys/fs/cgroup:ro ;;
  esac
}

# ensure_docker: a running Docker engine (starts dockerd when none answers).
ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: /var/log/pulsestage-dockerd.log)"
    as_root sh -c 'nohup dockerd >/var/log/pulsestage-dockerd.log 2>&1 &'
  fi
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  die "the Docker engine did not answer after 60 s (see /var/log/pulsestage-dockerd.log)"
}

apt_mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  fi
  case "$m" in
    *debian*) echo "$m" ;;
    *) echo "http://deb.debian.org/debian" ;;   # an Ubuntu host: its mirror has no Debian suites
  esac
}

# ensure_image SUITE: a local systemd base image (no registry is reachable here).
# What the images hold, like an Ubuntu cloud image: systemd, python3 (+ apt bindings), sudo.
IMAGE_PACKAGES=systemd,systemd-sysv,python3,python3-apt,sudo,ca-certificates,iproute2,procps
IMAGE_RECIPE=$(printf '%s' "$IMAGE_PACKAGES v1" | sha256sum | cut -c1-12)

ensure_image() {
  local suite=$1 tag="$IMAGE_REPO:$1" rootfs have
  have=$(docker image inspect -f '{{ index .Config.Labels "pulsestage.recipe" }}' "$tag" 2>/dev/null || true)
  [ "$have" = "$IMAGE_RECIPE" ] && return 0
  apt_install debootstrap debian-archive-keyring
  rootfs=$(mktemp -d "/var/tmp/pulsestage-$suite.XXXXXX")
  log "debootstrap $suite into $rootfs (about a minute)"
  as_root debootstrap --variant=minbase \
    --include="$IMAGE_PACKAGES" \
    "$suite" "$rootfs" "$(apt_mirror)" >/dev/null
  # A container has no console to log in on, nor hardware clock to sync.
  as_root rm -f "$rootfs"/etc/systemd/system/getty.target.wants/* \
    "$rootfs"/etc/machine-id
  as_root touch "$rootfs"/etc/machine-id
  as_root apt-get -qq -o RootDir="$rootfs" clean 2>/dev/null || true
  # (docker 20.10's import takes no STOPSIGNAL: containers are removed with rm -f.)
  if ! as_root tar -C "$rootfs" -c . | docker import \
      --change 'CMD ["/lib/systemd/systemd"]' \
      --change 'ENV container=docker' \
      --change "LABEL pulsestage.recipe=$IMAGE_RECIPE" - "$tag" >/dev/null; then
    as_root rm -rf "$rootfs"
    die "docker import of $suite failed"
  fi
  as_root rm -rf "$rootfs"
  log "built $tag"
}

# wait_systemd CONTAINER: until systemd in it has booted (right after start there is no bus
# yet, and /tmp is still being cleaned).
wait_systemd() {
  local name=$1 i state
  for i in $(seq 1 60); do
    state=$(docker exec "$name" systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in
      running|degraded) return 0 ;;
    esac
    sleep 1
  done
  die "systemd in $name did not come up (state: ${state:-none})"
}
