#!/usr/bin/env bash
# Builds a BuildKit daemon image (buildkitd + buildctl + runc), the kind
# `docker buildx create --driver docker-container` runs, for the end-to-end tests of builders the
# action creates. The test machines reach no image registry on the internet (no moby/buildkit), so
# it is built from Debian trixie only:
#   - BuildKit source: Debian's docker.io source package (orig-buildkit component + Debian patches)
#   - Go 1.24 toolchain: golang-1.24-go + golang-1.24-src .debs
#   - Go dependencies: Debian golang-*-dev .debs (GOPATH mode, GO111MODULE=off, like debian/rules)
#   - image contents: runc, libc6, libseccomp2, busybox-static, ca-certificates .debs
# Nothing is installed on the host: .debs are fetched with a private apt configuration and
# unpacked with dpkg-deb -x under $WORK. Needs: apt-get, apt-cache, dpkg-deb, curl, xz, tar,
# patch, awk, docker (for the image). Idempotent: finished steps are skipped on a re-run.
#
# The image's /etc/buildkit/buildkitd.toml (buildkitd's default config path) lets it push to the
# test registry on localhost over plain HTTP.
#
# Usage: bash scripts/build-engine.sh buildkit-image   (sets WORK, MIRROR and IMAGE, then runs this)
# Env:   WORK (default /opt/build-go-image-engine/buildkit)   MIRROR (default http://deb.debian.org/debian)
#        IMAGE (default localhost:5000/moby/buildkit:v0.13.2-debian)   PUSH=0 to only build locally
#        INSECURE_REGISTRY (default localhost:5000)   FORCE_BUILD=1 to recompile the binaries
set -euo pipefail

WORK=${WORK:-/opt/build-go-image-engine/buildkit}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
IMAGE=${IMAGE:-localhost:5000/moby/buildkit:v0.13.2-debian}
INSECURE_REGISTRY=${INSECURE_REGISTRY:-localhost:5000}
PUSH=${PUSH:-1}
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

DOCKER_UPSTREAM=26.1.5+dfsg1
DOCKER_DEBREV=9+deb13u1 # falls back to 9 if the mirror does not have it
# docker 26.1.5's vendor.mod pins github.com/moby/buildkit v0.13.2; the orig-buildkit tarball is that tree
BUILDKIT_VERSION=v0.13.2
GO_MINOR=1.24
TAGS="osusergo netgo static_build seccomp" # as upstream's Dockerfile, minus cgo; nydus is opt-in (tag) upstream
BUILDKIT_PATCHES=(buildkit-remove-hcsshim buildkit-remove-jaeger grpc-middleware-v1
  buildkit-CVE-2026-33747-validate-container-id buildkit-CVE-2026-33748-git-subdir-symlink-escape)
# never unpack these: they overlap a preferred package (docker.io Build-Depends on protobuf-1-5)
EXCLUDE_DEV=(golang-github-golang-protobuf-1-3-dev)
IMAGE_DEBS=(runc:amd64 libseccomp2:amd64 libc6:amd64 libgcc-s1:amd64 busybox-static:amd64 ca-certificates)

APT=$WORK/apt
DEBS=$WORK/debs          # Go dependency .debs
IMGDEBS=$WORK/debs-image # .debs for the image rootfs
GOROOT_DIR=$WORK/go      # unpacked golang-1.24-go/-src
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

mkdir -p "$WORK" "$APT/lists/partial" "$APT/cache/archives/partial" "$DEBS" "$IMGDEBS" "$SRC" "$OUT" "$LOG"
: >"$APT/status"
T_ALL=$(date +%s)

# --- 1. indexes + sources -------------------------------------------------------------------------
step_start "1. package lists, Contents index, docker.io source (buildkit + debian/)"
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
POOL=$MIRROR/pool/main/d/docker.io
fetch "$POOL/docker.io_${DOCKER_UPSTREAM}.orig-buildkit.tar.xz" "$SRC/orig-buildkit.tar.xz"
fetch "$POOL/docker.io_${DOCKER_UPSTREAM}-${DOCKER_DEBREV}.debian.tar.xz" "$SRC/debian.tar.xz" ||
  fetch "$POOL/docker.io_${DOCKER_UPSTREAM}-9.debian.tar.xz" "$SRC/debian.tar.xz"
