#!/usr/bin/env bash
# The local build engine the end-to-end tests and benchmarks run against, made from Debian packages
# only (no registry on the internet is reachable where the tests run):
#   containerd + dockerd (containerd image store, so the default `docker` buildx driver builds
#   multi-platform images), the buildx plugin, QEMU binfmt for linux/arm64, Debian's registry on
#   127.0.0.1:5000, and multi-platform base images in it: library/busybox and library/golang.
#
# Usage: bash scripts/build-engine.sh <command> [argument]   (or: npm run engine -- <command> ...)
#   up [engine]      install what is missing, start the engine (stopping another one that runs),
#                    publish missing base images. engine: current (default) or oldest
#   down             stop the daemons `up` and `second-up` started (pid files under the prefix)
#   status           the engine in use and its versions, what runs and what is published
#   engines          the engines there are, as scripts/engine/engines.sh describes them
#   env              print `export` lines for tests (also kept in $PREFIX/engine.env)
#   buildkit-image   build the BuildKit image for docker-container builders of the running engine
#                    (scripts/engine/buildkit-image.sh)
#   second-up [classic] / second-down   a second, independent engine of the same version (its
#                    socket is printed), for the scale-out tests that stand two runners on one machine
#
# The one entry for every engine. What an engine is (suite, packages, versions) and where its files
# and sockets are is data, in scripts/engine/engines.sh; private apt, unpacking, daemons and busybox
# root filesystems are scripts/engine/lib.sh, shared with buildkit-image.sh. This file is what is
# particular to running an engine: its daemons' configuration, QEMU, the registry, the base images.
set -euo pipefail

ENGINE_SCRIPTS=$(dirname "${BASH_SOURCE[0]}")/engine
# shellcheck source=engine/engines.sh
source "$ENGINE_SCRIPTS/engines.sh"
# shellcheck source=engine/lib.sh
source "$ENGINE_SCRIPTS/lib.sh"
LOG_TAG=build-engine

debs_of() { printf '%s\n' "$PREFIX/debs/$1"; } # downloaded .debs of a suite, kept between runs
# suite_deb <suite> <package> <arch>: the newest downloaded .deb of that suite (arch all = independent).
suite_deb() { newest_deb "$(debs_of "$1")" "$2" "$3"; }

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

# 0 when <repo>:<tag> exists in the local registry, as an index or as one platform's manifest
# (imagetools create copies a single source as it is).
registry_has_image() {
  curl -fsS -o /dev/null -I \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_LISTEN/v2/$1/manifests/$2" 2>/dev/null
}

# 0 when every <tag> of <repo> is a multi-platform index in the local registry.
registry_has_all() {
  local repo=$1 tag
  shift
  for tag in "$@"; do registry_has_index "$repo" "$tag" || return 1; done
}

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

# The engine's packages, unpacked into its root; its buildx as the machine's docker CLI plugin.
unpack_engine() {
  local p f debs=()
  for p in $ENGINE_PKGS; do
    f=$(suite_deb "$SUITE" "$p" amd64)
    [[ -n $f ]] || die "no $p .deb from $SUITE in $(debs_of "$SUITE")"
    debs+=("$f")
  done
  unpack_debs "$ENGINE_ROOT" "${debs[@]}"
  local plugin
  plugin=$ENGINE_ROOT/usr/libexec/docker/cli-plugins/docker-buildx
  [[ -x $plugin ]] || plugin=$(find "$ENGINE_ROOT/usr" -type f -perm -u+x -name docker-buildx -path '*cli-plugins*' | head -n1)
  [[ -n $plugin ]] || die "docker-buildx binary not found in the unpacked package"
  if ! cmp -s "$plugin" "$BUILDX_PLUGIN"; then
    mkdir -p "$(dirname "$BUILDX_PLUGIN")"
    install -m 755 "$plugin" "$BUILDX_PLUGIN"
  fi
  if ! command -v docker >/dev/null; then
    ln -sf "$ENGINE_ROOT/usr/bin/docker" /usr/local/bin/docker
  fi
}

