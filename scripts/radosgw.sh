#!/usr/bin/env bash
# radosgw.sh start DIR PORT | stop DIR: a single-node Ceph cluster serving the S3 API on
# 127.0.0.1:PORT, for tests and benchmarks of the page server's remote storage (issue 10).
# One monitor, one memstore OSD (objects in RAM, 1 GiB, or RADOSGW_MEMSTORE_BYTES), one
# radosgw; no cephx. Everything
# lives under DIR; `start` prints the S3 credentials as shell assignments on its last line:
#   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
# Needs Debian's ceph-mon, ceph-osd, radosgw (scripts/setup.sh). Waits for events (a daemon's
# answer), never for a fixed time; gives up after 120 s, printing the daemons' logs.
set -euo pipefail
cmd=${1:?usage: radosgw.sh start DIR PORT | stop DIR}
DIR=${2:?the cluster directory}
DIR=$(realpath -m "$DIR")
CONF=$DIR/ceph.conf
ACCESS=pageserver-test SECRET=pageserver-test-secret

die() { echo "radosgw.sh: $*" >&2; tail -n 20 "$DIR"/log/*.log >&2 2>/dev/null || true; exit 1; }
# until CMD... succeeds, or 120 s
wait_for() {
  local deadline=$((SECONDS + 120))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for: $*"
    sleep 0.2
  done
}

stop() {
  for pidfile in "$DIR"/run/*.pid; do
    [[ -e $pidfile ]] || continue
    kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

start() {
  local port=${3:?the S3 port}
  local mon_port=$((port + 1))
  stop
  rm -rf "$DIR"
  mkdir -p "$DIR"/{run,log,mon/a,osd/0,rgw}
  local fsid
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
# The monitor refuses to start when its filesystem has under 5% free (mon data avail crit); a
# test machine's disk can be that full, and this cluster needs only a few MiB of it.
mon data avail crit = 0
mon data avail warn = 0
osd objectstore = memstore
memstore device bytes = ${RADOSGW_MEMSTORE_BYTES:-1073741824}
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
keyring = $DIR/keyring
[mon.a]
mon data = $DIR/mon/a
public addr = v2:127.0.0.1:$mon_port
[osd.0]
osd data = $DIR/osd/0
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$port tcp_nodelay=1
rgw data = $DIR/rgw
rgw dns name = localhost
CONF
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" ||
    die "ceph-mon --mkfs failed"
  ceph-mon -c "$CONF" -i a || die "ceph-mon did not start"
  wait_for ceph -c "$CONF" --connect-timeout 5 mon stat
  local id
  id=$(ceph -c "$CONF" --connect-timeout 30 osd create)
  [[ $id == 0 ]] || die "the OSD got id $id, not 0"
  ceph-osd -c "$CONF" -i 0 --mkfs >/dev/null 2>&1 || die "ceph-osd --mkfs failed"
  ceph-osd -c "$CONF" -i 0 || die "ceph-osd did not start"
  wait_for bash -c "ceph -c '$CONF' --connect-timeout 5 osd stat | grep -q '1 up'"
  radosgw -c "$CONF" -n client.rgw.a || die "radosgw did not start"
  wait_for curl -sf "http://127.0.0.1:$port/"
  radosgw-admin -c "$CONF" user create --uid=pageserver --display-name=pageserver \
    --access-key="$ACCESS" --secret="$SECRET" >/dev/null || die "radosgw-admin user create failed"
  echo "AWS_ACCESS_KEY_ID=$ACCESS AWS_SECRET_ACCESS_KEY=$SECRET"
}

case $cmd in
  start) start "$@" ;;
  stop) stop ;;
  *) die "unknown command $cmd" ;;
esac