BK=$GOPATH1/src/github.com/moby/buildkit
if [[ ! -e $BK/.patched ]]; then
  rm -rf "$SRC/tree" "$BK"
  mkdir -p "$SRC/tree" "$(dirname "$BK")"
  tar -xJf "$SRC/orig-buildkit.tar.xz" -C "$SRC/tree"
  tar -xJf "$SRC/debian.tar.xz" -C "$SRC/tree"
  for p in "${BUILDKIT_PATCHES[@]}"; do
    pf=$SRC/tree/debian/patches/$p.patch
    [[ -f $pf ]] || continue
    grep -qx "$p.patch" "$SRC/tree/debian/patches/series" || log "note: $p not in series, applying anyway"
    # the patches also touch engine/ and cli/ (absent here): -t skips those files
    (cd "$SRC/tree" && patch -p1 -N -t -s <"$pf" >>"$LOG/patch.log" 2>&1) || true
  done
  # sanity: the hunks for buildkit/ must have applied
  grep -q ValidContainerID "$SRC/tree/buildkit/executor/runcexecutor/executor.go" || die "CVE-2026-33747 patch did not apply"
  [[ -f $SRC/tree/buildkit/session/grpc_middleware_v1.go ]] || die "grpc-middleware-v1 patch did not apply"
  cp -a "$SRC/tree/buildkit" "$BK"
  touch "$BK/.patched"
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
round=0
while :; do
  round=$((round + 1))
  missing=$(cd "$BK" && go list -e -deps -tags "$TAGS" -f '{{if .Error}}{{.ImportPath}}{{"\n"}}{{end}}' \
    ./cmd/buildkitd ./cmd/buildctl 2>/dev/null | sed '/^$/d' | sort -u)
  [[ -z $missing ]] && break
  ((round > 40)) && die "import resolution does not converge; still missing: $missing"
  # import path -> package (first candidate not excluded)
  want=$(awk -v ex="${EXCLUDE_DEV[*]}" 'BEGIN { n = split(ex, e, " "); for (i = 1; i <= n; i++) X[e[i]] = 1 }
        NR == FNR { m[$1] = $1; k = $1; if (sub(/\/v[0-9]+(\/|$)/, "/", k)) { sub(/\/$/, "", k); m[k] = $1 }; next }
        # "x/v2/y" is often shipped as x/y plus a v2 -> . symlink (absent from Contents): try both
        ($1 in m) && !($2 in X) && !(m[$1] in got) { got[m[$1]] = $2; print $2 }
        END { for (k in m) if (m[k] == k && !(k in got)) print "UNRESOLVED " k > "/dev/stderr" }' \
    <(printf '%s\n' "$missing") "$WORK/gocode-dirs.txt" 2>>"$LOG/resolve.log" | sort -u)
  new=()
  for p in $want; do [[ -n ${HAVE[$p]:-} ]] || new+=("$p"); done
  if ((${#new[@]} == 0)); then
    printf '%s\n' "$missing" >&2
    die "missing imports with no Debian package in $SUITE (see $LOG/resolve.log)"
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
done
log "all imports resolved: $(ls "$ROOT/.stamps" | wc -l) -dev packages, $(du -sh "$ROOT" | cut -f1) unpacked"
step_end

# --- build ---------------------------------------------------------------------------------------
step_start "2c. go build buildkitd + buildctl"
LDFLAGS="-s -w -X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION"
LDFLAGS+=" -X github.com/moby/buildkit/version.Revision=debian-docker.io-${DOCKER_UPSTREAM}-${DOCKER_DEBREV}"
for cmd in buildkitd buildctl; do
  if [[ ${FORCE_BUILD:-0} == 1 || ! -x $OUT/$cmd || $BK/.patched -nt $OUT/$cmd ]]; then
    log "go build ./cmd/$cmd"
    (cd "$BK" && go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$OUT/$cmd.new" "./cmd/$cmd") 2>&1 |
      tee "$LOG/build-$cmd.log" >&2
    mv "$OUT/$cmd.new" "$OUT/$cmd"
  fi
done
"$OUT/buildkitd" --version 2>/dev/null
"$OUT/buildctl" --version
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
