# Sourced by tests/compose/run.sh and tests/fresh/run.sh: podman's settings
# for this repository's tests, and the base image every image is built from.
#
#   podman_env            CONTAINERS_CONF (this folder's containers.conf)
#   base_image            makes localhost/debian:bookworm once (debootstrap,
#                         about 2 minutes) and tags it as debian:bookworm,
#                         debian:12 and debian:bookworm-slim
#   start_api SOCKET LOG  podman's Docker-compatible API on a unix socket
#   stop_api              ends it

podman_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
api_pid=

podman_env() {
  export CONTAINERS_CONF="$podman_here/containers.conf"
}

# The Debian mirror this machine's apt uses (deb822 or one-line sources).
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '
      /^URIs:/ { u = $2 } /^Suites:/ { if ($0 ~ /(^|[ \t])bookworm([ \t]|$)/ && u != "") { print u; exit } }
      /^deb[ \t]/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($(i + 1) == "bookworm") { print $i; exit } break } }
    ' "$f")
    [ -n "$uri" ] && { echo "$uri"; return 0; }
  done
  echo http://deb.debian.org/debian
}

# Bump when the recipe changes: an image made by an older one is made again.
base_recipe=2

base_image() {
  local have rootfs
  have=$(podman image inspect --format '{{ index .Labels "org.serendip.base" }}' localhost/debian:bookworm 2>/dev/null || true)
  if [ "$have" != "$base_recipe" ]; then
    rootfs=$(mktemp -d /var/tmp/serendip-rootfs.XXXXXX)
    echo "base image: debootstrap bookworm from $(debian_mirror) (once; about 2 minutes)"
    if ! debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" >"$rootfs.log" 2>&1; then
      tail -n 20 "$rootfs.log" >&2
      rm -rf "$rootfs" "$rootfs.log"
      return 1
    fi
    # The sources of Debian's own images: the release, its updates and its
    # security archive (an image built from this one gets security fixes).
    local mirror
    mirror=$(debian_mirror)
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    # apt inside a build must not keep what it downloads (smaller layers).
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' \
      --change "LABEL org.serendip.base=$base_recipe" - localhost/debian:bookworm >/dev/null
    rm -rf "$rootfs" "$rootfs.log"
  fi
  # FROM debian:bookworm(-slim) resolve to it: no registry is ever asked.
  local tag
  for tag in docker.io/library/debian:bookworm docker.io/library/debian:12 docker.io/library/debian:bookworm-slim; do
    podman tag localhost/debian:bookworm "$tag"
  done
}

start_api() {
  local socket=$1 log=$2
  rm -f "$socket"
  # (9>&-: the compose test's lock stays with the test, not with podman.)
  podman system service --time=0 "unix://$socket" >"$log" 2>&1 9>&- &
  api_pid=$!
  export DOCKER_HOST="unix://$socket"
  for _ in $(seq 100); do
    [ -S "$socket" ] && curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "podman API did not start on $socket:" >&2
  tail -n 20 "$log" >&2
  return 1
}

stop_api() {
  [ -n "$api_pid" ] || return 0
  kill -TERM "$api_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$api_pid" 2>/dev/null || true
  api_pid=
}
