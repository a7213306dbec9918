# Three "hosts" on one machine for `compare cluster-hosts`: network namespaces joined by veth
# pairs to a bridge in a namespace of its own (as Tests/iocomputeTests/MultiHostTests.swift
# builds them). Sourced by `compare`; needs root (CAP_NET_ADMIN).
#   hosts_up COUNT   makes ${hosts_prefix}h0 .. h(COUNT-1), host i at ${hosts_subnet}.(i+1)
#   hosts_down       removes them
#   on_host I CMD..  runs CMD in host I
hosts_prefix="iocb$$"
hosts_subnet="10.213.$(($$ % 200)).0"
hosts_subnet="${hosts_subnet%.0}"
hosts_count=0

host_address() { echo "$hosts_subnet.$(($1 + 1))"; }
on_host() {
    local index="$1"
    shift
    ip netns exec "${hosts_prefix}h$index" "$@"
}

hosts_up() {
    hosts_count="$1"
    local bridge="${hosts_prefix}br"
    ip netns add "$bridge"
    ip -n "$bridge" link add br0 type bridge
    ip -n "$bridge" link set br0 up
    for index in $(seq 0 $((hosts_count - 1))); do
        local host="${hosts_prefix}h$index"
        ip netns add "$host"
        ip link add "${hosts_prefix}v${index}a" netns "$host" type veth peer name "${hosts_prefix}v${index}b" netns "$bridge"
        ip -n "$host" addr add "$(host_address "$index")/24" dev "${hosts_prefix}v${index}a"
        ip -n "$host" link set "${hosts_prefix}v${index}a" up
        ip -n "$host" link set lo up
        ip -n "$bridge" link set "${hosts_prefix}v${index}b" master br0
        ip -n "$bridge" link set "${hosts_prefix}v${index}b" up
    done
}

hosts_down() {
    for index in $(seq 0 $((hosts_count - 1))); do
        # Whatever still runs in a host goes with it.
        for pid in $(ip netns pids "${hosts_prefix}h$index" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "${hosts_prefix}h$index" 2>/dev/null || true
    done
    ip netns del "${hosts_prefix}br" 2>/dev/null || true
}
