# shellcheck shell=bash
# What the engine scripts share: logging, Debian packages through a private apt configuration per
# suite, unpacking .debs, daemons with pid files, and busybox root filesystems. Sourced after
# engines.sh (it uses PREFIX, LOGS and RUN); the sourcing script sets LOG_TAG.

log() { printf '[%(%H:%M:%S)T %s] %s\n' -1 "${LOG_TAG:-engine}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# fetch_once <url> <file>: downloads a file once (kept between runs).
fetch_once() {
  [[ -s $2 ]] && return 0
  curl -fsS -o "$2.part" "$1" && mv "$2.part" "$2"
}

# --- Debian packages ------------------------------------------------------------------------------
# Another suite's packages are fetched with apt-get over a private configuration (its own sources
# list, lists and status under $PREFIX/apt/<suite>) and unpacked with dpkg-deb -x: nothing of that
# suite is installed on the machine, whose own apt sources stay untouched.
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

# The Debian mirror: $MIRROR, else the one the machine's own apt sources use (deb822 or one-line).
debian_mirror() {
  local uri=${MIRROR:-}
  [[ -n $uri ]] || uri=$(
    {
      awk 'BEGIN{IGNORECASE=1} /^URIs:/ {for (i = 2; i <= NF; i++) print $i}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
    } | grep -E '/debian/?$' | head -n1
  )
  [[ -n $uri ]] || die "no Debian mirror (a URI ending in /debian) in /etc/apt/sources.list*"
  printf '%s\n' "${uri%/}"
}

# private_apt <suite> apt-get|apt-cache <args...>: that tool over the suite's private configuration.
private_apt() {
  local apt=$PREFIX/apt/$1 tool=$2
  shift 2
  "$tool" -o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts=- \
    -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status" \
    -o Dir::Cache="$apt/cache" -o APT::Architecture=amd64 \
    -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 \
    -o Acquire::Languages=none -o APT::Sandbox::User=root -q "$@"
}

# suite_lists <suite> [minutes]: that suite's package lists, fetched again when older than the
# minutes given (0, the default: fetched now).
suite_lists() {
  local suite=$1 max_age=${2:-0} apt=$PREFIX/apt/$1 mirror
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$LOGS"
  mirror=$(debian_mirror)
  printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$mirror" "$suite" >"$apt/sources.list"
  : >"$apt/status"
  if ((max_age > 0)) && [[ -e $apt/.updated && -z $(find "$apt/.updated" -mmin "+$max_age") ]]; then
    return 0
  fi
  log "fetching $suite package lists from $mirror (private apt configuration under $apt)"
  private_apt "$suite" apt-get update >>"$LOGS/apt-$suite.log" 2>&1 || {
    tail -n 20 "$LOGS/apt-$suite.log" >&2
    die "apt-get update for $suite failed"
  }
  touch "$apt/.updated"
}

# newest_deb <dir> <package> [arch]: the newest downloaded .deb of that package in dir (any arch
# when none is given), or nothing.
newest_deb() {
  if [[ -n ${3:-} ]]; then ls -1 "$1/${2}_"*"_$3.deb"; else ls -1 "$1/${2}_"*.deb; fi 2>/dev/null |
    sort -V | tail -n1 || true
}

# fetch_debs <suite> <dir> <package[:arch][=version]...>: downloads into dir the packages of which
# no .deb of that arch (or arch all; of that version when one is given) is there yet. Lists younger
# than 12 hours are used as they are; when a download fails on them (the suite moved on), they are
# fetched again and the download is tried once more.
fetch_debs() {
  local suite=$1 dir=$2 need=() p spec name arch version
  shift 2
  for p in "$@"; do
    spec=${p%%=*} version=
    [[ $p == *=* ]] && version=${p#*=}
    name=${spec%%:*} arch=amd64
    [[ $spec == *:* ]] && arch=${spec#*:}
    if [[ -n $version ]]; then
      compgen -G "$dir/${name}_${version}_*.deb" >/dev/null || need+=("$p")
    else
      [[ -n $(newest_deb "$dir" "$name" "$arch") || -n $(newest_deb "$dir" "$name" all) ]] || need+=("$p")
    fi
  done
  ((${#need[@]} > 0)) || return 0
  mkdir -p "$dir"
  suite_lists "$suite" 720
  log "downloading from $suite: ${need[*]}"
  if ! (cd "$dir" && private_apt "$suite" apt-get download "${need[@]}") >>"$LOGS/apt-$suite.log" 2>&1; then
    suite_lists "$suite"
    (cd "$dir" && private_apt "$suite" apt-get download "${need[@]}") >>"$LOGS/apt-$suite.log" 2>&1 || {
      tail -n 20 "$LOGS/apt-$suite.log" >&2
      return 1
    }
  fi
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

# unpack_debs <dest> <deb>...: dpkg-deb -x of each .deb not unpacked there yet (a stamp per .deb in
# dest/.stamps), then absolute symlinks under dest/usr are pointed into dest.
unpack_debs() {
  local dest=$1 f b l n=0
  shift
  mkdir -p "$dest/.stamps"
  for f in "$@"; do
    b=$(basename "$f")
    [[ -e $dest/.stamps/$b ]] && continue
    dpkg-deb -x "$f" "$dest"
    touch "$dest/.stamps/$b"
    n=$((n + 1))
  done
  ((n == 0)) || log "unpacked $n .deb(s) into $dest"
  find "$dest/usr" -type l -lname '/*' ! -lname "$dest/*" 2>/dev/null | while read -r l; do
    ln -sfn "$dest$(readlink "$l")" "$l"
  done
}

# --- busybox root filesystems ---------------------------------------------------------------------

# base_rootfs <dest>: /tmp, /root, /etc/passwd and /etc/group (root and nobody).
base_rootfs() {
  mkdir -p "$1/tmp" "$1/root" "$1/etc"
  chmod 1777 "$1/tmp"
  chmod 700 "$1/root"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}

# link_applets <busybox that runs here> <dir> [dir...]: a busybox link in the first dir for every
# applet that no given dir holds yet.
link_applets() {
  local lister=$1 bin=$2 applet d
  shift
  for applet in $("$lister" --list); do
    [[ $applet == busybox ]] && continue
    for d in "$@"; do [[ -e $d/$applet ]] && continue 2; done
    ln -s busybox "$bin/$applet"
  done
}

# --- daemons --------------------------------------------------------------------------------------

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for <seconds> <command...>: 0 as soon as the command succeeds, 1 when the time is up.
wait_for() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  return 1
}

# start_daemon <name> <command...>: in the background, in its own session, logging to
# $LOGS/<name>.log, its pid in $RUN/<name>.pid.
start_daemon() {
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

# stop_daemon <name> <seconds>: TERM, then KILL when it has not ended within the seconds.
stop_daemon() {
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

show_log_tail() { [[ -f $LOGS/$1.log ]] && tail -n 40 "$LOGS/$1.log" >&2 || true; }
