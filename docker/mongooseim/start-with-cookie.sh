#!/bin/bash
# Entry point of the MongooseIM containers in docker/compose.yml (and of the MongooseIM container
# in docs/deployment/kubernetes-sidecar.yaml, which carries a copy of this file).
#
# The official image takes its Erlang cookie from the `-setcookie` line of
# /usr/lib/mongooseim/etc/vm.args (its CLUSTER_COOKIE variable is not used by its /start.sh), and
# mongooseimctl reads the same line. So: read the shared cookie from the secret file, rewrite that
# line, then hand over to the image's own /start.sh, which names the node and joins the cluster.
set -euo pipefail

cookie_file=${ERLANG_COOKIE_FILE:-/run/secrets/erlang_cookie}
vm_args=${MIM_VM_ARGS:-/usr/lib/mongooseim/etc/vm.args}
next=${MIM_START:-/start.sh}

fail() { echo "start-with-cookie: $*" >&2; exit 78; }   # 78 = EX_CONFIG

[ -r "$cookie_file" ] || fail "cannot read the Erlang cookie file $cookie_file (mount the erlang_cookie secret)"
cookie=$(head -n 1 "$cookie_file" | tr -d '\r')
case $cookie in
    "") fail "the Erlang cookie in $cookie_file is empty" ;;
    *[[:space:]]*) fail "the Erlang cookie in $cookie_file must be a single word without spaces" ;;
esac
[ -f "$vm_args" ] || fail "no vm.args at $vm_args (is this the mongooseim/mongooseim image?)"

# awk, not sed: the cookie may hold characters that sed would interpret. Writing through `cat >`
# keeps the file's owner and mode.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
COOKIE=$cookie awk '
    BEGIN { cookie = ENVIRON["COOKIE"]; done = 0 }
    /^-setcookie([[:space:]]|$)/ { if (!done) print "-setcookie " cookie; done = 1; next }
    { print }
    END { if (!done) print "-setcookie " cookie }
' "$vm_args" > "$tmp"
cat "$tmp" > "$vm_args"
rm -f "$tmp"
trap - EXIT

echo "start-with-cookie: Erlang cookie set from $cookie_file"
exec "$next" "$@"
