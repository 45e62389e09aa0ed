#!/usr/bin/env bash
# The local build engine the end-to-end tests and benchmarks run against, made from Debian packages
# only (no registry on the internet is reachable where the tests run):
#   containerd + dockerd (containerd image store, so the default `docker` buildx driver builds
#   multi-platform images), the buildx plugin, QEMU binfmt for linux/arm64, Debian's registry on
#   127.0.0.1:5000, and multi-platform base images in it: library/busybox and library/golang.
#
# Usage: bash scripts/build-engine.sh <command> [current|oldest]
#   up [engine]      install what is missing, start the engine (stopping another one that runs),
#                    publish missing base images. engine: current (default) or oldest
#   down             stop the daemons `up` and `second-up` started (pid files under the prefix)
#   status           print what runs, the versions in use and what is published
#   env              print `export` lines for tests (also kept in $PREFIX/engine.env)
#   buildkit-image   build the BuildKit image for docker-container builders of the running engine
#   second-up [classic] / second-down   a second, independent engine of the same version (its
#                    socket is printed), for the scale-out tests that stand two runners on one machine
#
# Engines are data (ENGINE_* below): the Debian suite their packages come from, the packages, and
# the oldest versions the tests may accept from that suite. `current` is what hosted runners run
# (Docker 28+, buildx 0.29+, containerd 2); `oldest` is the oldest engine the action supports.
# Packages are fetched with a private apt configuration per suite and unpacked into the prefix:
# the machine's own apt sources stay untouched. Each engine has its own unpacked root and data
# root, so switching engines never mixes their state; the registry and its images are shared.
set -euo pipefail

PREFIX=${BGI_ENGINE_PREFIX:-/opt/build-go-image-engine}
GO_MINOR=1.24
REGISTRY_LISTEN=127.0.0.1:5000
REGISTRY=localhost:5000
BASE_REGISTRY=$REGISTRY/library
DOCKER_SOCKET=/var/run/docker.sock

# name -> "suite|packages|minimum docker|minimum buildx|minimum containerd|vendored BuildKit"
# The last field is the BuildKit that suite's docker.io source vendors (its vendor.mod): Debian
# builds dockerd without BuildKit's version stamp, so buildx reports v0.0.0+unknown for it.
# tini(-static) is dockerd's docker-init (`docker run --init`; buildx starts docker-container
# builders so). runc always comes from the host (sid's needs glibc 2.38, the host has 2.36).
declare -A ENGINE_SPEC=(
  [current]="sid|docker.io containerd docker-buildx tini-static|28.0|0.29|2.0|0.25.2"
  [oldest]="trixie|docker.io containerd docker-buildx tini|26.1|0.13|1.7|0.13.2"
)
# Base images come from trixie whatever the engine: Go 1.24 and busybox, both architectures.
IMAGE_SUITE=trixie
IMAGE_PACKAGES=("golang-$GO_MINOR-go:amd64" "golang-$GO_MINOR-go:arm64" "golang-$GO_MINOR-src"
  busybox-static:amd64 busybox-static:arm64)
HOST_PACKAGES=(runc iptables qemu-user-static binfmt-support docker-registry zstd ca-certificates curl jq openssl)
ARCHES=(amd64 arm64)

RUN=$PREFIX/run       # pid files, the name of the running engine
LOGS=$PREFIX/logs     # daemon logs
ETC=$PREFIX/etc
WORK=$PREFIX/work     # image root filesystems while they are assembled
ENV_FILE=$PREFIX/engine.env
CONTAINERD_SOCKET=/run/build-go-image-engine/containerd.sock
BUILDX_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-buildx

# Sets ENGINE, SUITE, ENGINE_PKGS, MIN_*, VENDORED_BUILDKIT and the engine's paths.
select_engine() {
  local name=${1:-current} spec
  spec=${ENGINE_SPEC[$name]:-} || true
  [[ -n $spec ]] || die "unknown engine '$name': use one of ${!ENGINE_SPEC[*]}"
  ENGINE=$name
  IFS='|' read -r SUITE ENGINE_PKGS MIN_DOCKER MIN_BUILDX MIN_CONTAINERD VENDORED_BUILDKIT <<<"$spec"
  ROOT=$PREFIX/engines/$name/root # unpacked engine packages (dockerd, containerd, buildx)
  DATA=$PREFIX/engines/$name/data # containerd and docker state of this engine
}
debs_of() { printf '%s\n' "$PREFIX/debs/$1"; } # downloaded .debs of a suite, kept between runs
REGISTRY_DATA=$PREFIX/registry
# The engine that `up` last started (or "current" when none did).
running_engine() { cat "$RUN/engine.name" 2>/dev/null || echo current; }

