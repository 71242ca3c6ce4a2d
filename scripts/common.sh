# Shared by scripts/test and scripts/demo (sourced, not executed).
#
# Provides:
#   ensure_zookeeper     install Debian's ZooKeeper (and a JRE) if missing
#   use_ensemble         export ZOOKEEPER_PEERS; start the local ensemble unless it is already
#                        serving or ZOOKEEPER_PEERS points elsewhere; sets ENSEMBLE_STARTED_BY_US
#   release_ensemble     stop the ensemble only if use_ensemble started it

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENSEMBLE="$ROOT/scripts/ensemble"
ENSEMBLE_STARTED_BY_US=0

say() { printf '\n==> %s\n' "$*" >&2; }

# Runs apt-get install, retrying once after `apt-get update` (fresh machines have no lists).
apt_install() {
    local sudo=
    ((EUID == 0)) || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q "$@" ||
        { $sudo apt-get update -q && $sudo apt-get install -y -q "$@"; }
}

ensure_zookeeper() {
    if [[ -f /usr/share/java/zookeeper.jar ]] && command -v java >/dev/null &&
        [[ -f /usr/share/java/slf4j-log4j12.jar || -f /usr/share/java/slf4j-nop.jar ]]; then
        return 0
    fi
    say "installing ZooKeeper (Debian packages zookeeper, libzookeeper-java)"
    apt_install zookeeper libzookeeper-java
}

use_ensemble() {
    local size=${ZKSYNC_ENSEMBLE_SIZE:-5}
    if [[ -n ${ZOOKEEPER_PEERS:-} ]]; then
        say "using ZOOKEEPER_PEERS=$ZOOKEEPER_PEERS (not starting a local ensemble)"
        return 0
    fi
    if "$ENSEMBLE" status >/dev/null 2>&1; then
        say "local ensemble already serving; leaving it running afterwards"
    else
        say "starting a local $size-node ZooKeeper ensemble"
        # Set before starting: if start fails half-way, the EXIT trap still cleans up.
        ENSEMBLE_STARTED_BY_US=1
        "$ENSEMBLE" start "$size" >/dev/null
    fi
    ZOOKEEPER_PEERS=$("$ENSEMBLE" peers)
    export ZOOKEEPER_PEERS
    echo "ZOOKEEPER_PEERS=$ZOOKEEPER_PEERS" >&2
}

release_ensemble() {
    if ((ENSEMBLE_STARTED_BY_US)); then
        say "stopping the ensemble this script started"
        "$ENSEMBLE" stop || true
        ENSEMBLE_STARTED_BY_US=0
    fi
}
