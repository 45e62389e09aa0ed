#!/usr/bin/env bash
# Builds a BuildKit daemon image (buildkitd + buildctl + runc), the kind
# `docker buildx create --driver docker-container` runs, for the end-to-end tests of builders the
# action creates. The test machines reach no image registry on the internet (no moby/buildkit), so
# it is built from the Debian suite of the engine under test (its record in engines.sh), matching
# the BuildKit that engine's dockerd embeds:
#   - BuildKit source: the suite's docker.io source. Its orig-buildkit component plus the Debian
#     patches that touch buildkit/ when the mirror carries it (trixie); otherwise the tree that
#     docker.io's own golang-github-docker-docker-dev package ships, built from the same source with
#     those patches applied (sid: the mirror keeps no orig-buildkit of 28.5.2+dfsg4), checked by
#     reverse-applying the patches' buildkit/ hunks; then the engine's own patches (patches/)
#   - BuildKit version: read from the engine's vendor.mod in docker.io's orig tarball, not assumed
#   - Go toolchain: the suite's golang-1.NN-go + golang-1.NN-src .debs (the Go docker.io was built with)
#   - Go dependencies: the suite's golang-*-dev .debs (GOPATH mode, GO111MODULE=off, like debian/rules)
#   - image contents: the suite's runc, libc6, libseccomp2, busybox-static, ca-certificates .debs
#     (runc runs on the image's own libc: sid's runc needs glibc 2.38, the host may have less)
# Nothing is installed on the host: .debs are fetched with the suite's private apt configuration
# (lib.sh, shared with build-engine.sh; apt logs in $PREFIX/logs) and unpacked with dpkg-deb -x
# under the engine's BUILDKIT_WORK (one tree per engine, so engines never mix).
# Needs: apt-get, apt-cache, dpkg-deb, curl, xz, tar, patch, awk, docker (for the image).
# Idempotent: finished steps are skipped on a re-run. Cold, on 2 busy cores: current (sid, BuildKit
# 0.25) 490 s (536 -dev packages: 100 s to fetch and unpack, 330 s to compile), oldest (trixie,
# BuildKit 0.13) 306 s; a re-run with nothing to do takes about 30 s.
#
# The image's /etc/buildkit/buildkitd.toml (buildkitd's default config path) lets it push to the
# test registry on localhost over plain HTTP.
#
# Usage: bash scripts/build-engine.sh buildkit-image   (runs this for the running engine)
# Env:   ENGINE current|oldest (default: the engine `up` last started)   MIRROR (default: the
#        machine's Debian mirror)   IMAGE (default localhost:5000/moby/buildkit:v<BuildKit version>-debian)
#        PUSH=0 to only build locally   INSECURE_REGISTRY (default localhost:5000)
#        FORCE_BUILD=1 to recompile the binaries
#        MATCH_ENGINE=0 to build without a running engine of that docker.io version
# Prints its progress on stderr and, last on stdout: "buildkit <version> <image>".
set -euo pipefail

ENGINE_SCRIPTS=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=engines.sh
source "$ENGINE_SCRIPTS/engines.sh"
# shellcheck source=lib.sh
source "$ENGINE_SCRIPTS/lib.sh"
LOG_TAG=buildkit-image

ENGINE=${ENGINE:-$(running_engine)}
select_engine "$ENGINE" || die "unknown ENGINE '$ENGINE': use one of ${ENGINES[*]}"
# The Debian revision may move on below: the mirror keeps only the suite's current one.
DOCKER_UPSTREAM=$DOCKER_IO_UPSTREAM DOCKER_DEBREV=$DOCKER_IO_REVISION GO_MINOR=$ENGINE_GO

WORK=$BUILDKIT_WORK
MIRROR=$(debian_mirror)
INSECURE_REGISTRY=${INSECURE_REGISTRY:-$REGISTRY}
PUSH=${PUSH:-1}

TAGS="osusergo netgo static_build seccomp" # as upstream's Dockerfile, minus cgo; nydus is opt-in (tag) upstream
# never unpack these: they overlap a preferred package (docker.io Build-Depends on protobuf-1-5)
EXCLUDE_DEV=(golang-github-golang-protobuf-1-3-dev)
IMAGE_DEBS=(runc:amd64 libseccomp2:amd64 libc6:amd64 libgcc-s1:amd64 busybox-static:amd64 ca-certificates)

DEBS=$WORK/debs          # Go dependency .debs
IMGDEBS=$WORK/debs-image # .debs for the image rootfs
GOROOT_DIR=$WORK/go      # unpacked golang-1.NN-go/-src
ROOT=$WORK/root          # unpacked golang-*-dev (usr/share/gocode)
SRC=$WORK/src
GOPATH1=$WORK/gopath
OUT=$WORK/out
IMG=$WORK/image
LOG=$WORK/logs

step_start() {
  STEP_NAME=$1
  STEP_T0=$(date +%s)
  log "== $1"
}
step_end() { log "== $STEP_NAME done in $(($(date +%s) - STEP_T0))s"; }

