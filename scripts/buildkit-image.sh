#!/usr/bin/env bash
# Builds a BuildKit daemon image (buildkitd + buildctl + runc), the kind
# `docker buildx create --driver docker-container` runs, for the end-to-end tests of builders the
# action creates. The test machines reach no image registry on the internet (no moby/buildkit), so
# it is built from the Debian suite of the engine under test (ENGINE, below), matching the BuildKit
# that engine's dockerd embeds:
#   - BuildKit source: the suite's docker.io source. Its orig-buildkit component plus the Debian
#     patches that touch buildkit/ when the mirror carries it (trixie); otherwise the tree that
#     docker.io's own golang-github-docker-docker-dev package ships, built from the same source with
#     those patches applied (sid: the mirror keeps no orig-buildkit of 28.5.2+dfsg4), checked by
#     reverse-applying the patches' buildkit/ hunks
#   - BuildKit version: read from the engine's vendor.mod in docker.io's orig tarball, not assumed
#   - Go toolchain: the suite's golang-1.NN-go + golang-1.NN-src .debs (the Go docker.io was built with)
#   - Go dependencies: the suite's golang-*-dev .debs (GOPATH mode, GO111MODULE=off, like debian/rules)
#   - image contents: the suite's runc, libc6, libseccomp2, busybox-static, ca-certificates .debs
#     (runc runs on the image's own libc: sid's runc needs glibc 2.38, the host may have less)
# Nothing is installed on the host: .debs are fetched with a private apt configuration and
# unpacked with dpkg-deb -x under $WORK/$ENGINE (one tree per engine, so engines never mix).
# Needs: apt-get, apt-cache, dpkg-deb, curl, xz, tar, patch, awk, docker (for the image).
# Idempotent: finished steps are skipped on a re-run. Cold, on 2 busy cores: current (sid, BuildKit
# 0.25) 490 s (536 -dev packages: 100 s to fetch and unpack, 330 s to compile), oldest (trixie,
# BuildKit 0.13) 306 s; a re-run with nothing to do takes about 30 s.
#
# The image's /etc/buildkit/buildkitd.toml (buildkitd's default config path) lets it push to the
# test registry on localhost over plain HTTP.
#
# Usage: bash scripts/build-engine.sh buildkit-image   (sets ENGINE, WORK, MIRROR, then runs this)
# Env:   ENGINE current|oldest (default current)   WORK (default /opt/build-go-image-engine/buildkit)
#        MIRROR (default http://deb.debian.org/debian)   IMAGE (default
#        localhost:5000/moby/buildkit:v<BuildKit version>-debian)   PUSH=0 to only build locally
#        INSECURE_REGISTRY (default localhost:5000)   FORCE_BUILD=1 to recompile the binaries
#        MATCH_ENGINE=0 to build without a running engine of that docker.io version
# Prints its progress on stderr and, last on stdout: "buildkit <version> <image>".
set -euo pipefail

ENGINE=${ENGINE:-current}
# engine -> "suite|docker.io upstream version|Debian revision|Go toolchain|Debian patches|local patches"
# The revision is the one the engine was checked with; when the mirror has moved on to another
# revision of the same upstream version, that one is used (the engine itself is unpinned too).
# The Go toolchain is the one docker.io was built with (its Static-Built-Using field).
# Debian patches: those of debian/patches/series that touch buildkit/ (the rest are engine/, cli/).
# Local patches (local_patch below): for buildkitd, which Debian does not build itself.
declare -A ENGINE_SPEC=(
  [current]="sid|28.5.2+dfsg4|5|1.27|buildkit-remove-jaeger engine-ftbfs-mips CVE-2026-33747 CVE-2026-33748|buildkitd-without-fuse-overlayfs-and-stargz"
  [oldest]="trixie|26.1.5+dfsg1|9+deb13u1|1.24|buildkit-remove-hcsshim buildkit-remove-jaeger engine-ftbfs-mips grpc-middleware-v1 buildkit-CVE-2026-33747-validate-container-id buildkit-CVE-2026-33748-git-subdir-symlink-escape|"
)
spec=${ENGINE_SPEC[$ENGINE]:-}
[[ -n $spec ]] || {
  echo "buildkit-image: unknown ENGINE '$ENGINE': use one of ${!ENGINE_SPEC[*]}" >&2
  exit 2
}
IFS='|' read -r SUITE DOCKER_UPSTREAM DOCKER_DEBREV GO_MINOR patches local_patches <<<"$spec"
read -ra BUILDKIT_PATCHES <<<"$patches"
read -ra LOCAL_PATCHES <<<"$local_patches"

