#!/bin/sh
# Credentials and ACL of Edgegate's Mosquitto broker (see k3s/README.md, "Broker credentials").
#
#   broker-auth.sh [-d DIR] add-node SITE NODE      a node's user; prints its new password
#   broker-auth.sh [-d DIR] rotate-node SITE NODE   a new password for it; prints it
#   broker-auth.sh [-d DIR] remove-node SITE NODE
#   broker-auth.sh [-d DIR] add-cloud [USER]        cloud-sync's user (default cloud-sync); prints its password
#   broker-auth.sh [-d DIR] rotate-cloud [USER]
#   broker-auth.sh [-d DIR] list
#   broker-auth.sh [-d DIR] secrets [NAMESPACE]     the Kubernetes Secrets (default namespace edgegate)
#
# DIR (default $EDGEGATE_BROKER_AUTH, else ~/.edgegate/broker-auth) holds the state, mode 0700:
#   nodes/SITE/NODE.hash   the node's entry of the password file (salted PBKDF2-SHA512); its
#                          password is printed once, never stored: install it on the node, or rotate
#   cloud/USER.password    a cloud user's password (cloud-sync reads it from the Secret)
#   cloud/USER.hash        its entry of the password file
#   broker/passwd          the edge listener's password file (nodes)      } rewritten after every
#   broker/passwd-cloud    the cloud listener's password file             } change, from the
#   broker/acl             the ACL of both listeners                      } files above
# Keep DIR private (it holds cloud-sync's password); every file in broker/ goes into the Secret
# "mosquitto-auth" that the broker mounts (`secrets` prints it, with cloud-sync's "cloud-sync-mqtt").
#
# A node's user is "SITE/NODE" (the gateway's EDGEGATE_MQTT_USERNAME). SITE and NODE are topic
# levels: 1-128 characters of A-Z a-z 0-9 . _ - (Kubernetes node names fit), NODE not "config".
# Progress goes to stderr; stdout carries only what is asked for (a password, the Secrets), so that
#   broker-auth.sh add-node plant-1 node-1 | ssh node-1 'sudo install -D -m 0440 -o 0 -g 65532 /dev/stdin /etc/edgegate/mqtt/password'
# installs a node's password on the node without it touching a file here.
set -eu
umask 077

dir="${EDGEGATE_BROKER_AUTH:-$HOME/.edgegate/broker-auth}"
passwd_tool="${MOSQUITTO_PASSWD:-mosquitto_passwd}"

fail() {
    echo "broker-auth.sh: $*" >&2
    exit 2
}

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# level WHAT VALUE: VALUE may be one topic level of the sync's tree
level() {
    case "$2" in
        '' | *[!A-Za-z0-9._-]* | [._-]*) fail "invalid $1: '$2' (1-128 characters of A-Z a-z 0-9 . _ -, not starting with . _ -)" ;;
    esac
    [ "${#2}" -le 128 ] || fail "invalid $1: '$2' (longer than 128 characters)"
}

node_args() {
    [ "$#" -eq 2 ] || usage
    level site "$1"
    level node "$2"
    [ "$2" != config ] || fail "invalid node: 'config' (reserved for site configuration)"
}

new_password() {
    # 32 characters of [A-Za-z0-9]: about 190 bits
    LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32
}

# hash USER PASSWORD: the password file's line for USER
hash() {
    command -v "$passwd_tool" >/dev/null 2>&1 || fail "$passwd_tool not found (Debian: apt-get install mosquitto; or set MOSQUITTO_PASSWD)"
    tmp="$dir/.hash.$$"
    rm -f "$tmp"
    "$passwd_tool" -c -b "$tmp" "$1" "$2" >/dev/null
    cat "$tmp"
    rm -f "$tmp"
}

# The ACL: nothing for anonymous clients (refused anyway); each cloud user reads every node's
# state and writes configuration and resync commands; each node writes only its own state and
# reads only its own instances (to clear stale ones), commands and configuration, and its site's
# configuration. No line grants more: Mosquitto denies whatever no line allows.
acl() {
    echo "# Made by k3s/mosquitto/broker-auth.sh: do not edit, run it again."
    echo "# Topics: mqtt-bridge/README.md. What is not allowed here is denied."
    for f in "$dir"/cloud/*.hash; do
        [ -e "$f" ] || continue
        user=$(basename "$f" .hash)
        echo
        echo "user $user"
        echo "topic read edgegate/v1/+/+/instances/+"
        echo "topic read edgegate/v1/+/+/status"
        echo "topic read edgegate/v1/+/+/digest"
        echo "topic write edgegate/v1/+/config/#"
        echo "topic write edgegate/v1/+/+/config/#"
        echo "topic write edgegate/v1/+/+/cmd/resync"
    done
    for f in "$dir"/nodes/*/*.hash; do
        [ -e "$f" ] || continue
        site=$(basename "$(dirname "$f")")
        node=$(basename "$f" .hash)
        prefix="edgegate/v1/$site/$node"
        echo
        echo "user $site/$node"
        echo "topic readwrite $prefix/instances/+"
        echo "topic write $prefix/status"
        echo "topic write $prefix/digest"
        echo "topic read $prefix/cmd/resync"
        echo "topic read $prefix/config/#"
        echo "topic read edgegate/v1/$site/config/#"
    done
}

