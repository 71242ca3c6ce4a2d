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
#   ensure_interop       install Curator 5.4 (Debian), kazoo 2.8.0 (Debian) and a JDK if missing;
#                        compile interop/curator/ZkInterop.java into target/interop/curator/ (with
#                        `classpath`: that directory and the jars, and a `run` wrapper); make the
#                        kazoo 2.11.0 venv
#                        target/interop/kazoo-2.11
#   ensure_bench_peers   ensure_interop, then compile bench/curator/ZkScaleBench.java into
#                        target/bench-peers/curator/ (with a `run` wrapper); the kazoo side,
#                        bench/kazoo/zk_scale_bench.py, runs on Debian's kazoo 2.8.0
#   ensure_krb5          install what the `gssapi` feature builds with (libkrb5-dev, and
#                        libclang-dev for the bindgen of libgssapi-sys) and what its tests run (an
#                        MIT KDC: krb5-kdc, krb5-admin-server for kadmin.local, krb5-user for kinit)

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

ensure_krb5() {
    local pkgs=()
    [[ -x /usr/sbin/krb5kdc ]] || pkgs+=(krb5-kdc)
    [[ -x /usr/sbin/kadmin.local ]] || pkgs+=(krb5-admin-server)
    command -v kinit >/dev/null || pkgs+=(krb5-user)
    pkg-config --exists krb5-gssapi 2>/dev/null || pkgs+=(libkrb5-dev pkg-config)
    compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null || pkgs+=(libclang-dev)
    ((${#pkgs[@]} == 0)) && return 0
    say "installing ${pkgs[*]} (Kerberos: the gssapi feature and its KDC)"
    # Debian's packages start no daemons where policy-rc.d forbids it; where they do, the
    # system's KDC is left alone: the tests run their own (scripts/kdc) on another port.
    apt_install "${pkgs[@]}"
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

# ----- the foreign contenders of the interop tests (issue 14) -----
# Curator 5.4.0 contender:  target/interop/curator/run ARGS...
# kazoo 2.8.0 (Debian):     /usr/bin/python3 interop/kazoo/zk_interop.py ARGS...
# kazoo 2.11.0 (PyPI):      target/interop/kazoo-2.11/bin/python interop/kazoo/zk_interop.py ARGS...
# Everything is checked first, so a second call does nothing and takes well under a second.
INTEROP_KAZOO_VERSION=2.11.0
INTEROP_JARS="curator-recipes curator-framework curator-client zookeeper zookeeper-jute guava slf4j-api slf4j-nop"

ensure_interop() {
    local out="$ROOT/target/interop/curator" venv="$ROOT/target/interop/kazoo-2.11"
    local src="$ROOT/interop/curator/ZkInterop.java" pkgs=() jar cp=$out run
    [[ -f /usr/share/java/curator-recipes.jar ]] || pkgs+=(libcurator-recipes-java)
    /usr/bin/python3 -c 'import kazoo' 2>/dev/null || pkgs+=(python3-kazoo)
    /usr/bin/python3 -c 'import ensurepip' 2>/dev/null || pkgs+=(python3-venv)
    command -v javac >/dev/null || pkgs+=(default-jdk-headless)
    if ((${#pkgs[@]})); then
        say "installing ${pkgs[*]}"
        apt_install "${pkgs[@]}" || return 1
    fi
    for jar in $INTEROP_JARS; do
        [[ -f /usr/share/java/$jar.jar ]] || { echo "missing /usr/share/java/$jar.jar" >&2; return 1; }
        cp+=:/usr/share/java/$jar.jar
    done
    mkdir -p "$out"
    [[ -f $out/classpath && $(<"$out/classpath") == "$cp" ]] || echo "$cp" >"$out/classpath"
    if [[ ! -f $out/ZkInterop.class || $src -nt $out/ZkInterop.class || $out/classpath -nt $out/ZkInterop.class ]]; then
        say "compiling $src"
        javac -Xlint:all -Xlint:-options -Xlint:-path -d "$out" -cp "$cp" "$src" || return 1
    fi
    run="#!/bin/sh
# generated by ensure_interop (scripts/common.sh): the Curator 5.4.0 contender
exec java -cp \"$cp\" ZkInterop \"\$@\""
    if [[ ! -x $out/run || $(<"$out/run") != "$run" ]]; then
        echo "$run" >"$out/run" && chmod +x "$out/run"
    fi
    if ! "$venv/bin/python" -c "import sys, kazoo.version as v; sys.exit(v.__version__ != '$INTEROP_KAZOO_VERSION')" 2>/dev/null; then
        say "creating $venv with kazoo==$INTEROP_KAZOO_VERSION"
        /usr/bin/python3 -m venv "$venv" &&
            "$venv/bin/python" -m pip install -q --disable-pip-version-check "kazoo==$INTEROP_KAZOO_VERSION" || return 1
    fi
}

# ----- the peers of the scale benchmarks (issue 16; scripts/bench) -----
# Curator 5.4.0:       target/bench-peers/curator/run ARGS...
# kazoo 2.8.0 (Debian): /usr/bin/python3 bench/kazoo/zk_scale_bench.py ARGS...
ensure_bench_peers() {
    local out="$ROOT/target/bench-peers/curator" src="$ROOT/bench/curator/ZkScaleBench.java" cp run
    ensure_interop || return 1
    cp=$(<"$ROOT/target/interop/curator/classpath")
    mkdir -p "$out"
    if [[ ! -f $out/ZkScaleBench.class || $src -nt $out/ZkScaleBench.class ]]; then
        say "compiling $src"
        javac -Xlint:all -Xlint:-options -Xlint:-path -d "$out" -cp "$cp" "$src" || return 1
    fi
    run="#!/bin/sh
# generated by ensure_bench_peers (scripts/common.sh): the Curator 5.4.0 scale benchmark
exec java -cp \"$out:$cp\" ZkScaleBench \"\$@\""
    if [[ ! -x $out/run || $(<"$out/run") != "$run" ]]; then
        echo "$run" >"$out/run" && chmod +x "$out/run"
    fi
}