log() { printf '[build-engine] %s\n' "$*" >&2; }
die() {
  printf '[build-engine] error: %s\n' "$*" >&2
  exit 1
}

# --- helpers -------------------------------------------------------------------------------------

# The Debian mirror the machine already uses, read from its own apt sources (deb822 or one-line).
debian_mirror() {
  local uri
  uri=$(
    {
      awk 'BEGIN{IGNORECASE=1} /^URIs:/ {for (i = 2; i <= NF; i++) print $i}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
    } | grep -E '/debian/?$' | head -n1
  )
  [[ -n $uri ]] || die "no Debian mirror (a URI ending in /debian) in /etc/apt/sources.list*"
  printf '%s\n' "${uri%/}"
}

# private_apt <suite> <apt-get args...>: apt-get over that suite's own lists under the prefix.
private_apt() {
  local apt=$PREFIX/apt/$1
  shift
  apt-get -o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts=- \
    -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status" \
    -o Dir::Cache="$apt/cache" -o APT::Architecture=amd64 \
    -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 \
    -o Acquire::Languages=none -o APT::Sandbox::User=root -q "$@"
}

# deb_file <suite> <name> <arch>: newest downloaded .deb of that suite (arch all = independent).
deb_file() {
  local dir name=$2 arch=$3 f
  dir=$(debs_of "$1")
  f=$(ls -1 "$dir/${name}_"*"_${arch}.deb" 2>/dev/null | sort -V | tail -n1 || true)
  printf '%s\n' "$f"
}