WORK=${WORK:-/opt/build-go-image-engine/buildkit}/$ENGINE
MIRROR=${MIRROR:-http://deb.debian.org/debian}
INSECURE_REGISTRY=${INSECURE_REGISTRY:-localhost:5000}
PUSH=${PUSH:-1}
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

TAGS="osusergo netgo static_build seccomp" # as upstream's Dockerfile, minus cgo; nydus is opt-in (tag) upstream
# never unpack these: they overlap a preferred package (docker.io Build-Depends on protobuf-1-5)
EXCLUDE_DEV=(golang-github-golang-protobuf-1-3-dev)
IMAGE_DEBS=(runc:amd64 libseccomp2:amd64 libc6:amd64 libgcc-s1:amd64 busybox-static:amd64 ca-certificates)

APT=$WORK/apt
DEBS=$WORK/debs          # Go dependency .debs
IMGDEBS=$WORK/debs-image # .debs for the image rootfs
GOROOT_DIR=$WORK/go      # unpacked golang-1.NN-go/-src
ROOT=$WORK/root          # unpacked golang-*-dev (usr/share/gocode)
SRC=$WORK/src
GOPATH1=$WORK/gopath
OUT=$WORK/out
IMG=$WORK/image
LOG=$WORK/logs

log() { printf '[%(%H:%M:%S)T buildkit-image] %s\n' -1 "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
step_start() {
  STEP_NAME=$1
  STEP_T0=$(date +%s)
  log "== $1"
}
step_end() { log "== $STEP_NAME done in $(($(date +%s) - STEP_T0))s"; }

papt() {
  apt-get -o Dir::Etc::sourcelist="$APT/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts=- \
    -o Dir::State::Lists="$APT/lists" -o Dir::State::status="$APT/status" \
    -o Dir::Cache="$APT/cache" -o APT::Architecture=amd64 \
    -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 \
    -o Acquire::Languages=none -o APT::Sandbox::User=root -q "$@"
}
pcache() {
  apt-cache -o Dir::Etc::sourcelist="$APT/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts=- \
    -o Dir::State::Lists="$APT/lists" -o Dir::State::status="$APT/status" \
    -o Dir::Cache="$APT/cache" -o APT::Architecture=amd64 \
    -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 "$@"
}
fetch() { # fetch <url> <file>: download once
  [[ -s $2 ]] && return 0
  curl -fsS -o "$2.part" "$1" && mv "$2.part" "$2"
}
go_env() {
  export PATH=$GOROOT_DIR/usr/lib/go-$GO_MINOR/bin:$PATH
  export GOROOT=$GOROOT_DIR/usr/lib/go-$GO_MINOR
  export GOPATH=$GOPATH1:$ROOT/usr/share/gocode
  export GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local
  export GOCACHE=$WORK/gocache
}
unpack_debs() { # unpack_debs <dest> <deb>...: dpkg-deb -x once per .deb, then re-root absolute symlinks
  local dest=$1 f b
  shift
  mkdir -p "$dest/.stamps"
  for f in "$@"; do
    b=$(basename "$f")
    [[ -e $dest/.stamps/$b ]] && continue
    dpkg-deb -x "$f" "$dest"
    touch "$dest/.stamps/$b"
  done
  find "$dest/usr" -type l -lname '/*' ! -lname "$dest/*" 2>/dev/null | while read -r l; do
    ln -sfn "$dest$(readlink "$l")" "$l"
  done
}

# buildkit_patch <patch file> [patch options]: runs patch in $SRC/tree and fails when a hunk for a
# file under buildkit/ fails; the files of engine/ and cli/ the patches also touch are absent there.
buildkit_patch() {
  local pf=$1 out
  shift
  out=$(cd "$SRC/tree" && patch -p1 -f "$@" <"$pf" 2>&1) || true
  printf '== %s %s\n%s\n' "$(basename "$pf")" "$*" "$out" >>"$LOG/patch.log"
  awk '/^(checking|patching) file / { f = $3 } /find file to patch/ { f = "" }
       f ~ /^buildkit\// && /FAILED|Skipping|[Rr]eversed|No such file/ { bad = 1; print f ": " $0 }
       END { exit bad }' <<<"$out" >&2
}

# local_patch <name>: prints a patch for buildkit/ of this script's own
local_patch() {
  case $1 in
    buildkitd-without-fuse-overlayfs-and-stargz)
      # BuildKit 0.25's buildkitd links two snapshotters that cannot be built from sid: the
      # fuse-overlayfs one (for rootless daemons without kernel overlayfs) is in no Debian package
      # and only in buildkit/vendor, which the -dev package leaves out; sid's stargz-snapshotter
      # (0.14) predates containerd 2. Both are opt-in (--oci-worker-snapshotter), "auto" picks
      # overlayfs, else native. Dropped as buildkit-remove-jaeger.patch drops jaeger.
      cat <<'PATCH'
--- a/buildkit/cmd/buildkitd/main_oci_worker.go
+++ b/buildkit/cmd/buildkitd/main_oci_worker.go
@@ -4,13 +4,10 @@
 
 import (
 	"context"
-	"fmt"
 	"maps"
 	"os"
 	"os/exec"
-	"path/filepath"
 	"strconv"
-	"strings"
 	"time"
 
 	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
@@ -19,16 +16,9 @@
 	snproxy "github.com/containerd/containerd/v2/core/snapshots/proxy"
 	"github.com/containerd/containerd/v2/defaults"
 	"github.com/containerd/containerd/v2/pkg/dialer"
-	"github.com/containerd/containerd/v2/pkg/reference"
 	"github.com/containerd/containerd/v2/plugins/snapshots/native"
 	"github.com/containerd/containerd/v2/plugins/snapshots/overlay"
 	"github.com/containerd/containerd/v2/plugins/snapshots/overlay/overlayutils"
-	fuseoverlayfs "github.com/containerd/fuse-overlayfs-snapshotter/v2"
-	sgzfs "github.com/containerd/stargz-snapshotter/fs"
-	sgzconf "github.com/containerd/stargz-snapshotter/fs/config"
-	sgzlayer "github.com/containerd/stargz-snapshotter/fs/layer"
-	sgzsource "github.com/containerd/stargz-snapshotter/fs/source"
-	remotesn "github.com/containerd/stargz-snapshotter/snapshot"
 	"github.com/moby/buildkit/cmd/buildkitd/config"
 	"github.com/moby/buildkit/executor/oci"
 	"github.com/moby/buildkit/session"
@@ -36,14 +26,11 @@
 	"github.com/moby/buildkit/util/disk"
 	"github.com/moby/buildkit/util/network/cniprovider"
 	"github.com/moby/buildkit/util/network/netproviders"
-	"github.com/moby/buildkit/util/resolver"
 	"github.com/moby/buildkit/worker"
 	"github.com/moby/buildkit/worker/base"
 	"github.com/moby/buildkit/worker/runc"
 	"github.com/moby/sys/userns"
-	"github.com/pelletier/go-toml"
 	"github.com/pkg/errors"
-	"github.com/sirupsen/logrus"
 	"github.com/urfave/cli"
 	"golang.org/x/sync/semaphore"
 	"google.golang.org/grpc"
@@ -389,13 +376,9 @@
 		if err := overlayutils.Supported(commonRoot); err == nil {
 			name = "overlayfs"
 		} else {
-			bklog.L.Debugf("auto snapshotter: overlayfs is not available for %s, trying fuse-overlayfs: %v", commonRoot, err)
-			if err2 := fuseoverlayfs.Supported(commonRoot); err2 == nil {
-				name = "fuse-overlayfs"
-			} else {
-				bklog.L.Debugf("auto snapshotter: fuse-overlayfs is not available for %s, falling back to native: %v", commonRoot, err2)
-				name = "native"
-			}
+			// fuse-overlayfs-snapshotter is not packaged in Debian: not in this build
+			bklog.L.Debugf("auto snapshotter: overlayfs is not available for %s, falling back to native: %v", commonRoot, err)
+			name = "native"
 		}
 		bklog.L.Infof("auto snapshotter: using %s", name)
 	}
@@ -410,50 +393,10 @@
 		snFactory.New = func(root string) (ctdsnapshot.Snapshotter, error) {
 			return overlay.NewSnapshotter(root, overlay.AsynchronousRemove)
 		}
-	case "fuse-overlayfs":
-		snFactory.New = func(root string) (ctdsnapshot.Snapshotter, error) {
-			// no Opt (AsynchronousRemove is untested for fuse-overlayfs)
-			return fuseoverlayfs.NewSnapshotter(root)
-		}
-	case "stargz":
-		sgzCfg := sgzconf.Config{}
-		if cfg.StargzSnapshotterConfig != nil {
-			// In order to keep the stargz Config type (and dependency) out of
-			// the main BuildKit config, the main config Unmarshalls it into a
-			// generic map[string]interface{}. Here we convert it back into TOML
-			// tree, and unmarshal it to the actual type.
-			t, err := toml.TreeFromMap(cfg.StargzSnapshotterConfig)
-			if err != nil {
-				return snFactory, errors.Wrapf(err, "failed to parse stargz config")
-			}
-			err = t.Unmarshal(&sgzCfg)
-			if err != nil {
-				return snFactory, errors.Wrapf(err, "failed to parse stargz config")
-			}
-		}
-		snFactory.New = func(root string) (ctdsnapshot.Snapshotter, error) {
-			userxattr, err := overlayutils.NeedsUserXAttr(root)
-			if err != nil {
-				bklog.L.WithError(err).Warnf("cannot detect whether \"userxattr\" option needs to be used, assuming to be %v", userxattr)
-			}
-			opq := sgzlayer.OverlayOpaqueTrusted
-			if userxattr {
-				opq = sgzlayer.OverlayOpaqueUser
-			}
-			fs, err := sgzfs.NewFilesystem(filepath.Join(root, "stargz"),
-				sgzCfg,
-				// Source info based on the buildkit's registry config and session
-				sgzfs.WithGetSources(sourceWithSession(hosts, sm)),
-				sgzfs.WithMetricsLogLevel(logrus.DebugLevel),
-				sgzfs.WithOverlayOpaqueType(opq),
-			)
-			if err != nil {
-				return nil, err
-			}
-			return remotesn.NewSnapshotter(context.Background(),
-				filepath.Join(root, "snapshotter"),
-				fs, remotesn.AsynchronousRemove, remotesn.NoRestore)
-		}
+	case "fuse-overlayfs", "stargz":
+		// fuse-overlayfs-snapshotter is not packaged in Debian, and its stargz-snapshotter predates
+		// containerd 2: neither is in this build
+		return snFactory, errors.Errorf("snapshotter %q is not in this build", name)
 	default:
 		return snFactory, errors.Errorf("unknown snapshotter name: %q", name)
 	}
@@ -469,74 +412,3 @@
 	}
 	return true
 }
