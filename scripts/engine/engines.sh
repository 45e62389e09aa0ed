# shellcheck shell=bash
# The build engines, as data, and where everything of theirs lives on the machine. Sourced by
# scripts/build-engine.sh and scripts/engine/buildkit-image.sh; defines variables and one function,
# runs nothing.
#
# An engine is one Debian suite's docker.io, containerd and docker-buildx, unpacked under the
# prefix (the machine's own apt sources stay untouched). Its record says:
#   suite             the Debian suite its packages come from (fetched with a private apt configuration)
#   packages          what is unpacked into its root (tini(-static) is dockerd's docker-init, which
#                     buildx uses to start docker-container builders). runc always comes from the
#                     host: sid's needs glibc 2.38, the host has 2.36
#   min_docker, min_buildx, min_containerd
#                     the oldest versions `up` accepts from that suite (the suites move on)
#   buildkit          the BuildKit docker.io's source vendors (engine/vendor.mod): Debian builds dockerd
#                     without BuildKit's version stamp, so buildx reports v0.0.0+unknown for it
#   docker_io, docker_io_revision
#                     the docker.io source (upstream version, Debian revision) the BuildKit image for
#                     docker-container builders is built from; when the mirror has moved on to another
#                     revision of that upstream version, buildkit-image.sh takes that one
#   go                the Go toolchain docker.io was built with (its Static-Built-Using field)
#   buildkit_patches  the patches of docker.io's debian/patches/series that touch buildkit/
#   local_patches     patches of our own for buildkitd, which Debian does not build itself
#                     (scripts/engine/patches/<name>.patch)
ENGINES=(current oldest)

# What hosted runners run (Docker 28-29, buildx 0.3x): every test.
declare -A ENGINE_current=(
  [suite]=sid
  [packages]="docker.io containerd docker-buildx tini-static"
  [min_docker]=28.0 [min_buildx]=0.29 [min_containerd]=2.0
  [buildkit]=0.25.2
  [docker_io]=28.5.2+dfsg4 [docker_io_revision]=5
  [go]=1.27
  [buildkit_patches]="buildkit-remove-jaeger engine-ftbfs-mips CVE-2026-33747 CVE-2026-33748"
  [local_patches]="buildkitd-without-fuse-overlayfs-and-stargz"
)

# The oldest engine the action supports (MINIMUM_VERSIONS in src/buildx/versions.ts).
declare -A ENGINE_oldest=(
  [suite]=trixie
  [packages]="docker.io containerd docker-buildx tini"
  [min_docker]=26.1 [min_buildx]=0.13 [min_containerd]=1.7
  [buildkit]=0.13.2
  [docker_io]=26.1.5+dfsg1 [docker_io_revision]=9+deb13u1
  [go]=1.24
  [buildkit_patches]="buildkit-remove-hcsshim buildkit-remove-jaeger engine-ftbfs-mips grpc-middleware-v1 buildkit-CVE-2026-33747-validate-container-id buildkit-CVE-2026-33748-git-subdir-symlink-escape"
  [local_patches]=""
)

# --- shared by every engine ------------------------------------------------------------------------
# One engine runs at a time, on the same sockets; the registry and its base images are shared.
PREFIX=${BGI_ENGINE_PREFIX:-/opt/build-go-image-engine}
RUN=$PREFIX/run         # pid files, the name of the running engine
LOGS=$PREFIX/logs       # daemon and apt logs
ETC=$PREFIX/etc         # daemon configurations
IMAGES_WORK=$PREFIX/work # base-image root filesystems while they are assembled
ENV_FILE=$PREFIX/engine.env
REGISTRY_DATA=$PREFIX/registry
RUNTIME_DIR=/run/build-go-image-engine
DOCKER_SOCKET=/var/run/docker.sock
CONTAINERD_SOCKET=$RUNTIME_DIR/containerd.sock
SECOND_SOCKET=$RUNTIME_DIR/docker2.sock # the second engine of the scale-out tests
REGISTRY_LISTEN=127.0.0.1:5000
REGISTRY=localhost:5000
BASE_REGISTRY=$REGISTRY/library
BUILDX_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-buildx

