#!/usr/bin/env bash
# A network lab for Parley's calls: network namespaces joined by veth pairs, with
# home-router NATs and firewalls between the participants, all on addresses that exist
# only inside the namespaces (nothing is routed out of the machine). Needs root,
# iproute2 and iptables.
#
#   netlab.sh up SCENARIO   build it (after tearing down any previous lab)
#   netlab.sh down          stop every process in the lab's namespaces and remove them
#
# The "internet" is the namespace plab-pub: coturn on 11.77.0.1 (UDP and TCP 3478,
# TCP 443), Parley on 11.77.0.2:443. Participants are the namespaces plab-a and plab-b;
# a browser runs in one with `ip netns exec plab-a chromium …`.
#
# Scenarios (participant a, participant b):
#   lan        a and b on one home network behind one NAT
#   cone       a and b each behind a home router (port-preserving NAT, inbound dropped)
#   udp-blocked a behind a firewall that lets out only TCP to port 443; b behind a router
#   both-blocked a and b each behind the 443-only firewall
#   symmetric  a and b each behind a NAT that picks a new port for every destination
#   mixed      a on a public address, no NAT; b behind the 443-only firewall
set -euo pipefail

PREFIX=plab
in_ns() { local ns=$1; shift; ip netns exec "$PREFIX-$ns" "$@"; }

down() {
  for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX-" || true); do
    for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
  done
}

namespace() {
  ip netns add "$PREFIX-$1"
  in_ns "$1" ip link set lo up
  in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
}

# link NS1 IF1 ADDR1 NS2 IF2 [ADDR2]: a veth pair between two namespaces.
link() {
  ip link add "$2" netns "$PREFIX-$1" type veth peer name "$5" netns "$PREFIX-$4"
  in_ns "$1" ip addr add "$3" dev "$2"
  in_ns "$1" ip link set "$2" up
  [ -n "${6:-}" ] && in_ns "$4" ip addr add "$6" dev "$5"
  in_ns "$4" ip link set "$5" up
}

internet() {
  namespace pub
  in_ns pub sysctl -qw net.ipv4.ip_forward=1
  in_ns pub ip addr add 11.77.0.1/32 dev lo
  in_ns pub ip addr add 11.77.0.2/32 dev lo
}

# router N MODE: a home router whose WAN side is 11.77.N.2 on the internet and whose
# LAN is 10.77.N.0/24 (a bridge, for one host or more).
router() {
  local n=$1 mode=$2 r="r$1"
  namespace "$r"
  link pub "to-$r" "11.77.$n.1/24" "$r" wan "11.77.$n.2/24"
  in_ns "$r" ip route add default via "11.77.$n.1"
  in_ns "$r" ip link add lan type bridge
  in_ns "$r" ip addr add "10.77.$n.1/24" dev lan
  in_ns "$r" ip link set lan up
  in_ns "$r" sysctl -qw net.ipv4.ip_forward=1
  local masquerade=(-t nat -A POSTROUTING -o wan -j MASQUERADE)
  [ "$mode" = symmetric ] && masquerade+=(--random-fully)
  in_ns "$r" iptables "${masquerade[@]}"
  # Like a home router: nothing comes in from the internet unless it answers something
  # that went out. (Without this, an early check from the other side is confirmed in
  # conntrack and the host's own packets to it get another port: hole punching fails.)
  in_ns "$r" iptables -A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  in_ns "$r" iptables -A INPUT -i wan -j DROP
  in_ns "$r" iptables -A FORWARD -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  in_ns "$r" iptables -A FORWARD -i wan -j DROP
  if [ "$mode" = tcp443 ]; then
    # A corporate or cellular firewall: out only to TCP port 443.
    in_ns "$r" iptables -A FORWARD -i lan -p tcp --dport 443 -j ACCEPT
    in_ns "$r" iptables -A FORWARD -i lan -j DROP
  fi
}

# host NAME N ADDRESS: a participant's device on router N's LAN.
host() {
  namespace "$1"
  link "$1" eth0 "$3/24" "r$2" "$1-port"
  in_ns "r$2" ip link set "$1-port" master lan
  in_ns "$1" ip route add default via "10.77.$2.1"
}

# open_host NAME: a participant's device on a public address, no NAT, no firewall.
open_host() {
  namespace "$1"
  link pub "to-$1" 11.77.9.1/24 "$1" eth0 11.77.9.2/24
  in_ns "$1" ip route add default via 11.77.9.1
}

up() {
  down
  internet
  case "$1" in
    lan) router 1 cone; host a 1 10.77.1.2; host b 1 10.77.1.3 ;;
    cone) router 1 cone; router 2 cone; host a 1 10.77.1.2; host b 2 10.77.2.2 ;;
    udp-blocked) router 1 tcp443; router 2 cone; host a 1 10.77.1.2; host b 2 10.77.2.2 ;;
    both-blocked) router 1 tcp443; router 2 tcp443; host a 1 10.77.1.2; host b 2 10.77.2.2 ;;
    symmetric) router 1 symmetric; router 2 symmetric; host a 1 10.77.1.2; host b 2 10.77.2.2 ;;
    mixed) open_host a; router 2 tcp443; host b 2 10.77.2.2 ;;
    *) echo "netlab: unknown scenario $1" >&2; exit 2 ;;
  esac
}

if [ "$(id -u)" -ne 0 ]; then
  echo "netlab: needs root (network namespaces, iptables)" >&2
  exit 1
fi
case "${1:-}" in
  up) up "${2:?scenario}" ;;
  down) down ;;
  *) echo "usage: netlab.sh up SCENARIO | down" >&2; exit 2 ;;
esac