-
-const (
-	// targetRefLabel is a label which contains image reference.
-	targetRefLabel = "containerd.io/snapshot/remote/stargz.reference"
-
-	// targetDigestLabel is a label which contains layer digest.
-	targetDigestLabel = "containerd.io/snapshot/remote/stargz.digest"
-
-	// targetImageLayersLabel is a label which contains layer digests contained in
-	// the target image.
-	targetImageLayersLabel = "containerd.io/snapshot/remote/stargz.layers"
-
-	// targetSessionLabel is a labeld which contains session IDs usable for
-	// authenticating the target snapshot.
-	targetSessionLabel = "containerd.io/snapshot/remote/stargz.session"
-)
-
-// sourceWithSession returns a callback which implements a converter from labels to the
-// typed snapshot source info. This callback is called everytime the snapshotter resolves a
-// snapshot. This callback returns configuration that is based on buildkitd's registry config
-// and utilizes the session-based authorizer.
-func sourceWithSession(hosts docker.RegistryHosts, sm *session.Manager) sgzsource.GetSources {
-	return func(labels map[string]string) (src []sgzsource.Source, err error) {
-		// labels contains multiple source candidates with unique IDs appended on each call
-		// to the snapshotter API. So, first, get all these IDs
-		var ids []string
-		for k := range labels {
-			if after, ok := strings.CutPrefix(k, targetRefLabel+"."); ok {
-				ids = append(ids, after)
-			}
-		}
-
-		// Parse all labels
-		for _, id := range ids {
-			// Parse session labels
-			ref, ok := labels[targetRefLabel+"."+id]
-			if !ok {
-				continue
-			}
-			named, err := reference.Parse(ref)
-			if err != nil {
-				continue
-			}
-			var sids []string
-			for i := 0; ; i++ {
-				sidKey := targetSessionLabel + "." + fmt.Sprintf("%d", i) + "." + id
-				sid, ok := labels[sidKey]
-				if !ok {
-					break
-				}
-				sids = append(sids, sid)
-			}
-
-			// Get source information based on labels and RegistryHosts containing
-			// session-based authorizer.
-			parse := sgzsource.FromDefaultLabels(func(ref reference.Spec) ([]docker.RegistryHost, error) {
-				return resolver.DefaultPool.GetResolver(hosts, named.String(), "pull", sm, session.NewGroup(sids...)).
-					HostsFunc(ref.Hostname())
-			})
-			if s, err := parse(map[string]string{
-				targetRefLabel:         ref,
-				targetDigestLabel:      labels[targetDigestLabel+"."+id],
-				targetImageLayersLabel: labels[targetImageLayersLabel+"."+id],
-			}); err == nil {
-				src = append(src, s...)
-			}
-		}
-
-		return src, nil
-	}
-}
PATCH
      ;;
    *) die "no local patch named $1" ;;
  esac
}

