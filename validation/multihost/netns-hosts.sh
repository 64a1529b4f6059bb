#!/bin/bash
# netns-hosts.sh: N "hosts" on this one machine for photon's multi-host tests: network namespaces,
# each with its own hostname (a UTS namespace), joined by bandwidth-shaped links.
#
#   netns-hosts.sh [-n HOSTS] [-b MBPS[,MBPS...]] [-r RANKS] [-a] -- COMMAND [ARGS...]
#       make the hosts, run COMMAND in the root namespace with the environment below, then tear
#       everything down by name (also after a failure or a signal); exits with COMMAND's status
#   netns-hosts.sh exec HOST COMMAND [ARGS...]   run COMMAND on HOST (its name or an address)
#   netns-hosts.sh rsh HOST COMMAND-STRING       the same through /bin/sh (Open MPI's rsh agent)
#   netns-hosts.sh counters                       the bytes each host's data link has carried
#   netns-hosts.sh down                           remove whatever a killed run left behind
#
#   -n HOSTS   silo hosts node0 .. node{HOSTS-1} (default 4)
#   -r RANKS   MPI slots per silo host in the hostfile (default 1)
#   -a         one more host, node{HOSTS}, with one slot: the aggregator of topology = server
#   -b MBPS    each host's link bandwidth in Mbit/s, one value for all or one per host (the
#              aggregator's last; default 100). 0: not shaped.
#
# Two networks, as on a cluster. The data network 10.231.0.0/24 carries MPI's traffic between
# ranks; each host's link to its bridge is shaped in both directions with a token bucket (tc tbf
# at the given rate, on the host's side for its uplink and on the bridge's side for its
# downlink), and nothing else uses it, so its veth counters are MPI's bytes. It has no address
# outside the hosts. The control network 10.232.0.0/24 (unshaped; the bridge is 10.232.0.254 in
# the root namespace) carries Open MPI's out-of-band wire-up and Slurm's traffic. Segmentation
# offloads are off on every data veth, so the counters see wire-sized frames (1514 bytes) as a
# real Ethernet would. Latency is not emulated: netem does not work on this kernel (tbf does), so
# the links have a veth's own latency (tens of microseconds): compare with latency_ms = 0.
#
# Environment for COMMAND:
#   MH_HOSTS        the host names (node0 node1 ...);  MH_CTL_ADDRS, MH_DATA_ADDRS their addresses
#   MH_CTL_ROOT     the root namespace's control address (10.232.0.254)
#   MH_HOSTFILE     an Open MPI hostfile: each host's control address with its slots
#   MH_RSH          the rsh agent that reaches a host (through this script)
#   MH_MPIRUN_ARGS  mpirun options for these hosts: hostfile, agent, TCP on the data network
#                   for MPI and the control network for wire-up, no binding (the hosts share
#                   this machine's cores)
#   MH_SCRIPT       this script, for `exec` and `counters`;  MH_STATE its state directory
#
# One set of hosts at a time on a machine: runs take a lock (/run/photon-multihost.lock) and
# wait for it (at most 15 minutes). Needs root, ip, tc, ethtool, nsenter and unshare.
set -u
# COMMAND gets the environment this script was started with (plus MH_*), whatever names this
# script uses for its own variables.
caller_env=$(export -p)
PREFIX=phmh
STATE=/run/photon-multihost
LOCK=/run/photon-multihost.lock
DATA_NET=10.231.0
CTL_NET=10.232.0
SELF=$(readlink -f "$0")

die() { echo "netns-hosts.sh: $*" >&2; exit 1; }
q() { "$@" >/dev/null 2>&1; }