go_env() {
  export PATH=$GOROOT_DIR/usr/lib/go-$GO_MINOR/bin:$PATH
  export GOROOT=$GOROOT_DIR/usr/lib/go-$GO_MINOR
  export GOPATH=$GOPATH1:$ROOT/usr/share/gocode
  export GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local
  export GOCACHE=$WORK/gocache
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

mkdir -p "$WORK" "$DEBS" "$IMGDEBS" "$SRC" "$OUT" "$LOG"
T_ALL=$(date +%s)

# --- 1. indexes + sources -------------------------------------------------------------------------
step_start "1. $SUITE package lists, Contents index, docker.io $DOCKER_UPSTREAM source (buildkit + debian/)"
if [[ ${MATCH_ENGINE:-1} == 1 ]]; then
  # the engine's dockerd reports docker.io's upstream version, e.g. 28.5.2+dfsg4
  running=$(docker version -f '{{.Server.Version}}' 2>/dev/null) || die "no engine answers: start it first (or MATCH_ENGINE=0)"
  [[ $running == "$DOCKER_UPSTREAM" ]] ||
    die "the running engine is docker.io $running, ENGINE=$ENGINE describes $DOCKER_UPSTREAM: run the engine '$ENGINE' or update scripts/engine/engines.sh"
fi
suite_lists "$SUITE" 720
fetch_once "$MIRROR/dists/$SUITE/main/Contents-all.gz" "$WORK/Contents-all.gz"
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
if ! fetch_once "$POOL/docker.io_${DOCKER_UPSTREAM}-${DOCKER_DEBREV}.debian.tar.xz" "$(debian_tar)" 2>/dev/null; then
  candidate=$(private_apt "$SUITE" apt-cache policy docker.io 2>/dev/null | awk '/Candidate:/ { print $2 }')
  [[ ${candidate%-*} == "$DOCKER_UPSTREAM" ]] ||
    die "$SUITE has neither docker.io ${DOCKER_UPSTREAM}-${DOCKER_DEBREV} nor another revision of it (it has ${candidate:-none}): update scripts/engine/engines.sh"
  log "docker.io ${DOCKER_UPSTREAM}-${DOCKER_DEBREV} is gone from the mirror: using $candidate"
  DOCKER_DEBREV=${candidate##*-}
  fetch_once "$POOL/docker.io_${DOCKER_UPSTREAM}-${DOCKER_DEBREV}.debian.tar.xz" "$(debian_tar)" ||
    die "cannot fetch docker.io_${DOCKER_UPSTREAM}-${DOCKER_DEBREV}.debian.tar.xz"
fi
# The BuildKit the engine vendors (and embeds): engine/vendor.mod of docker.io's main orig tarball.
fetch_once "$POOL/docker.io_${DOCKER_UPSTREAM}.orig.tar.xz" "$SRC/orig.tar.xz" || die "cannot fetch docker.io's orig tarball"
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
      [[ " ${BUILDKIT_PATCHES[*]} " != *" ${pf%.patch} "* ]] && log "note: $pf touches buildkit/ and is not in the engine's buildkit_patches"
  done
  if fetch_once "$POOL/docker.io_${DOCKER_UPSTREAM}.orig-buildkit.tar.xz" "$SRC/orig-buildkit.tar.xz" 2>/dev/null; then
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
    fetch_debs "$SUITE" "$SRC" "golang-github-docker-docker-dev=${DOCKER_UPSTREAM}-${DOCKER_DEBREV}" ||
      die "$SUITE has no golang-github-docker-docker-dev ${DOCKER_UPSTREAM}-${DOCKER_DEBREV}"
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
    pf=$ENGINE_SCRIPTS/patches/$p.patch
    [[ -f $pf ]] || die "no scripts/engine/patches/$p.patch"
    buildkit_patch "$pf" || die "local patch $p does not apply (see $LOG/patch.log)"
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
  fetch_debs "$SUITE" "$DEBS" "golang-$GO_MINOR-go:amd64" "golang-$GO_MINOR-src" || die "apt-get download of Go $GO_MINOR failed"
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
  closure=$(private_apt "$SUITE" apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${new[@]}" 2>/dev/null | grep -v '^[ <]' | grep -v : | sort -u |
    grep -Fxf <(awk '{print $2}' "$WORK/gocode-dirs.txt" | sort -u) || true)
  get=()
  for p in "${new[@]}" $closure; do [[ -n ${HAVE[$p]:-} ]] || get+=("$p"); done
  mapfile -t get < <(printf '%s\n' "${get[@]}" | sort -u)
  printf 'round %d: %d missing imports -> %d packages: %s\n' "$round" "$(wc -l <<<"$missing")" \
    "${#get[@]}" "${get[*]}" >>"$LOG/resolve.log"
  log "round $round: $(wc -l <<<"$missing") missing imports -> downloading ${#get[@]} packages"
  fetch_debs "$SUITE" "$DEBS" "${get[@]}" || die "apt-get download failed"
  files=()
  for p in "${get[@]}"; do
    f=$(newest_deb "$DEBS" "$p")
    [[ -n $f ]] || die "no .deb of $p in $DEBS"
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
fetch_debs "$SUITE" "$IMGDEBS" "${IMAGE_DEBS[@]}" || die "apt-get download of the image's packages failed"
R=$IMG/rootfs
if [[ ! -e $IMG/.rootfs-done || $OUT/buildkitd -nt $IMG/.rootfs-done || $OUT/buildctl -nt $IMG/.rootfs-done ]]; then
rm -rf "$R" "$IMG/.rootfs-done"
mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib" "$R/usr/lib64"
for f in "$IMGDEBS"/*.deb; do dpkg-deb -x "$f" "$R"; done
ln -sfn usr/bin "$R/bin"
ln -sfn usr/sbin "$R/sbin"
ln -sfn usr/lib "$R/lib"
ln -sfn usr/lib64 "$R/lib64"
link_applets "$R/usr/bin/busybox" "$R/usr/bin" "$R/usr/sbin"
base_rootfs "$R"
mkdir -p "$R/etc/ssl/certs" "$R/etc/buildkit" "$R/var/lib/buildkit" "$R/run"
cat "$R"/usr/share/ca-certificates/mozilla/*.crt >"$R/etc/ssl/certs/ca-certificates.crt"
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
