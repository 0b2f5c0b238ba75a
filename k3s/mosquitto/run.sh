#!/bin/sh
# Runs Mosquitto and reloads its password and ACL files when they change: Kubernetes updates a
# mounted Secret in place (within about a minute of `kubectl apply`), and Mosquitto re-reads
# password_file and acl_file on SIGHUP. Connected clients keep their session; the next connection
# and every ACL check use the new files. SIGTERM stops Mosquitto, which saves its retained state.
#
# The paths default to the container's; the environment may point them elsewhere (the tests do).
conf="${MOSQUITTO_CONF:-/mosquitto/config/mosquitto.conf}"
auth="${MOSQUITTO_AUTH_DIR:-/mosquitto/auth}"
every="${MOSQUITTO_RELOAD_SECONDS:-10}"

fingerprint() {
    cat "$auth/passwd" "$auth/passwd-cloud" "$auth/acl" 2>/dev/null | md5sum
}

"${MOSQUITTO:-mosquitto}" -c "$conf" &
pid=$!
stopping=
trap 'stopping=1; kill -TERM "$pid" 2>/dev/null' TERM INT

# the watcher: a subshell, so the trap above stays with this shell
(
    last=$(fingerprint)
    while sleep "$every"; do
        now=$(fingerprint)
        if [ "$now" != "$last" ]; then
            kill -HUP "$pid" 2>/dev/null || exit 0
            last=$now
            echo "run.sh: $auth changed, broker reloaded its password and ACL files"
        fi
    done
) &
watcher=$!

wait "$pid"
status=$?
if [ -n "$stopping" ]; then
    # the signal ended the first wait; this one waits for Mosquitto to save and exit
    wait "$pid"
    status=$?
fi
kill "$watcher" 2>/dev/null
exit "$status"