# version_at_least <have> <minimum>: dotted versions compared numerically.
version_at_least() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]]; }

# The versions the running engine reports: DOCKER_V, BUILDX_V, CONTAINERD_V, BUILDKIT_V.
read_versions() {
  DOCKER_V=$(docker version -f '{{.Server.Version}}' 2>/dev/null | sed 's/+.*//')
  BUILDX_V=$(docker buildx version 2>/dev/null | awk '{print $2}' | sed 's/^v//; s/+.*//')
  CONTAINERD_V=$("$ENGINE_ROOT/usr/bin/containerd" --version 2>/dev/null | awk '{print $3}' | sed 's/^v//; s/[+~].*//')
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
  for d in "$ENGINE_ROOT/usr/sbin" "$ENGINE_ROOT/usr/bin" "$ENGINE_ROOT/usr/libexec/docker"; do
    [[ -d $d ]] && path+="$d:"
  done
  printf '%s/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' "$path"
}

start_containerd() {
  if pid_alive "$RUN/containerd.pid" && [[ -S $CONTAINERD_SOCKET ]]; then return 0; fi
  mkdir -p "$ENGINE_DATA/containerd" "$(dirname "$CONTAINERD_SOCKET")" "$ETC"
  # containerd 2 reads config version 3 (and migrates 2 with a warning on every start).
  local config_version=2
  [[ $("$ENGINE_ROOT/usr/bin/containerd" --version | awk '{print $3}') =~ ^v?1\. ]] || config_version=3
  cat >"$ETC/containerd.toml" <<CONF
version = $config_version
root = "$ENGINE_DATA/containerd"
state = "$RUNTIME_DIR/containerd"
[grpc]
  address = "$CONTAINERD_SOCKET"
CONF
  log "starting containerd (log: $LOGS/containerd.log)"
  PATH=$(engine_path) start_daemon containerd "$ENGINE_ROOT/usr/bin/containerd" --config "$ETC/containerd.toml"
  wait_for 30 test -S "$CONTAINERD_SOCKET" || {
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
    stop_daemon dockerd 30
    stop_daemon containerd 15
  fi
  start_containerd
  mkdir -p "$ENGINE_DATA/docker" "$ETC"
  local proxy
  proxy=$(find "$ENGINE_ROOT/usr" -type f -name docker-proxy | head -n1)
  jq -n --arg proxy "$proxy" '{
      features: { "containerd-snapshotter": true },
      "userland-proxy-path": $proxy,
      "log-driver": "json-file"
    } | if $proxy == "" then del(."userland-proxy-path") else . end' >"$ETC/daemon.json"
  log "starting dockerd (log: $LOGS/dockerd.log)"
  PATH=$(engine_path) start_daemon dockerd "$ENGINE_ROOT/usr/sbin/dockerd" \
    --config-file "$ETC/daemon.json" --data-root "$ENGINE_DATA/docker" --exec-root "$RUNTIME_DIR/docker" \
    --pidfile "$RUNTIME_DIR/dockerd.pid" --containerd "$CONTAINERD_SOCKET" \
    -H "unix://$DOCKER_SOCKET"
  wait_for 60 docker_answers || {
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
  wait_for 30 registry_answers || {
    show_log_tail registry
    die "the registry did not answer on $REGISTRY_LISTEN"
  }
}

# --- base images ---------------------------------------------------------------------------------

# Unpacks busybox-static for an arch (once) and prints the path of its binary.
rootfs_busybox() {
  local arch=$1 dir f
  dir=$IMAGES_WORK/busybox-$arch
  f=$(suite_deb "$IMAGE_SUITE" busybox-static "$arch")
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
  local arch=$1 dest=$2
  rm -rf "$dest"
  mkdir -p "$dest/bin"
  base_rootfs "$dest"
  install -m 755 "$(rootfs_busybox "$arch")" "$dest/bin/busybox"
  # The amd64 binary lists the applets; both arches carry the same set.
  link_applets "$(rootfs_busybox amd64)" "$dest/bin"
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

# join_index <repo> <tag> <arches> [name...]: joins the pushed per-arch tags of <repo>:<tag> (arches:
# space-separated) into one index and tags it with every name given.
join_index() {
  local repo=$1 tag=$2 arches sources=() targets=() t arch
  read -ra arches <<<"$3"
  shift 3
  for arch in "${arches[@]}"; do sources+=("$REGISTRY/$repo:$tag-$arch"); done
  for t in "$tag" "$@"; do targets+=(-t "$REGISTRY/$repo:$t"); done
  docker buildx imagetools create "${targets[@]}" "${sources[@]}" >/dev/null 2>&1
  # A stale local copy would shadow the new index for the docker driver.
  for t in "$tag" "$@"; do docker rmi -f "$REGISTRY/$repo:$t" >/dev/null 2>&1 || true; done
}

publish_busybox() {
  local version arch
  version=$(deb_upstream_version "$(suite_deb "$IMAGE_SUITE" busybox-static amd64)")
  if registry_has_all library/busybox stable latest "$version"; then
    BUSYBOX_VERSION=$version
    return 0
  fi
  log "building $BASE_REGISTRY/busybox:$version (stable, latest) for ${ARCHES[*]}"
  for arch in "${ARCHES[@]}"; do
    make_busybox_rootfs "$arch" "$IMAGES_WORK/rootfs-busybox-$arch"
    import_and_push "$IMAGES_WORK/rootfs-busybox-$arch" "$arch" "$BASE_REGISTRY/busybox:$version" 'CMD ["sh"]'
    rm -rf "$IMAGES_WORK/rootfs-busybox-$arch"
  done
  join_index library/busybox "$version" "${ARCHES[*]}" stable latest
  BUSYBOX_VERSION=$version
}

# push_golang_arches <version> <src .deb> <arch>=<golang-N-go .deb>...: for each arch, a busybox root
# with Debian's Go toolchain of that version, checked to run there, pushed as golang:<version>-<arch>.
push_golang_arches() {
  local version=$1 src_deb=$2 pair arch go_deb says
  shift 2
  local minor=${version%.*}
  local goroot=/usr/lib/go-$minor share=/usr/share/go-$minor
  for pair in "$@"; do
    arch=${pair%%=*} go_deb=${pair#*=}
    local dir=$IMAGES_WORK/rootfs-golang-$arch
    make_busybox_rootfs "$arch" "$dir"
    dpkg-deb -x "$go_deb" "$dir"
    dpkg-deb -x "$src_deb" "$dir"
    rm -rf "$dir/usr/share/doc" "$dir/usr/share/man" "$dir/usr/share/lintian"
    # pkg/include points into a package that is not installed; assembly packages need its headers.
    mkdir -p "$dir$share/pkg/include"
    cp "$dir$share/src/runtime/"*.h "$dir$share/pkg/include/"
    [[ -e $dir$goroot/pkg/include/textflag.h ]] || die "pkg/include still dangles in the golang image"
    mkdir -p "$dir/go/bin" "$dir/go/src" "$dir/go/pkg"
    chmod -R 1777 "$dir/go"
    # The root holds busybox and the toolchain, nothing else: Debian links go statically, and a
    # go that needed a libc would fail here, in the image's own root (an arm64 one through QEMU).
    # GOROOT is given because a bare chroot has no /proc for go to find itself through.
    says=$(chroot "$dir" /bin/env -i "PATH=$goroot/bin:/bin" HOME=/root "GOROOT=$goroot" GOTOOLCHAIN=local \
      go version 2>"$dir.stderr") || die "go of $(basename "$go_deb") does not run in its image ($arch): $(cat "$dir.stderr")"
    rm -f "$dir.stderr"
    [[ $says == "go version go$version linux/$arch" ]] || die "go of $(basename "$go_deb") says '$says', not go$version for $arch"
    import_and_push "$dir" "$arch" "$BASE_REGISTRY/golang:$version" \
      "ENV PATH=/go/bin:$goroot/bin:/bin" 'ENV GOTOOLCHAIN=local' 'ENV GOPATH=/go' \
      "ENV GOLANG_VERSION=$version" 'ENV HOME=/root' 'WORKDIR /go' 'CMD ["sh"]'
    rm -rf "$dir"
  done
}

publish_golang() {
  local version arch debs=()
  version=$(deb_upstream_version "$(suite_deb "$IMAGE_SUITE" "golang-$IMAGE_GO_MINOR-go" amd64)")
  [[ $version == "$IMAGE_GO_MINOR".* ]] || die "golang-$IMAGE_GO_MINOR-go has version $version"
  if registry_has_all library/golang "$version" "$IMAGE_GO_MINOR" "$version-$IMAGE_SUITE"; then
    GO_VERSION=$version
    return 0
  fi
  log "building $BASE_REGISTRY/golang:$version ($IMAGE_GO_MINOR, $version-$IMAGE_SUITE) for ${ARCHES[*]}"
  for arch in "${ARCHES[@]}"; do debs+=("$arch=$(suite_deb "$IMAGE_SUITE" "golang-$IMAGE_GO_MINOR-go" "$arch")"); done
  push_golang_arches "$version" "$(suite_deb "$IMAGE_SUITE" "golang-$IMAGE_GO_MINOR-src" all)" "${debs[@]}"
  join_index library/golang "$version" "${ARCHES[*]}" "$IMAGE_GO_MINOR" "$version-$IMAGE_SUITE"
  GO_VERSION=$version
}

# go_release <Debian version>: the Go release it packages (1.26.11-1~bpo13+1 -> 1.26.11), or nothing
# for a pre-release (1.27~rc1-1).
go_release() {
  local v=${1#*:}
  v=${v%-*}
  if [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then printf '%s\n' "$v"; fi
}

# suite_candidate <suite> <package>: the version apt would download from that suite, or nothing.
suite_candidate() {
  private_apt "$1" apt-cache policy "$2" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2; exit }'
}

# patch_pair <minor>: when the two PATCH_GO_SUITES carry golang-<minor>-go at different patches, sets
# PATCH_FROM and PATCH_TO ("<release> <suite> <Debian version>", the older first).
patch_pair() {
  local a=${PATCH_GO_SUITES[0]} b=${PATCH_GO_SUITES[1]} da db ra rb
  da=$(suite_candidate "$a" "golang-$1-go") db=$(suite_candidate "$b" "golang-$1-go")
  ra=$(go_release "$da") rb=$(go_release "$db")
  [[ -n $ra && -n $rb && $ra != "$rb" ]] || return 1
  if [[ $(printf '%s\n' "$ra" "$rb" | sort -V | head -n1) == "$ra" ]]; then
    PATCH_FROM="$ra $a $da" PATCH_TO="$rb $b $db"
  else
    PATCH_FROM="$rb $b $db" PATCH_TO="$ra $a $da"
  fi
}

# pick_go_patches: the pinned patches while the suites carry them, else the newest minor both
# suites carry at different patches (patch_pair); 1 when there is none.
pick_go_patches() {
  local s minor
  for s in "${PATCH_GO_SUITES[@]}"; do suite_lists "$s" 720; done
  if patch_pair "${PATCH_GO_FROM%.*}" && [[ ${PATCH_FROM%% *} == "$PATCH_GO_FROM" && ${PATCH_TO%% *} == "$PATCH_GO_TO" ]]; then
    return 0
  fi
  for minor in $(
    for s in "${PATCH_GO_SUITES[@]}"; do private_apt "$s" apt-cache pkgnames golang-1. 2>/dev/null; done |
      sed -nE 's/^golang-([0-9]+\.[0-9]+)-go$/\1/p' | sort -urV
  ); do
    patch_pair "$minor" && return 0
  done
  return 1
}

# The two golang images of one minor a patch apart (PATCH_GO_* in engines.sh), for PATCH_GO_ARCHES.
# Sets GO_PATCH_FROM and GO_PATCH_TO, or leaves them empty with a warning when the mirror has no two
# such patches (the test that needs them then says so).
publish_patch_golang() {
  GO_PATCH_FROM= GO_PATCH_TO=
  # The tag itself is written last (join_index), after every arch was pushed: it marks a whole image.
  if registry_has_image library/golang "$PATCH_GO_FROM" && registry_has_image library/golang "$PATCH_GO_TO"; then
    GO_PATCH_FROM=$PATCH_GO_FROM GO_PATCH_TO=$PATCH_GO_TO
    return 0
  fi
  if ! pick_go_patches; then
    log "warning: ${PATCH_GO_SUITES[*]} carry no minor of Go at two different patches: no images for the Go patch-bump test"
    return 0
  fi
  local side release suite deb arch dir debs
  for side in "$PATCH_FROM" "$PATCH_TO"; do
    read -r release suite deb <<<"$side"
    registry_has_image library/golang "$release" && continue
    dir=$(debs_of "$suite") debs=()
    for arch in "${PATCH_GO_ARCHES[@]}"; do debs+=("golang-${release%.*}-go:$arch=$deb"); done
    fetch_debs "$suite" "$dir" "${debs[@]}" "golang-${release%.*}-src=$deb" ||
      die "apt-get download of Go $release from $suite failed"
    log "building $BASE_REGISTRY/golang:$release (Debian $suite $deb) for ${PATCH_GO_ARCHES[*]}"
    debs=()
    for arch in "${PATCH_GO_ARCHES[@]}"; do debs+=("$arch=$dir/golang-${release%.*}-go_${deb}_$arch.deb"); done
    push_golang_arches "$release" "$dir/golang-${release%.*}-src_${deb}_all.deb" "${debs[@]}"
    join_index library/golang "$release" "${PATCH_GO_ARCHES[*]}"
  done
  GO_PATCH_FROM=${PATCH_FROM%% *} GO_PATCH_TO=${PATCH_TO%% *}
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
    if [[ -n $GO_PATCH_FROM ]]; then
      # Two golang images a patch apart, for the test of a pull request that bumps the Go patch.
      printf 'export BGI_GO_PATCH_FROM=%q\n' "$GO_PATCH_FROM"
      printf 'export BGI_GO_PATCH_TO=%q\n' "$GO_PATCH_TO"
      printf 'export BGI_GO_PATCH_PLATFORMS=%q\n' "$(printf 'linux/%s,' "${PATCH_GO_ARCHES[@]}" | sed 's/,$//')"
    fi
    printf 'export BGI_ENGINE=%q\n' "$ENGINE"
    printf 'export BGI_DOCKER_VERSION=%q\n' "$DOCKER_V"
    printf 'export BGI_BUILDX_VERSION=%q\n' "$BUILDX_V"
    printf 'export BGI_CONTAINERD_VERSION=%q\n' "$CONTAINERD_V"
    printf 'export BGI_BUILDKIT_VERSION=%q\n' "$BUILDKIT_V"
    # Written by `buildkit-image` for this engine: the image stays in the registry between runs.
    grep -s '^export BGI_BUILDKIT_IMAGE' "$BUILDKIT_ENV" || true
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

cmd_up() {
  [[ $(id -u) == 0 ]] || die "run as root (installs packages, starts daemons, mounts binfmt_misc)"
  mkdir -p "$PREFIX" "$LOGS" "$RUN" "$IMAGES_WORK"
  install_host_packages
  # shellcheck disable=SC2086 # the engine's package list is words
  fetch_debs "$SUITE" "$(debs_of "$SUITE")" $ENGINE_PKGS || die "apt-get download from $SUITE failed"
  fetch_debs "$IMAGE_SUITE" "$(debs_of "$IMAGE_SUITE")" "${IMAGE_PACKAGES[@]}" ||
    die "apt-get download from $IMAGE_SUITE failed"
  unpack_engine
  start_dockerd
  enable_qemu
  start_registry
  docker buildx version >/dev/null || die "the buildx plugin does not run"
  check_versions
  publish_busybox
  publish_golang
  publish_patch_golang
  write_env
  log "ready: the $ENGINE engine (Debian $SUITE): dockerd $DOCKER_V, buildx $BUILDX_V, containerd $CONTAINERD_V, BuildKit $BUILDKIT_V; registry $REGISTRY"
  log "published $BASE_REGISTRY/busybox:$BUSYBOX_VERSION and $BASE_REGISTRY/golang:$GO_VERSION (also :$IMAGE_GO_MINOR, :$GO_VERSION-$IMAGE_SUITE)"
  [[ -z $GO_PATCH_FROM ]] ||
    log "published $BASE_REGISTRY/golang:$GO_PATCH_FROM and :$GO_PATCH_TO for ${PATCH_GO_ARCHES[*]} (the Go patch-bump test)"
  printf 'golang %s\n' "$GO_VERSION"
}

cmd_down() {
  cmd_second_down
  stop_daemon dockerd 30
  stop_daemon containerd 15
  stop_daemon registry 10
}

# The engine in use and its versions first, then each daemon, QEMU, the registry and engine.env.
cmd_status() {
  local name state
  if docker_answers; then
    read_versions
    printf '%-11s %s\n' engine "$ENGINE (Debian $SUITE): dockerd $DOCKER_V, buildx $BUILDX_V, containerd $CONTAINERD_V, BuildKit $BUILDKIT_V"
  else
    printf '%-11s %s\n' engine "none answers on $DOCKER_SOCKET (the last one started: $(running_engine))"
  fi
  local image
  image=$(grep -s '^export BGI_BUILDKIT_IMAGE=' "$BUILDKIT_ENV" | sed 's/^[^=]*=//' || true)
  printf '%-11s %s\n' buildkit "image for docker-container builders: ${image:-none yet (buildkit-image builds it)}"
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

# The engines' records, one line each.
cmd_engines() {
  local name
  for name in "${ENGINES[@]}"; do
    select_engine "$name"
    printf '%-8s Debian %-7s %s; at least Docker %s, buildx %s, containerd %s; BuildKit %s (docker.io %s, Go %s)\n' \
      "$name" "$SUITE" "$ENGINE_PKGS" "$MIN_DOCKER" "$MIN_BUILDX" "$MIN_CONTAINERD" "$VENDORED_BUILDKIT" \
      "$DOCKER_IO_UPSTREAM-$DOCKER_IO_REVISION" "$ENGINE_GO"
  done
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "no $ENV_FILE: run 'bash scripts/build-engine.sh up' first"
  grep '^export ' "$ENV_FILE"
}

# --- a second engine -----------------------------------------------------------------------------
# Stands in for a second runner in the scale-out tests: its own dockerd, data root, containerd
# (managed by that dockerd), BuildKit state, socket and bridge.

second_answers() { DOCKER_HOST=unix://$SECOND_SOCKET docker info >/dev/null 2>&1; }

# second-up [classic]: "classic" gives the second engine Docker's classic image store instead of
# containerd's (its own data root), so its docker driver cannot build several platforms at once.
cmd_second_up() {
  [[ $(id -u) == 0 ]] || die "run as root (starts a daemon)"
  docker_answers || die "the first engine is not running: run '$0 up' first"
  local mode=${1:-containerd} data snapshotter=true
  [[ $mode == containerd || $mode == classic ]] || die "second-up takes no argument or 'classic'"
  data=$ENGINE_DATA/docker2
  [[ $mode == classic ]] && data=$ENGINE_DATA/docker2-classic snapshotter=false
  [[ -x $ENGINE_ROOT/usr/sbin/dockerd ]] || die "the $ENGINE engine is not unpacked: run '$0 up $ENGINE' first"
  if second_answers && [[ $(cat "$RUN/dockerd2.mode" 2>/dev/null) != "$mode" ]]; then
    log "restarting the second dockerd with the $mode image store"
    stop_daemon dockerd2 30
  fi
  if ! second_answers; then
    local dockerd=$ENGINE_ROOT/usr/sbin/dockerd
    [[ -x $dockerd ]] || dockerd=$(command -v dockerd) || die "no dockerd binary for a second engine"
    mkdir -p "$data" "$ETC" "$RUNTIME_DIR/docker2"
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
      --exec-root "$RUNTIME_DIR/docker2" \
      --pidfile "$RUNTIME_DIR/dockerd2.pid" -H "unix://$SECOND_SOCKET"
    wait_for 60 second_answers || {
      show_log_tail dockerd2
      die "the second dockerd did not answer within 60 s"
    }
    printf '%s\n' "$mode" >"$RUN/dockerd2.mode"
  fi
  printf 'unix://%s\n' "$SECOND_SOCKET"
}

cmd_second_down() { stop_daemon dockerd2 30; }

# A BuildKit image for docker-container builders of the running engine, built from Debian's sources
# (scripts/engine/buildkit-image.sh, the BuildKit that engine's docker.io vendors), pushed to the
# local registry and recorded as BGI_BUILDKIT_IMAGE (in $BUILDKIT_ENV and engine.env).
cmd_buildkit_image() {
  [[ -f $ENV_FILE ]] || die "run '$0 up' first"
  local out image version
  out=$(ENGINE=$ENGINE bash "$ENGINE_SCRIPTS/buildkit-image.sh")
  # Its last line: "buildkit <version> <image>".
  read -r _ version image <<<"$(tail -n1 <<<"$out")"
  [[ -n $image ]] || die "buildkit-image.sh printed no image"
  # buildkit-image.sh reads the version from docker.io's vendor.mod; the engine's record names it too
  [[ $version == "$VENDORED_BUILDKIT" ]] ||
    log "warning: docker.io's source vendors BuildKit $version, scripts/engine/engines.sh says $VENDORED_BUILDKIT for '$ENGINE': update it"
  printf 'export BGI_BUILDKIT_IMAGE=%q\nexport BGI_BUILDKIT_IMAGE_VERSION=%q\n' "$image" "$version" >"$BUILDKIT_ENV"
  grep -v '^export BGI_BUILDKIT_IMAGE' "$ENV_FILE" >"$ENV_FILE.tmp" || true
  cat "$BUILDKIT_ENV" >>"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  printf 'buildkit %s %s\n' "$version" "$image"
}

usage() {
  echo "usage: $0 up [$(
    IFS='|'
    echo "${ENGINES[*]}"
  )] | down | status | engines | env | buildkit-image | second-up [classic] | second-down" >&2
  exit 2
}

# `up` takes an engine name; the others act on the engine that runs.
case ${1:-} in
  up) select_engine "${2:-current}" || die "unknown engine '${2:-}': use one of ${ENGINES[*]}" ;;
  *) select_engine "$(running_engine)" || die "$RUN/engine.name names no engine of scripts/engine/engines.sh" ;;
esac
case ${1:-} in
  up) cmd_up ;;
  buildkit-image) cmd_buildkit_image ;;
  down) cmd_down ;;
  status) cmd_status ;;
  engines) cmd_engines ;;
  env) cmd_env ;;
  second-up) cmd_second_up "${2:-}" ;;
  second-down) cmd_second_down ;;
  *) usage ;;
esac