# Upstream version of a .deb: no epoch, no Debian revision, no +dfsg-style suffix.
deb_upstream_version() {
  local v
  v=$(dpkg-deb -f "$1" Version)
  v=${v#*:}
  v=${v%%-*}
  v=${v%%+*}
  v=${v%%~*}
  printf '%s\n' "$v"
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # wait_for <seconds> <description> <command...>
  local secs=$1 what=$2
  shift 2
  local i
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  return 1
}

registry_answers() { curl -fsS -o /dev/null "http://$REGISTRY_LISTEN/v2/"; }
docker_answers() { docker info >/dev/null 2>&1; }

# 0 when <repo>:<tag> exists in the local registry as a multi-platform index.
registry_has_index() {
  local ct
  ct=$(curl -fsS -o /dev/null -w '%{content_type}' -I \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$REGISTRY_LISTEN/v2/$1/manifests/$2" 2>/dev/null) || return 1
  [[ $ct == *index* || $ct == *manifest.list* ]]
}

# 0 when every <tag> of <repo> is a multi-platform index in the local registry.
registry_has_all() {
  local repo=$1 tag
  shift
  for tag in "$@"; do registry_has_index "$repo" "$tag" || return 1; done
}
start_daemon() { # start_daemon <name> <command...>: background, own session, log file, pid file
  local name=$1
  shift
  mkdir -p "$LOGS" "$RUN"
  # A daemon outlives this script, so it must not inherit the script's open files: a caller's
  # `flock <lockfile> ...` would otherwise stay locked for as long as dockerd runs.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    exec setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$RUN/$name.pid"
}

show_log_tail() { [[ -f $LOGS/$1.log ]] && tail -n 40 "$LOGS/$1.log" >&2 || true; }

# --- install -------------------------------------------------------------------------------------

install_host_packages() {
  local missing=() p
  for p in "${HOST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing from the machine's Debian sources: ${missing[*]}"
  # Packages with daemons (docker-registry) must not start them on install: this script starts its
  # own registry bound to 127.0.0.1 only.
  local policy_created=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_created=1
  fi
  local rc=0
  { apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${missing[@]}"; } || rc=$?
  ((policy_created)) && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || die "apt-get install ${missing[*]} failed"
}

# download_packages <suite> <package[:arch]...>: fetch the .debs not downloaded yet.
download_packages() {
  local suite=$1 apt=$PREFIX/apt/$1 dir need=() p name arch
  shift
  dir=$(debs_of "$suite")
  mkdir -p "$dir" "$apt/lists/partial" "$apt/cache/archives/partial" "$LOGS"
  for p in "$@"; do
    name=${p%%:*}
    arch=amd64
    [[ $p == *:* ]] && arch=${p#*:}
    [[ $name == golang-*-src ]] && arch=all
    [[ -n $(deb_file "$suite" "$name" "$arch") ]] || need+=("$p")
  done
  ((${#need[@]} == 0)) && return 0
  local mirror
  mirror=$(debian_mirror)
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$mirror" "$suite" >"$apt/sources.list"
  : >"$apt/status"
  log "fetching $suite package lists from $mirror (private apt configuration under $apt)"
  private_apt "$suite" update >"$LOGS/apt-$suite.log" 2>&1 || {
    tail -n 20 "$LOGS/apt-$suite.log" >&2
    die "apt-get update for $suite failed"
  }
  log "downloading from $suite: ${need[*]}"
  (cd "$dir" && private_apt "$suite" download "${need[@]}") >>"$LOGS/apt-$suite.log" 2>&1 || {
    tail -n 20 "$LOGS/apt-$suite.log" >&2
    die "apt-get download from $suite failed"
  }
}

unpack_engine() {
  local p f stamp
  mkdir -p "$ROOT"
  for p in $ENGINE_PKGS; do
    f=$(deb_file "$SUITE" "$p" amd64)
    [[ -n $f ]] || die "no $p .deb from $SUITE in $(debs_of "$SUITE")"
    stamp="$ROOT/.unpacked-$(basename "$f")"
    if [[ ! -e $stamp ]]; then
      log "unpacking $(basename "$f")"
      dpkg-deb -x "$f" "$ROOT"
      touch "$stamp"
    fi
  done
  local plugin
  plugin=$ROOT/usr/libexec/docker/cli-plugins/docker-buildx
  [[ -x $plugin ]] || plugin=$(find "$ROOT/usr" -type f -perm -u+x -name docker-buildx -path '*cli-plugins*' | head -n1)
  [[ -n $plugin ]] || die "docker-buildx binary not found in the unpacked package"
  if ! cmp -s "$plugin" "$BUILDX_PLUGIN"; then
    mkdir -p "$(dirname "$BUILDX_PLUGIN")"
    install -m 755 "$plugin" "$BUILDX_PLUGIN"
  fi
  if ! command -v docker >/dev/null; then
    ln -sf "$ROOT/usr/bin/docker" /usr/local/bin/docker
  fi
}

# version_at_least <have> <minimum>: dotted versions compared numerically.
version_at_least() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]]; }

# The versions the running engine reports: DOCKER_V, BUILDX_V, CONTAINERD_V, BUILDKIT_V.
read_versions() {
  DOCKER_V=$(docker version -f '{{.Server.Version}}' 2>/dev/null | sed 's/+.*//')
  BUILDX_V=$(docker buildx version 2>/dev/null | awk '{print $2}' | sed 's/^v//; s/+.*//')
  CONTAINERD_V=$("$ROOT/usr/bin/containerd" --version 2>/dev/null | awk '{print $3}' | sed 's/^v//; s/[+~].*//')
  # The BuildKit dockerd embeds, as buildx reports it for the default (docker driver) builder.
  BUILDKIT_V=$(docker buildx inspect default 2>/dev/null | awk -F': *' '/^BuildKit version/ {print $2; exit}' | sed 's/^v//; s/+.*//')
  [[ -n $BUILDKIT_V && $BUILDKIT_V != 0.0.0 ]] || BUILDKIT_V=$VENDORED_BUILDKIT
}

# Fails when the engine that came from the suite is older than the engine's stated minimum.
check_versions() {
  read_versions
  local what have min
  for what in "docker $DOCKER_V $MIN_DOCKER" "buildx $BUILDX_V $MIN_BUILDX" "containerd $CONTAINERD_V $MIN_CONTAINERD"; do
    read -r what have min <<<"$what"
    version_at_least "${have:-0}" "$min" ||
      die "the $ENGINE engine runs $what ${have:-unknown}, older than $min: Debian $SUITE no longer has what this engine promises"
  done
}

# --- daemons -------------------------------------------------------------------------------------

engine_path() {
  local d path=
  for d in "$ROOT/usr/sbin" "$ROOT/usr/bin" "$ROOT/usr/libexec/docker"; do
    [[ -d $d ]] && path+="$d:"
  done
  printf '%s/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' "$path"
}

start_containerd() {
  if pid_alive "$RUN/containerd.pid" && [[ -S $CONTAINERD_SOCKET ]]; then return 0; fi
  mkdir -p "$DATA/containerd" "$(dirname "$CONTAINERD_SOCKET")" "$ETC"
  # containerd 2 reads config version 3 (and migrates 2 with a warning on every start).
  local config_version=2
  [[ $("$ROOT/usr/bin/containerd" --version | awk '{print $3}') =~ ^v?1\. ]] || config_version=3
  cat >"$ETC/containerd.toml" <<EOF
version = $config_version
root = "$DATA/containerd"
state = "/run/build-go-image-engine/containerd"
[grpc]
  address = "$CONTAINERD_SOCKET"
EOF
  log "starting containerd (log: $LOGS/containerd.log)"
  PATH=$(engine_path) start_daemon containerd "$ROOT/usr/bin/containerd" --config "$ETC/containerd.toml"
  wait_for 30 containerd test -S "$CONTAINERD_SOCKET" || {
    show_log_tail containerd
    die "containerd did not start"
  }
}

start_dockerd() {
  if docker_answers; then
    if ! pid_alive "$RUN/dockerd.pid"; then
      log "a Docker engine already answers on the default socket; using it"
      return 0
    fi
    [[ $(running_engine) == "$ENGINE" ]] && return 0
    log "switching from the $(running_engine) engine to the $ENGINE engine"
    cmd_second_down
    stop_pid dockerd 30
    stop_pid containerd 15
  fi
  start_containerd
  mkdir -p "$DATA/docker" "$ETC"
  local proxy
  proxy=$(find "$ROOT/usr" -type f -name docker-proxy | head -n1)
  jq -n --arg proxy "$proxy" '{
      features: { "containerd-snapshotter": true },
      "userland-proxy-path": $proxy,
      "log-driver": "json-file"
    } | if $proxy == "" then del(."userland-proxy-path") else . end' >"$ETC/daemon.json"
  log "starting dockerd (log: $LOGS/dockerd.log)"
  PATH=$(engine_path) start_daemon dockerd "$ROOT/usr/sbin/dockerd" \
    --config-file "$ETC/daemon.json" --data-root "$DATA/docker" --exec-root /run/build-go-image-engine/docker \
    --pidfile /run/build-go-image-engine/dockerd.pid --containerd "$CONTAINERD_SOCKET" \
    -H "unix://$DOCKER_SOCKET"
  wait_for 60 dockerd docker_answers || {
    show_log_tail dockerd
    show_log_tail containerd
    die "dockerd did not answer within 60 s"
  }
  printf '%s\n' "$ENGINE" >"$RUN/engine.name"
}

enable_qemu() {
  if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || ! grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --enable >/dev/null 2>&1 || true
  fi
  grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || die "binfmt qemu-aarch64 is not enabled"
  grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
    die "binfmt qemu-aarch64 lacks the F flag: containers could not find the interpreter"
  local bb
  bb=$(rootfs_busybox arm64)
  [[ $("$bb" uname -m) == aarch64 ]] || die "an arm64 binary does not run under QEMU"
}

start_registry() {
  if registry_answers; then return 0; fi
  mkdir -p "$REGISTRY_DATA" "$ETC"
  cat >"$ETC/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_DATA
  delete:
    enabled: true
http:
  addr: $REGISTRY_LISTEN
EOF
  log "starting docker-registry on $REGISTRY_LISTEN (log: $LOGS/registry.log)"
  start_daemon registry /usr/bin/docker-registry serve "$ETC/registry.yml"
  wait_for 30 registry registry_answers || {
    show_log_tail registry
    die "the registry did not answer on $REGISTRY_LISTEN"
  }
}

# --- base images ---------------------------------------------------------------------------------

# Unpacks busybox-static for an arch (once) and prints the path of its binary.
rootfs_busybox() {
  local arch=$1 dir f
  dir=$WORK/busybox-$arch
  f=$(deb_file "$IMAGE_SUITE" busybox-static "$arch")
  if [[ ! -x $dir/bin/busybox || ! -e $dir/.from-$(basename "$f") ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$f" "$dir/deb"
    mkdir -p "$dir/bin"
    # bookworm ships /bin/busybox, trixie /usr/bin/busybox
    local bin
    for bin in "$dir/deb/usr/bin/busybox" "$dir/deb/bin/busybox"; do
      [[ -f $bin ]] && break
    done
    install -m 755 "$bin" "$dir/bin/busybox"
    rm -rf "$dir/deb"
    touch "$dir/.from-$(basename "$f")"
  fi
  printf '%s\n' "$dir/bin/busybox"
}

# A minimal root filesystem: busybox with its applets as links in /bin, /tmp, /root, /etc/passwd.
make_busybox_rootfs() {
  local arch=$1 dest=$2 bb applet
  bb=$(rootfs_busybox "$arch")
  rm -rf "$dest"
  mkdir -p "$dest/bin" "$dest/tmp" "$dest/root" "$dest/etc"
  chmod 1777 "$dest/tmp"
  chmod 700 "$dest/root"
  install -m 755 "$bb" "$dest/bin/busybox"
  # The amd64 binary lists the applets; both arches carry the same set.
  for applet in $("$(rootfs_busybox amd64)" --list); do
    [[ $applet == busybox || -e $dest/bin/$applet ]] || ln -s busybox "$dest/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dest/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dest/etc/group"
}

# Imports a root filesystem as <ref>-<arch>, pushes it and drops the engine's local copy.
import_and_push() {
  local dir=$1 arch=$2 ref=$3
  shift 3
  local changes=() c
  for c in "$@"; do changes+=(--change "$c"); done
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -c . |
    docker import --platform "linux/$arch" "${changes[@]}" - "$ref-$arch" >/dev/null
  docker push -q "$ref-$arch" >/dev/null
  docker rmi -f "$ref-$arch" >/dev/null
}

# Joins the pushed per-arch tags of <repo>:<tag> into one index and tags it with every name given.
join_index() {
  local repo=$1 tag=$2
  shift 2
  local targets=() t
  for t in "$tag" "$@"; do targets+=(-t "$REGISTRY/$repo:$t"); done
  docker buildx imagetools create "${targets[@]}" "$REGISTRY/$repo:$tag-amd64" "$REGISTRY/$repo:$tag-arm64" >/dev/null 2>&1
  # A stale local copy would shadow the new index for the docker driver.
  for t in "$tag" "$@"; do docker rmi -f "$REGISTRY/$repo:$t" >/dev/null 2>&1 || true; done
}

publish_busybox() {
  local version arch
  version=$(deb_upstream_version "$(deb_file "$IMAGE_SUITE" busybox-static amd64)")
  if registry_has_all library/busybox stable latest "$version"; then
    BUSYBOX_VERSION=$version
    return 0
  fi
  log "building $BASE_REGISTRY/busybox:$version (stable, latest) for ${ARCHES[*]}"
  for arch in "${ARCHES[@]}"; do
    make_busybox_rootfs "$arch" "$WORK/rootfs-busybox-$arch"
    import_and_push "$WORK/rootfs-busybox-$arch" "$arch" "$BASE_REGISTRY/busybox:$version" 'CMD ["sh"]'
    rm -rf "$WORK/rootfs-busybox-$arch"
  done
  join_index library/busybox "$version" stable latest
  BUSYBOX_VERSION=$version
}

publish_golang() {
  local src_deb version arch
  src_deb=$(deb_file "$IMAGE_SUITE" "golang-$GO_MINOR-src" all)
  version=$(deb_upstream_version "$(deb_file "$IMAGE_SUITE" "golang-$GO_MINOR-go" amd64)")
  [[ $version == "$GO_MINOR".* ]] || die "golang-$GO_MINOR-go has version $version"
  if registry_has_all library/golang "$version" "$GO_MINOR" "$version-trixie"; then
    GO_VERSION=$version
    return 0
  fi
  log "building $BASE_REGISTRY/golang:$version ($GO_MINOR, $version-trixie) for ${ARCHES[*]}"
  local goroot=/usr/lib/go-$GO_MINOR
  for arch in "${ARCHES[@]}"; do
    local dir=$WORK/rootfs-golang-$arch
    make_busybox_rootfs "$arch" "$dir"
    dpkg-deb -x "$(deb_file "$IMAGE_SUITE" "golang-$GO_MINOR-go" "$arch")" "$dir"
    dpkg-deb -x "$src_deb" "$dir"
    rm -rf "$dir/usr/share/doc" "$dir/usr/share/man" "$dir/usr/share/lintian"
    # pkg/include points into a package that is not installed; assembly packages need its headers.
    mkdir -p "$dir/usr/share/go-$GO_MINOR/pkg/include"
    cp "$dir/usr/share/go-$GO_MINOR/src/runtime/"*.h "$dir/usr/share/go-$GO_MINOR/pkg/include/"
    [[ -e $dir$goroot/pkg/include/textflag.h ]] || die "pkg/include still dangles in the golang image"
    mkdir -p "$dir/go/bin" "$dir/go/src" "$dir/go/pkg"
    chmod -R 1777 "$dir/go"
    import_and_push "$dir" "$arch" "$BASE_REGISTRY/golang:$version" \
      "ENV PATH=/go/bin:$goroot/bin:/bin" 'ENV GOTOOLCHAIN=local' 'ENV GOPATH=/go' \
      "ENV GOLANG_VERSION=$version" 'ENV HOME=/root' 'WORKDIR /go' 'CMD ["sh"]'
    rm -rf "$dir"
  done
  join_index library/golang "$version" "$GO_MINOR" "$version-trixie"
  GO_VERSION=$version
}

# --- commands ------------------------------------------------------------------------------------

write_env() {
  {
    printf '# Written by scripts/build-engine.sh up; source it or read it.\n'
    [[ ${DOCKER_HOST:-} ]] && printf 'export DOCKER_HOST=%q\n' "$DOCKER_HOST"
    printf 'export BGI_ENGINE_PREFIX=%q\n' "$PREFIX"
    printf 'export BGI_REGISTRY=%q\n' "$REGISTRY"
    printf 'export BGI_BASE_REGISTRY=%q\n' "$BASE_REGISTRY"
    printf 'export BGI_GO_VERSION=%q\n' "$GO_VERSION"
    printf 'export BGI_BUSYBOX_VERSION=%q\n' "$BUSYBOX_VERSION"
    printf 'export BGI_ENGINE=%q\n' "$ENGINE"
    printf 'export BGI_DOCKER_VERSION=%q\n' "$DOCKER_V"
    printf 'export BGI_BUILDX_VERSION=%q\n' "$BUILDX_V"
    printf 'export BGI_CONTAINERD_VERSION=%q\n' "$CONTAINERD_V"
    printf 'export BGI_BUILDKIT_VERSION=%q\n' "$BUILDKIT_V"
    # Written by `buildkit-image` for this engine: the image stays in the registry between runs.
    grep -s '^export BGI_BUILDKIT_IMAGE' "$PREFIX/buildkit-$ENGINE.env" || true
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

cmd_up() {
  [[ $(id -u) == 0 ]] || die "run as root (installs packages, starts daemons, mounts binfmt_misc)"
  mkdir -p "$PREFIX" "$LOGS" "$RUN" "$WORK"
  install_host_packages
  # shellcheck disable=SC2086 # the engine's package list is words
  download_packages "$SUITE" $ENGINE_PKGS
  download_packages "$IMAGE_SUITE" "${IMAGE_PACKAGES[@]}"
  unpack_engine
  start_dockerd
  enable_qemu
  start_registry
  docker buildx version >/dev/null || die "the buildx plugin does not run"
  check_versions
  publish_busybox
  publish_golang
  write_env
  log "ready: the $ENGINE engine (Debian $SUITE): dockerd $DOCKER_V, buildx $BUILDX_V, containerd $CONTAINERD_V, BuildKit $BUILDKIT_V; registry $REGISTRY"
  log "published $BASE_REGISTRY/busybox:$BUSYBOX_VERSION and $BASE_REGISTRY/golang:$GO_VERSION (also :$GO_MINOR, :$GO_VERSION-trixie)"
  printf 'golang %s\n' "$GO_VERSION"
}

stop_pid() { # stop_pid <name> <seconds>
  local f=$RUN/$1.pid pid i
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid"
    for ((i = 0; i < $2 * 4; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$f"
}

cmd_down() {
  cmd_second_down
  stop_pid dockerd 30
  stop_pid containerd 15
  stop_pid registry 10
}

cmd_status() {
  local name state
  for name in containerd dockerd registry; do
    if pid_alive "$RUN/$name.pid"; then state="running (pid $(cat "$RUN/$name.pid"))"; else state="not started by this script"; fi
    printf '%-11s %s\n' "$name" "$state"
  done
  if docker_answers; then
    printf '%-11s %s\n' docker "server $(docker version -f '{{.Server.Version}}' 2>/dev/null), driver $(docker info -f '{{.Driver}}' 2>/dev/null)"
  else
    printf '%-11s %s\n' docker "not answering"
  fi
  printf '%-11s %s\n' buildx "$(docker buildx version 2>/dev/null || echo missing)"
  if docker_answers; then
    read_versions
    printf '%-11s %s\n' engine "$ENGINE (Debian $SUITE): dockerd $DOCKER_V, buildx $BUILDX_V, containerd $CONTAINERD_V, BuildKit $BUILDKIT_V"
  fi
  if grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
    printf '%-11s %s\n' qemu "qemu-aarch64 enabled"
  else
    printf '%-11s %s\n' qemu "qemu-aarch64 not enabled"
  fi
  if registry_answers; then
    printf '%-11s %s\n' registry "answers on $REGISTRY_LISTEN"
    local repo
    for repo in library/busybox library/golang; do
      printf '%-11s %s: %s\n' image "$REGISTRY/$repo" \
        "$(curl -fsS "http://$REGISTRY_LISTEN/v2/$repo/tags/list" 2>/dev/null | jq -r '.tags // [] | join(" ")' 2>/dev/null)"
    done
  else
    printf '%-11s %s\n' registry "not answering on $REGISTRY_LISTEN"
  fi
  [[ -f $ENV_FILE ]] && cat "$ENV_FILE"
  docker_answers && registry_answers
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "no $ENV_FILE: run 'bash scripts/build-engine.sh up' first"
  grep '^export ' "$ENV_FILE"
}

# --- a second engine -----------------------------------------------------------------------------
# Stands in for a second runner in the scale-out tests: its own dockerd, data root, containerd
# (managed by that dockerd), BuildKit state, socket and bridge.
SECOND_SOCKET=/run/build-go-image-engine/docker2.sock

second_answers() { DOCKER_HOST=unix://$SECOND_SOCKET docker info >/dev/null 2>&1; }

# second-up [classic]: "classic" gives the second engine Docker's classic image store instead of
# containerd's (its own data root), so its docker driver cannot build several platforms at once.
cmd_second_up() {
  [[ $(id -u) == 0 ]] || die "run as root (starts a daemon)"
  docker_answers || die "the first engine is not running: run '$0 up' first"
  local mode=${1:-containerd} data snapshotter=true
  [[ $mode == containerd || $mode == classic ]] || die "second-up takes no argument or 'classic'"
  data=$DATA/docker2
  [[ $mode == classic ]] && data=$DATA/docker2-classic snapshotter=false
  [[ -x $ROOT/usr/sbin/dockerd ]] || die "the $ENGINE engine is not unpacked: run '$0 up $ENGINE' first"
  if second_answers && [[ $(cat "$RUN/dockerd2.mode" 2>/dev/null) != "$mode" ]]; then
    log "restarting the second dockerd with the $mode image store"
    stop_pid dockerd2 30
  fi
  if ! second_answers; then
    local dockerd=$ROOT/usr/sbin/dockerd
    [[ -x $dockerd ]] || dockerd=$(command -v dockerd) || die "no dockerd binary for a second engine"
    mkdir -p "$data" "$ETC" /run/build-go-image-engine/docker2
    # Its own bridge (docker0 belongs to the first engine); no NAT: its builds reach only the host.
    if ! ip link show bgi-docker2 >/dev/null 2>&1; then
      ip link add bgi-docker2 type bridge
      ip addr add 172.31.250.1/24 dev bgi-docker2
      ip link set bgi-docker2 up
    fi
    # A hardened engine as some runners have: builds may not use the host's network, so the
    # action's loopback transfer of cache mounts is refused there and falls back to the context.
    jq -n --argjson snapshotter "$snapshotter" '{
        features: { "containerd-snapshotter": $snapshotter },
        bridge: "bgi-docker2", iptables: false, ip6tables: false,
        builder: { entitlements: { "network-host": false } },
        "log-driver": "json-file"
      }' >"$ETC/daemon2.json"
    log "starting a second dockerd on $SECOND_SOCKET (log: $LOGS/dockerd2.log)"
    PATH=$(engine_path) start_daemon dockerd2 "$dockerd" \
      --config-file "$ETC/daemon2.json" --data-root "$data" \
      --exec-root /run/build-go-image-engine/docker2 \
      --pidfile /run/build-go-image-engine/dockerd2.pid -H "unix://$SECOND_SOCKET"
    wait_for 60 dockerd2 second_answers || {
      show_log_tail dockerd2
      die "the second dockerd did not answer within 60 s"
    }
    printf '%s\n' "$mode" >"$RUN/dockerd2.mode"
  fi
  printf 'unix://%s\n' "$SECOND_SOCKET"
}

cmd_second_down() { stop_pid dockerd2 30; }

# A BuildKit image for docker-container builders of the running engine, built from Debian's sources
# (scripts/buildkit-image.sh, the BuildKit that engine's docker.io vendors), pushed to the local
# registry and recorded as BGI_BUILDKIT_IMAGE (in $PREFIX/buildkit-<engine>.env and engine.env).
cmd_buildkit_image() {
  [[ -f $ENV_FILE ]] || die "run '$0 up' first"
  local out image version
  out=$(ENGINE=$ENGINE MIRROR=$(debian_mirror) WORK=$PREFIX/buildkit INSECURE_REGISTRY=$REGISTRY \
    bash "$(dirname "$0")/buildkit-image.sh")
  # Its last line: "buildkit <version> <image>".
  read -r _ version image <<<"$(tail -n1 <<<"$out")"
  [[ -n $image ]] || die "buildkit-image.sh printed no image"
  # buildkit-image.sh reads the version from docker.io's vendor.mod; ENGINE_SPEC names it too
  [[ $version == "$VENDORED_BUILDKIT" ]] ||
    log "warning: docker.io's source vendors BuildKit $version, ENGINE_SPEC says $VENDORED_BUILDKIT for '$ENGINE': update it"
  printf 'export BGI_BUILDKIT_IMAGE=%q\nexport BGI_BUILDKIT_IMAGE_VERSION=%q\n' "$image" "$version" >"$PREFIX/buildkit-$ENGINE.env"
  grep -v '^export BGI_BUILDKIT_IMAGE' "$ENV_FILE" >"$ENV_FILE.tmp" || true
  cat "$PREFIX/buildkit-$ENGINE.env" >>"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  printf 'buildkit %s %s\n' "$version" "$image"
}

# `up` and `second-up` take an engine name; the others act on the engine that runs.
case ${1:-} in
  up) select_engine "${2:-current}" ;;
  *) select_engine "$(running_engine)" ;;
esac
case ${1:-} in
  up) cmd_up ;;
  buildkit-image) cmd_buildkit_image ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  second-up) cmd_second_up "${2:-}" ;;
  second-down) cmd_second_down ;;
  *)
    echo "usage: $0 up [current|oldest] | down | status | env | buildkit-image | second-up [classic] | second-down" >&2
    exit 2
    ;;
esac