# The namespace index of HOST: node<K>, a data address 10.231.0.<K+1> or a control address.
host_index() {
    case $1 in
        node[0-9]*) echo "${1#node}" ;;
        "$DATA_NET".* | "$CTL_NET".*) echo $((${1##*.} - 1)) ;;
        *) return 1 ;;
    esac
}

# Run "$@" inside host K: its network namespace (ip netns exec also remounts /sys for it and
# binds /etc/netns/NS/hosts over /etc/hosts) and its UTS namespace. The fresh /sys has no cgroup
# file systems, which slurmd needs: the root namespace's are mounted again there, read from
# /proc/mounts (the same hierarchies, shared).
in_host() {
    local k=$1; shift
    [ -e "$STATE/uts/$k" ] || die "no host node$k (is a netns-hosts.sh run up?)"
    local cg
    cg=$(awk '$2 ~ "^/sys/fs/cgroup" && ($3 == "tmpfs" || $3 == "cgroup" || $3 == "cgroup2") {
            printf "mkdir -p %s && mount -t %s -o %s %s %s 2>/dev/null; ", $2, $3, $4, $1, $2 }' /proc/mounts)
    exec ip netns exec "$PREFIX-h$k" /bin/sh -c "$cg"'exec nsenter --uts="$0" -- "$@"' "$STATE/uts/$k" "$@"
}

teardown() {
    local ns k
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-h"); do
        # Bounded: a few rounds of TERM, then KILL, of whatever still runs inside.
        for _ in 1 2 3 4 5; do
            [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] || break
            ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
            sleep 0.2
        done
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
        q ip netns del "$ns"
        rm -rf "/etc/netns/$ns"
    done
    for k in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$PREFIX"); do
        q ip link del "$k"
    done
    if [ -d "$STATE/uts" ]; then
        for k in "$STATE"/uts/*; do [ -e "$k" ] && q umount "$k"; done
        q umount "$STATE/uts"
    fi
    rm -rf "$STATE"
}

# tc tbf on DEV at MBPS: a bucket of 1 ms of tokens (at least two frames) and a 16 MiB queue: deep
# enough that TCP (whose small-queue limit lets each socket park 4 MiB here) never sees a drop,
# which with a 50 ms queue cost retransmission timeouts. This kernel has no fq_codel, sfq or prio
# to put under it: the queue is one FIFO, as on a plain router port.
shape() {
    local mbps=$1; shift
    [ "$mbps" = 0 ] && return 0
    local rate=$((mbps * 125000)) burst limit
    burst=$((rate / 1000)); [ $burst -ge 3100 ] || burst=3100
    limit=$((16 << 20))
    "$@" tc qdisc replace dev "$DEV" root tbf rate "${mbps}mbit" burst "$burst" limit "$limit"
}

# One host: namespaces, hostname, two veth pairs to the bridges, addresses, shaping.
make_host() {
    local k=$1 name=node$1 mbps=$2 ns=$PREFIX-h$1 d=$PREFIX$1d c=$PREFIX$1c
    ip netns add "$ns" || return 1
    touch "$STATE/uts/$k"
    unshare --uts="$STATE/uts/$k" hostname "$name" || return 1
    mkdir -p "/etc/netns/$ns"
    cp "$STATE/hosts" "/etc/netns/$ns/hosts"
    ip link add "$d" type veth peer name data netns "$ns" || return 1
    ip link add "$c" type veth peer name ctl netns "$ns" || return 1
    ip link set "$d" master "$PREFIX-brd" && ip link set "$c" master "$PREFIX-brc" || return 1
    q sysctl -w "net.ipv6.conf.$d.disable_ipv6=1"
    q sysctl -w "net.ipv6.conf.$c.disable_ipv6=1"
    ip link set "$d" up && ip link set "$c" up || return 1
    local X="ip netns exec $ns"
    q $X sysctl -w net.ipv6.conf.all.disable_ipv6=1
    $X ip link set lo up || return 1
    $X ip addr add "$DATA_NET.$((k + 1))/24" dev data && $X ip link set data up || return 1
    $X ip addr add "$CTL_NET.$((k + 1))/24" dev ctl && $X ip link set ctl up || return 1
    q ethtool -K "$d" tso off gso off gro off
    q $X ethtool -K data tso off gso off gro off
    DEV=data shape "$mbps" $X || return 1
    DEV=$d shape "$mbps" || return 1
}

counters() {
    # The bridge side of host K's data veth: what it received is the host's uplink, what it
    # transmitted is the host's downlink.
    local k=0 d
    printf '%-8s %14s %14s %10s %10s\n' host up_bytes down_bytes up_pkts down_pkts
    while [ -e "/sys/class/net/$PREFIX${k}d" ]; do
        d=/sys/class/net/$PREFIX${k}d/statistics
        printf '%-8s %14s %14s %10s %10s\n' "node$k" "$(cat $d/rx_bytes)" "$(cat $d/tx_bytes)" \
            "$(cat $d/rx_packets)" "$(cat $d/tx_packets)"
        k=$((k + 1))
    done
}

case ${1:-} in
    exec)
        [ $# -ge 3 ] || die "usage: netns-hosts.sh exec HOST COMMAND [ARGS...]"
        k=$(host_index "$2") || die "unknown host $2 (node<K> or one of its addresses)"
        shift 2; in_host "$k" "$@" ;;
    rsh)
        [ $# -ge 3 ] || die "usage: netns-hosts.sh rsh HOST COMMAND-STRING"
        k=$(host_index "$2") || die "unknown host $2 (node<K> or one of its addresses)"
        shift 2; in_host "$k" /bin/sh -c "$*" ;;
    counters) counters; exit 0 ;;
    down) teardown; exit 0 ;;
esac

n=4 ranks=1 agg=0 bws=100
while getopts "n:b:r:ah" opt; do
    case $opt in
        n) n=$OPTARG ;;
        b) bws=$OPTARG ;;
        r) ranks=$OPTARG ;;
        a) agg=1 ;;
        *) sed -n '2,22p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -ge 1 ] || die "no command to run on the hosts (netns-hosts.sh -h)"
case $n$ranks in *[!0-9]*) die "-n and -r take whole numbers" ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 32 ] || die "-n $n: between 1 and 32 hosts"
[ "$ranks" -ge 1 ] || die "-r $ranks: at least one slot per host"
[ "$(id -u)" = 0 ] || { echo "netns-hosts.sh: needs root (network namespaces)" >&2; exit 77; }
for tool in ip tc ethtool nsenter unshare flock; do
    command -v $tool >/dev/null 2>&1 || { echo "netns-hosts.sh: $tool not installed" >&2; exit 77; }
done
total=$((n + agg))
IFS=, read -r -a bw <<<"$bws"
[ ${#bw[@]} = 1 ] || [ ${#bw[@]} = $total ] || die "-b $bws: one bandwidth or $total (one per host)"
for b in "${bw[@]}"; do case $b in '' | *[!0-9]*) die "-b $bws: whole Mbit/s" ;; esac; done

exec 9>"$LOCK"
flock -w 900 9 || die "another netns-hosts.sh run holds $LOCK"
teardown # leftovers of a run that was killed before its trap ran
rc=1
trap 'teardown; exit $rc' EXIT
trap 'rc=130; exit' INT TERM
mkdir -p "$STATE/uts" || exit 1
q mount -t tmpfs -o size=1m photon-multihost "$STATE/uts" # bind mounts need a private mount
{
    echo "127.0.0.1 localhost"
    echo "$CTL_NET.254 $(hostname -s)"
    for ((k = 0; k < total; k++)); do echo "$CTL_NET.$((k + 1)) node$k"; done
} >"$STATE/hosts"
if ! { ip link add "$PREFIX-brd" type bridge && ip link add "$PREFIX-brc" type bridge; }; then
    echo "netns-hosts.sh: cannot make bridges here" >&2; rc=77; exit
fi
q sysctl -w "net.ipv6.conf.$PREFIX-brd.disable_ipv6=1"
q sysctl -w "net.ipv6.conf.$PREFIX-brc.disable_ipv6=1"
ip link set "$PREFIX-brd" up && ip link set "$PREFIX-brc" up || exit
ip addr add "$CTL_NET.254/24" dev "$PREFIX-brc" || exit
hosts="" ctl="" data=""
: >"$STATE/hostfile"
for ((k = 0; k < total; k++)); do
    b=${bw[0]}; [ ${#bw[@]} = 1 ] || b=${bw[$k]}
    make_host $k "$b" || { echo "netns-hosts.sh: could not make host node$k" >&2; rc=77; exit; }
    slots=$ranks; [ $k -lt $n ] || slots=1
    echo "$CTL_NET.$((k + 1)) slots=$slots" >>"$STATE/hostfile"
    hosts="$hosts node$k"; ctl="$ctl $CTL_NET.$((k + 1))"; data="$data $DATA_NET.$((k + 1))"
done
printf '#!/bin/sh\nexec %s rsh "$@"\n' "$SELF" >"$STATE/rsh"
chmod +x "$STATE/rsh"
# Every host must answer on both networks before COMMAND starts (bounded: 50 tries each).
for ((k = 0; k < total; k++)); do
    for net in $DATA_NET $CTL_NET; do
        tries=0
        until ip netns exec "$PREFIX-h0" ping -c1 -W1 "$net.$((k + 1))" >/dev/null 2>&1; do
            tries=$((tries + 1)); [ $tries -lt 50 ] || { echo "netns-hosts.sh: node$k does not answer on $net.0/24" >&2; exit; }
            sleep 0.1
        done
    done
done
mh="MH_HOSTS='${hosts# }' MH_CTL_ADDRS='${ctl# }' MH_DATA_ADDRS='${data# }' MH_CTL_ROOT=$CTL_NET.254"
mh="$mh MH_HOSTFILE=$STATE/hostfile MH_RSH=$STATE/rsh MH_SCRIPT=$SELF MH_STATE=$STATE"
mh="$mh MH_MPIRUN_ARGS='--hostfile $STATE/hostfile --mca plm_rsh_agent $STATE/rsh --mca plm_rsh_no_tree_spawn 1"
mh="$mh --mca oob_tcp_if_include $CTL_NET.0/24 --mca btl_tcp_if_include $DATA_NET.0/24 --mca btl self,vader,tcp --bind-to none'"
(eval "$caller_env"; eval "export $mh"; exec "$@")
rc=$?
exit $rc