# Base images come from trixie whatever the engine: Go 1.24 and busybox, both architectures.
IMAGE_SUITE=trixie
IMAGE_GO_MINOR=1.24
IMAGE_PACKAGES=("golang-$IMAGE_GO_MINOR-go:amd64" "golang-$IMAGE_GO_MINOR-go:arm64" "golang-$IMAGE_GO_MINOR-src"
  busybox-static:amd64 busybox-static:arm64)
ARCHES=(amd64 arm64)

# Two patches of one Go minor, for the end-to-end test of a pull request that bumps the Go patch
# (main builds with the older, the pull request with the newer, and the size report names the
# change). Debian carries one patch of a minor per suite, so the two come from two suites, each as
# golang:<version> made like the 1.24 image above. amd64 only: that test builds linux/amd64
# natively, and each patch costs about 44 MB of .debs (golang-N-go + golang-N-src) on every fresh CI
# machine; arm64 would add 20 MB a patch for nothing the 1.24 images do not already cover.
# Pinned; when a suite no longer has its pin (Debian moves on), `up` takes the newest minor that
# both suites carry at different patches, the older patch from one and the newer from the other.
PATCH_GO_SUITES=(sid trixie-backports)
PATCH_GO_FROM=1.26.10 # sid: golang-1.26-go 1.26.10-1
PATCH_GO_TO=1.26.11   # trixie-backports: golang-1.26-go 1.26.11-1~bpo13+1
PATCH_GO_ARCHES=(amd64)
# From the machine's own Debian sources, with plain apt-get.
HOST_PACKAGES=(runc iptables qemu-user-static binfmt-support docker-registry zstd ca-certificates curl jq openssl)

# The engine that `up` last started (or "current" when none did).
running_engine() { cat "$RUN/engine.name" 2>/dev/null || echo current; }

# select_engine <name>: reads that engine's record into ENGINE, SUITE, ENGINE_PKGS, MIN_DOCKER,
# MIN_BUILDX, MIN_CONTAINERD, VENDORED_BUILDKIT, DOCKER_IO_UPSTREAM, DOCKER_IO_REVISION, ENGINE_GO,
# BUILDKIT_PATCHES and LOCAL_PATCHES (arrays), and sets its paths: ENGINE_ROOT (the unpacked
# packages), ENGINE_DATA (containerd and docker state), BUILDKIT_WORK (the BuildKit image's build
# tree), BUILDKIT_ENV (the BuildKit image that was built for it). Returns 1 for an unknown name.
select_engine() {
  [[ " ${ENGINES[*]} " == *" $1 "* ]] || return 1
  local -n record=ENGINE_$1
  ENGINE=$1
  SUITE=${record[suite]}
  ENGINE_PKGS=${record[packages]}
  MIN_DOCKER=${record[min_docker]}
  MIN_BUILDX=${record[min_buildx]}
  MIN_CONTAINERD=${record[min_containerd]}
  VENDORED_BUILDKIT=${record[buildkit]}
  DOCKER_IO_UPSTREAM=${record[docker_io]}
  DOCKER_IO_REVISION=${record[docker_io_revision]}
  ENGINE_GO=${record[go]}
  read -ra BUILDKIT_PATCHES <<<"${record[buildkit_patches]}"
  read -ra LOCAL_PATCHES <<<"${record[local_patches]}"
  ENGINE_ROOT=$PREFIX/engines/$1/root
  ENGINE_DATA=$PREFIX/engines/$1/data
  BUILDKIT_WORK=$PREFIX/buildkit/$1
  BUILDKIT_ENV=$PREFIX/buildkit-$1.env
}