render() {
    mkdir -p "$dir/broker"
    cat /dev/null "$dir"/nodes/*/*.hash 2>/dev/null >"$dir/broker/passwd.new" || true
    cat /dev/null "$dir"/cloud/*.hash 2>/dev/null >"$dir/broker/passwd-cloud.new" || true
    acl >"$dir/broker/acl.new"
    for f in passwd passwd-cloud acl; do
        mv "$dir/broker/$f.new" "$dir/broker/$f"
    done
    echo "broker-auth.sh: $dir/broker/ updated; apply it: broker-auth.sh secrets | kubectl apply -f -" >&2
}

# b64 FILE: base64 on one line
b64() {
    base64 <"$1" | tr -d '\n'
}

secrets() {
    ns="${1:-edgegate}"
    [ -f "$dir/broker/acl" ] || fail "nothing in $dir yet: add cloud-sync's user and the nodes first"
    [ -f "$dir/cloud/cloud-sync.password" ] || fail "no cloud-sync user in $dir: run add-cloud first"
    cat <<YAML
# Made by k3s/mosquitto/broker-auth.sh secrets: the broker's password and ACL files, and
# cloud-sync's broker password. Holds a secret: apply it, do not commit it.
apiVersion: v1
kind: Secret
metadata:
  name: mosquitto-auth
  namespace: $ns
  labels:
    app.kubernetes.io/part-of: edgegate
type: Opaque
data:
  passwd: $(b64 "$dir/broker/passwd")
  passwd-cloud: $(b64 "$dir/broker/passwd-cloud")
  acl: $(b64 "$dir/broker/acl")
---
apiVersion: v1
kind: Secret
metadata:
  name: cloud-sync-mqtt
  namespace: $ns
  labels:
    app.kubernetes.io/part-of: edgegate
type: Opaque
data:
  password: $(printf '%s' "$(cat "$dir/cloud/cloud-sync.password")" | base64 | tr -d '\n')
YAML
}

while getopts d: opt; do
    case "$opt" in
        d) dir="$OPTARG" ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ "$#" -ge 1 ] || usage
command="$1"
shift
mkdir -p "$dir"
chmod 0700 "$dir"

case "$command" in
    add-node | rotate-node)
        node_args "$@"
        f="$dir/nodes/$1/$2.hash"
        if [ "$command" = add-node ] && [ -e "$f" ]; then
            fail "$1/$2 exists; rotate-node makes a new password"
        fi
        if [ "$command" = rotate-node ] && [ ! -e "$f" ]; then
            fail "no node $1/$2 in $dir"
        fi
        mkdir -p "$dir/nodes/$1"
        password=$(new_password)
        hash "$1/$2" "$password" >"$f.new"
        mv "$f.new" "$f"
        render
        printf '%s\n' "$password"
        ;;
    remove-node)
        node_args "$@"
        [ -e "$dir/nodes/$1/$2.hash" ] || fail "no node $1/$2 in $dir"
        rm -f "$dir/nodes/$1/$2.hash"
        rmdir "$dir/nodes/$1" 2>/dev/null || true
        render
        ;;
    add-cloud | rotate-cloud)
        [ "$#" -le 1 ] || usage
        user="${1:-cloud-sync}"
        level user "$user"
        f="$dir/cloud/$user"
        if [ "$command" = add-cloud ] && [ -e "$f.hash" ]; then
            fail "$user exists; rotate-cloud makes a new password"
        fi
        if [ "$command" = rotate-cloud ] && [ ! -e "$f.hash" ]; then
            fail "no cloud user $user in $dir"
        fi
        mkdir -p "$dir/cloud"
        password=$(new_password)
        hash "$user" "$password" >"$f.hash.new"
        printf '%s\n' "$password" >"$f.password.new"
        mv "$f.hash.new" "$f.hash"
        mv "$f.password.new" "$f.password"
        render
        printf '%s\n' "$password"
        ;;
    list)
        for f in "$dir"/cloud/*.hash; do
            [ -e "$f" ] && echo "cloud $(basename "$f" .hash)"
        done
        for f in "$dir"/nodes/*/*.hash; do
            [ -e "$f" ] && echo "node $(basename "$(dirname "$f")")/$(basename "$f" .hash)"
        done
        true
        ;;
    secrets)
        [ "$#" -le 1 ] || usage
        secrets "$@"
        ;;
    *) usage ;;
esac