mkdir -p "$WORK" "$APT/lists/partial" "$APT/cache/archives/partial" "$DEBS" "$IMGDEBS" "$SRC" "$OUT" "$LOG"
: >"$APT/status"
T_ALL=$(date +%s)

# --- 1. indexes + sources -------------------------------------------------------------------------
step_start "1. $SUITE package lists, Contents index, docker.io $DOCKER_UPSTREAM source (buildkit + debian/)"
if [[ ${MATCH_ENGINE:-1} == 1 ]]; then
  # the engine's dockerd reports docker.io's upstream version, e.g. 28.5.2+dfsg4
  running=$(docker version -f '{{.Server.Version}}' 2>/dev/null) || die "no engine answers: start it first (or MATCH_ENGINE=0)"
  [[ $running == "$DOCKER_UPSTREAM" ]] ||
    die "the running engine is docker.io $running, ENGINE=$ENGINE describes $DOCKER_UPSTREAM: run the engine '$ENGINE' or update ENGINE_SPEC"
fi
printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$MIRROR" "$SUITE" >"$APT/sources.list"
if [[ ! -e $APT/.updated ]] || [[ -n $(find "$APT/.updated" -mmin +720) ]]; then
  papt update >"$LOG/apt-update.log" 2>&1 || {
    tail "$LOG/apt-update.log" >&2
    die "apt-get update failed"
  }
  touch "$APT/.updated"
