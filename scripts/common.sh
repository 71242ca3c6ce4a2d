# Shared by scripts/test and scripts/demo (sourced, not executed).
#
# Provides:
#   ensure_zookeeper     install Debian's ZooKeeper (and a JRE) if missing
#   use_ensemble         export ZOOKEEPER_PEERS; start the local ensemble unless it is already
#                        serving or ZOOKEEPER_PEERS points elsewhere; sets ENSEMBLE_STARTED_BY_US
#   release_ensemble     stop the ensemble only if use_ensemble started it
#   start_toxiproxy      build and start fault-tests/toxiproxy-server on 127.0.0.1:8474 with
#                        proxies zk1..zkN for $ZOOKEEPER_PEERS; exports TOXIPROXY
#   stop_toxiproxy       stop it again (only if start_toxiproxy started it)

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

# ----- the Toxiproxy-compatible server of the fault tests (scripts/test, scripts/soak) -----
TOXI_PID=
TOXI_DEFAULT=127.0.0.1:8474

stop_toxiproxy() {
    if [[ -n $TOXI_PID ]]; then
        say "stopping the Toxiproxy-compatible server (pid $TOXI_PID)"
        kill -TERM "$TOXI_PID" 2>/dev/null || true
        wait "$TOXI_PID" 2>/dev/null || true
        TOXI_PID=
    fi
}

api_answers() { curl -sf --max-time 2 "http://$1/version" >/dev/null 2>&1; }

# Starts target/debug/toxiproxy-server with zk1..zkN for $ZOOKEEPER_PEERS; exports TOXIPROXY.
start_toxiproxy() {
    local config=target/fault-proxies.json log=target/toxiproxy-server.log i=0 peer port sep=
    if api_answers "$TOXI_DEFAULT"; then
        echo "something already serves $TOXI_DEFAULT: stop it, or set TOXIPROXY to use it" >&2
        return 1
    fi
    cargo build -p toxiproxy-server || return 1
    {
        echo "["
        for peer in ${ZOOKEEPER_PEERS//,/ }; do
            i=$((i + 1))
            port=$((${peer##*:} + 10))
            printf '%s{"name":"zk%d","listen":"127.0.0.1:%d","upstream":"%s"}\n' "$sep" "$i" "$port" "$peer"
            sep=,
        done
        echo "]"
    } >"$config"
    say "starting the Toxiproxy-compatible server on $TOXI_DEFAULT (log: $log)"
    # No inherited lock descriptor (fd 9): the server must never hold the run lock.
    target/debug/toxiproxy-server -host "${TOXI_DEFAULT%:*}" -port "${TOXI_DEFAULT##*:}" \
        -config "$config" >"$log" 2>&1 9>&- &
    TOXI_PID=$!
    for ((i = 0; i < 100; i++)); do
        api_answers "$TOXI_DEFAULT" && { export TOXIPROXY=$TOXI_DEFAULT; return 0; }
        kill -0 "$TOXI_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the Toxiproxy-compatible server did not come up; its log:" >&2
    cat "$log" >&2 || true
    stop_toxiproxy
    return 1
}