fi
fetch "$MIRROR/dists/$SUITE/main/Contents-all.gz" "$WORK/Contents-all.gz"
if [[ ! -s $WORK/gocode-dirs.txt ]]; then
  # "<import path> <package>" for every directory under usr/share/gocode/src
  zcat "$WORK/Contents-all.gz" | awk '$1 ~ /^usr\/share\/gocode\/src\// {
      f = $1; sub(/^usr\/share\/gocode\/src\//, "", f); sub(/\/[^\/]*$/, "", f)
      n = split($2, a, ","); for (i = 1; i <= n; i++) { p = a[i]; sub(/.*\//, "", p); print f, p } }' |
    sort -u >"$WORK/gocode-dirs.txt.part"
  mv "$WORK/gocode-dirs.txt.part" "$WORK/gocode-dirs.txt"
fi
# The Debian revision: the one checked, or the suite's current one of the same upstream version.
POOL=$MIRROR/pool/main/d/docker.io
debian_tar() { printf '%s/docker.io_%s-%s.debian.tar.xz' "$SRC" "$DOCKER_UPSTREAM" "$DOCKER_DEBREV"; }
if ! fetch "$POOL/docker.io_${DOCKER_UPSTREAM}-${DOCKER_DEBREV}.debian.tar.xz" "$(debian_tar)" 2>/dev/null; then
  candidate=$(pcache policy docker.io 2>/dev/null | awk '/Candidate:/ { print $2 }')
  [[ ${candidate%-*} == "$DOCKER_UPSTREAM" ]] ||
    die "$SUITE has neither docker.io ${DOCKER_UPSTREAM}-${DOCKER_DEBREV} nor another revision of it (it has ${candidate:-none}): update ENGINE_SPEC"
  log "docker.io ${DOCKER_UPSTREAM}-${DOCKER_DEBREV} is gone from the mirror: using $candidate"
  DOCKER_DEBREV=${candidate##*-}
  fetch "$POOL/docker.io_${DOCKER_UPSTREAM}-${DOCKER_DEBREV}.debian.tar.xz" "$(debian_tar)" ||
    die "cannot fetch docker.io_${DOCKER_UPSTREAM}-${DOCKER_DEBREV}.debian.tar.xz"
fi
# The BuildKit the engine vendors (and embeds): engine/vendor.mod of docker.io's main orig tarball.
fetch "$POOL/docker.io_${DOCKER_UPSTREAM}.orig.tar.xz" "$SRC/orig.tar.xz" || die "cannot fetch docker.io's orig tarball"
if [[ ! -s $SRC/buildkit-version ]]; then
  vendor_mod=$(tar -tJf "$SRC/orig.tar.xz" | awk '/(^|\/)engine\/vendor\.mod$/ && !n++')
  [[ -n $vendor_mod ]] || die "no engine/vendor.mod in docker.io's orig tarball"
  tar -xJf "$SRC/orig.tar.xz" -O "$vendor_mod" |
    awk '$1 == "github.com/moby/buildkit" && $2 ~ /^v[0-9]/ { v = $2 } $0 ~ /=> *github.com\/moby\/buildkit / { r = $NF }
         END { if (r != "") v = r; sub(/^v/, "", v); print v }' >"$SRC/buildkit-version.part"
  [[ -s $SRC/buildkit-version.part ]] || die "engine/vendor.mod names no github.com/moby/buildkit"
  mv "$SRC/buildkit-version.part" "$SRC/buildkit-version"
fi
if [[ ! -e $SRC/engine-vendor/.done ]]; then # engine/vendor: what Debian keeps vendored
  rm -rf "$SRC/engine-vendor"
  mkdir -p "$SRC/engine-vendor"
  tar -xJf "$SRC/orig.tar.xz" -C "$SRC/engine-vendor" --wildcards '*engine/vendor/*'
  touch "$SRC/engine-vendor/.done"
fi
ENGINE_VENDOR=$(find "$SRC/engine-vendor" -maxdepth 4 -type d -path '*/engine/vendor' -print -quit)
[[ -n $ENGINE_VENDOR ]] || die "no engine/vendor in docker.io's orig tarball"
BUILDKIT_VERSION=$(cat "$SRC/buildkit-version")
IMAGE=${IMAGE:-localhost:5000/moby/buildkit:v$BUILDKIT_VERSION-debian}
log "docker.io ${DOCKER_UPSTREAM}-${DOCKER_DEBREV} vendors BuildKit $BUILDKIT_VERSION; image $IMAGE"
BK=$GOPATH1/src/github.com/moby/buildkit
if [[ $(cat "$BK/.patched" 2>/dev/null) != "${DOCKER_UPSTREAM}-${DOCKER_DEBREV}" ]]; then
  rm -rf "$SRC/tree" "$BK"
  mkdir -p "$SRC/tree" "$(dirname "$BK")"
  tar -xJf "$(debian_tar)" -C "$SRC/tree"
  # patches of the series that touch buildkit/ and are not applied here: worth a look on an update
  for pf in $(sed -e 's/#.*//' "$SRC/tree/debian/patches/series"); do
    grep -qE '^\+\+\+ [^/]+/buildkit/' "$SRC/tree/debian/patches/$pf" &&
      [[ " ${BUILDKIT_PATCHES[*]} " != *" ${pf%.patch} "* ]] && log "note: $pf touches buildkit/ and is not in ENGINE_SPEC"
  done
  if fetch "$POOL/docker.io_${DOCKER_UPSTREAM}.orig-buildkit.tar.xz" "$SRC/orig-buildkit.tar.xz" 2>/dev/null; then
    tar -xJf "$SRC/orig-buildkit.tar.xz" -C "$SRC/tree"
    for p in "${BUILDKIT_PATCHES[@]}"; do
      pf=$SRC/tree/debian/patches/$p.patch
      [[ -f $pf ]] || die "no debian/patches/$p.patch in docker.io ${DOCKER_UPSTREAM}-${DOCKER_DEBREV}"
      grep -qx "$p.patch" "$SRC/tree/debian/patches/series" || log "note: $p not in series, applying anyway"
      buildkit_patch "$pf" -t || die "$p.patch does not apply to buildkit/ (see $LOG/patch.log)"
    done
  else
    # No orig-buildkit on the mirror: docker.io's -dev package of the same version carries the
    # patched tree (debian/golang-github-docker-docker-dev.install: all but docs, examples, hack,
    # and the one vendored package it installs beside it).
    log "no orig-buildkit for $DOCKER_UPSTREAM on the mirror: using golang-github-docker-docker-dev ${DOCKER_UPSTREAM}-${DOCKER_DEBREV}"
    (cd "$SRC" && papt download "golang-github-docker-docker-dev=${DOCKER_UPSTREAM}-${DOCKER_DEBREV}") >>"$LOG/apt-download.log" 2>&1 || {
      tail -n3 "$LOG/apt-download.log" >&2
      die "$SUITE has no golang-github-docker-docker-dev ${DOCKER_UPSTREAM}-${DOCKER_DEBREV}"
    }
    rm -rf "$SRC/dev"
    dpkg-deb -x "$SRC"/golang-github-docker-docker-dev_"${DOCKER_UPSTREAM}-${DOCKER_DEBREV}"_all.deb "$SRC/dev"
    gocode=$SRC/dev/usr/share/gocode/src
    cp -a "$gocode/github.com/moby/buildkit" "$SRC/tree/buildkit"
    for d in "$gocode"/github.com/tonistiigi/*; do # buildkit/vendor/... in the source
      mkdir -p "$SRC/tree/buildkit/vendor/github.com/tonistiigi"
      cp -a "$d" "$SRC/tree/buildkit/vendor/github.com/tonistiigi/"
    done
    for p in "${BUILDKIT_PATCHES[@]}"; do
      pf=$SRC/tree/debian/patches/$p.patch
      [[ -f $pf ]] || die "no debian/patches/$p.patch in docker.io ${DOCKER_UPSTREAM}-${DOCKER_DEBREV}"
      buildkit_patch "$pf" -R --dry-run || die "$p.patch is not applied in the -dev package's buildkit/ (see $LOG/patch.log)"
    done
  fi
  for p in "${LOCAL_PATCHES[@]}"; do
    local_patch "$p" >"$SRC/$p.patch"
    buildkit_patch "$SRC/$p.patch" || die "local patch $p does not apply (see $LOG/patch.log)"
  done
  [[ -f $SRC/tree/buildkit/cmd/buildkitd/main.go && -f $SRC/tree/buildkit/cmd/buildctl/main.go ]] ||
    die "no cmd/buildkitd or cmd/buildctl in the BuildKit source"
  cp -a "$SRC/tree/buildkit" "$BK"
  printf '%s\n' "${DOCKER_UPSTREAM}-${DOCKER_DEBREV}" >"$BK/.patched"
fi
step_end

# --- 2. Go toolchain + Go dependencies as Debian -dev packages ---------------------------------------
step_start "2a. Go $GO_MINOR toolchain"
if [[ ! -x $GOROOT_DIR/usr/lib/go-$GO_MINOR/bin/go ]]; then
  (cd "$DEBS" && papt download "golang-$GO_MINOR-go:amd64" "golang-$GO_MINOR-src") >>"$LOG/apt-download.log" 2>&1
  unpack_debs "$GOROOT_DIR" "$DEBS"/golang-"$GO_MINOR"-go_*_amd64.deb "$DEBS"/golang-"$GO_MINOR"-src_*_all.deb
fi
go_env
go version >&2
step_end

step_start "2b. resolve Go imports to Debian golang-*-dev packages (iterative)"
printf "== %s\n" "$(date -u)" >>"$LOG/resolve.log"
declare -A HAVE=()
for f in "$ROOT"/.stamps/*.deb; do [[ -e $f ]] && HAVE[$(basename "$f" | cut -d_ -f1)]=1; done
for x in "${EXCLUDE_DEV[@]}"; do HAVE[$x]=1; done
GOCODE=$ROOT/usr/share/gocode/src
round=0
while :; do
  round=$((round + 1))
  missing=$(cd "$BK" && go list -e -deps -tags "$TAGS" -f '{{if .Error}}{{.ImportPath}}{{"\n"}}{{end}}' \
    ./cmd/buildkitd ./cmd/buildctl 2>/dev/null | sed '/^$/d' | sort -u)
  [[ -z $missing ]] && break
  ((round > 40)) && die "import resolution does not converge; still missing: $missing"
  fixed=0
  # "x/v22/y" where a package ships module x/v22 as x/y (go.mod says so) without the v22 -> . link
  # that GOPATH mode needs (Contents does not show links; some packages have it, some not)
  while read -r imp; do
    [[ $imp =~ ^(.+)/(v[0-9]+)(/.*)?$ ]] || continue
    base=${BASH_REMATCH[1]} major=${BASH_REMATCH[2]}
    [[ -d $GOCODE/$base && ! -e $GOCODE/$base/$major ]] || continue
    grep -qE "^module[[:space:]]+\"?$base/$major\"?[[:space:]]*$" "$GOCODE/$base/go.mod" 2>/dev/null || continue
    ln -s . "$GOCODE/$base/$major"
    printf 'round %d: link %s/%s -> .\n' "$round" "$base" "$major" >>"$LOG/resolve.log"
    fixed=1
    touch "$WORK/.resolved"
  done <<<"$missing"
  ((fixed)) && continue
  # import path -> "PKG <package>" (the package shipping that path, else x/y for x/vN/y) or "NONE <path>"
  resolved=$(awk -v ex="${EXCLUDE_DEV[*]}" 'BEGIN { n = split(ex, e, " "); for (i = 1; i <= n; i++) X[e[i]] = 1 }
        NR == FNR { want[$1] = 1; k = $1; if (sub(/\/v[0-9]+(\/|$)/, "/", k)) { sub(/\/$/, "", k); alt[k] = $1 }; next }
        ($2 in X) { next }
        ($1 in want) && !($1 in exact) { exact[$1] = $2 }
        ($1 in alt) && !(alt[$1] in stripped) { stripped[alt[$1]] = $2 }
        END { for (w in want) if (w in exact) print "PKG", exact[w]; else if (w in stripped) print "PKG", stripped[w]; else print "NONE", w }' \
    <(printf '%s\n' "$missing") "$WORK/gocode-dirs.txt" | sort -u)
  new=()
  for p in $(awk '$1 == "PKG" { print $2 }' <<<"$resolved"); do [[ -n ${HAVE[$p]:-} ]] || new+=("$p"); done
  # What Debian does not package: docker.io's own build uses the copies its source keeps vendored
  # (engine/vendor, the rest is Files-Excluded in debian/copyright); so do we, package by package.
  unpackaged=()
  for imp in $(awk '$1 == "NONE" { print $2 }' <<<"$resolved"); do
    if [[ -d $ENGINE_VENDOR/$imp && ! -e $GOPATH1/src/$imp ]]; then
      mkdir -p "$GOPATH1/src/$imp"
      find "$ENGINE_VENDOR/$imp" -maxdepth 1 -type f -exec cp -p {} "$GOPATH1/src/$imp/" \;
      printf 'round %d: %s from docker.io engine/vendor\n' "$round" "$imp" >>"$LOG/resolve.log"
      fixed=1
      touch "$WORK/.resolved"
    else
      unpackaged+=("$imp")
    fi
  done
  if ((${#new[@]} == 0)); then
    ((fixed)) && continue
    printf '%s\n' "${unpackaged[@]:-$missing}" >&2
    die "missing imports with no Debian package in $SUITE nor a copy in docker.io's engine/vendor (see $LOG/resolve.log)"
  fi
  # plus their Depends closure (only packages that ship Go source)
  closure=$(pcache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${new[@]}" 2>/dev/null | grep -v '^[ <]' | grep -v : | sort -u |
    grep -Fxf <(awk '{print $2}' "$WORK/gocode-dirs.txt" | sort -u) || true)
  get=()
  for p in "${new[@]}" $closure; do [[ -n ${HAVE[$p]:-} ]] || get+=("$p"); done
  mapfile -t get < <(printf '%s\n' "${get[@]}" | sort -u)
  printf 'round %d: %d missing imports -> %d packages: %s\n' "$round" "$(wc -l <<<"$missing")" \
    "${#get[@]}" "${get[*]}" >>"$LOG/resolve.log"
  log "round $round: $(wc -l <<<"$missing") missing imports -> downloading ${#get[@]} packages"
  (cd "$DEBS" && papt download "${get[@]}") >>"$LOG/apt-download.log" 2>&1 || {
    tail "$LOG/apt-download.log" >&2
    die "apt-get download failed"
  }
  files=()
  for p in "${get[@]}"; do
    f=$(ls -1 "$DEBS/${p}_"*.deb | sort -V | tail -n1)
    files+=("$f")
    HAVE[$p]=1
  done
  unpack_debs "$ROOT" "${files[@]}"
  touch "$WORK/.resolved"
done
log "all imports resolved: $(ls "$ROOT/.stamps" | wc -l) -dev packages, $(du -sh "$ROOT" | cut -f1) unpacked"
step_end

# --- build ---------------------------------------------------------------------------------------
step_start "2c. go build buildkitd + buildctl"
LDFLAGS="-s -w -X github.com/moby/buildkit/version.Version=v$BUILDKIT_VERSION"
LDFLAGS+=" -X github.com/moby/buildkit/version.Revision=debian-docker.io-${DOCKER_UPSTREAM}-${DOCKER_DEBREV}"
for cmd in buildkitd buildctl; do
  if [[ ${FORCE_BUILD:-0} == 1 || ! -x $OUT/$cmd || $BK/.patched -nt $OUT/$cmd || $WORK/.resolved -nt $OUT/$cmd ]]; then
    log "go build ./cmd/$cmd"
    (cd "$BK" && go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$OUT/$cmd.new" "./cmd/$cmd") 2>&1 |
      tee "$LOG/build-$cmd.log" >&2
    mv "$OUT/$cmd.new" "$OUT/$cmd"
  fi
done
"$OUT/buildkitd" --version >&2
"$OUT/buildctl" --version >&2
step_end

# --- 3. image ------------------------------------------------------------------------------------
step_start "3. image rootfs + docker build"
(cd "$IMGDEBS" && for p in "${IMAGE_DEBS[@]}"; do
  n=${p%%:*}
  ls "${n}"_*.deb >/dev/null 2>&1 || papt download "$p"
done) >>"$LOG/apt-download.log" 2>&1
R=$IMG/rootfs
if [[ ! -e $IMG/.rootfs-done || $OUT/buildkitd -nt $IMG/.rootfs-done || $OUT/buildctl -nt $IMG/.rootfs-done ]]; then
rm -rf "$R" "$IMG/.rootfs-done"
mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib" "$R/usr/lib64"
for f in "$IMGDEBS"/*.deb; do dpkg-deb -x "$f" "$R"; done
ln -sfn usr/bin "$R/bin"
ln -sfn usr/sbin "$R/sbin"
ln -sfn usr/lib "$R/lib"
ln -sfn usr/lib64 "$R/lib64"
for a in $("$R/usr/bin/busybox" --list); do
  [[ -e $R/usr/bin/$a || -e $R/usr/sbin/$a ]] || ln -s busybox "$R/usr/bin/$a"
done
mkdir -p "$R/etc/ssl/certs" "$R/etc/buildkit" "$R/var/lib/buildkit" "$R/tmp" "$R/run" "$R/root"
chmod 1777 "$R/tmp"
cat "$R"/usr/share/ca-certificates/mozilla/*.crt >"$R/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
printf '[registry."%s"]\n  http = true\n  insecure = true\n' "$INSECURE_REGISTRY" >"$R/etc/buildkit/buildkitd.toml"
rm -rf "$R/usr/share/doc" "$R/usr/share/man" "$R/usr/share/lintian" "$R/usr/share/locale" "$R/usr/share/bug"
install -m 0755 "$OUT/buildkitd" "$OUT/buildctl" "$R/usr/bin/"
touch "$IMG/.rootfs-done"
fi
cat >"$IMG/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME /var/lib/buildkit
ENTRYPOINT ["buildkitd"]
EOF
# rebuild only when the rootfs changed or the image is gone (every build gets a new created time)
built_id=$(cat "$IMG/.image-id" 2>/dev/null || true)
cur_id=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
if [[ -z $cur_id || $cur_id != "$built_id" || $IMG/.rootfs-done -nt $IMG/.image-id ]]; then
  docker build -q -t "$IMAGE" "$IMG" >&2
  docker image inspect -f '{{.Id}}' "$IMAGE" >"$IMG/.image-id"
fi
if [[ $PUSH == 1 ]]; then docker push -q "$IMAGE" >&2; fi
docker image ls "$IMAGE" >&2
step_end
log "total $(($(date +%s) - T_ALL))s; image $IMAGE"
printf 'buildkit %s %s\n' "$BUILDKIT_VERSION" "$IMAGE"
