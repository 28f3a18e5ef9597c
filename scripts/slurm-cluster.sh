#!/usr/bin/env bash
# A real single-node Slurm cluster for the tests: Debian's slurm-wlm and munge,
# one node (this machine) and one partition, state in a scratch folder.
#
# Usage: scripts/slurm-cluster.sh start   prints the slurm.conf path (export SLURM_CONF=it)
#        scripts/slurm-cluster.sh stop    stops the daemons by their pid files
#        scripts/slurm-cluster.sh status
# Scratch folder: $MMINF_SLURM_DIR (default /tmp/mminf-slurm). Needs root (the
# daemons and the munge key); scripts/setup.sh installs the packages.
set -euo pipefail
dir="${MMINF_SLURM_DIR:-/tmp/mminf-slurm}"
conf="$dir/slurm.conf"
node="$(hostname -s)"

say() { echo "slurm-cluster.sh: $*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  if ! munge -n </dev/null >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && return; sleep 0.1; done
    say "munged did not start"; exit 1
  fi
}

write_conf() {
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  cat >"$conf" <<EOF
ClusterName=mminf-test
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=${MMINF_SLURMCTLD_PORT:-6817}
SlurmdPort=${MMINF_SLURMD_PORT:-6818}
MinJobAge=300
NodeName=$node CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
}

case "${1:-}" in
  start)
    command -v slurmctld >/dev/null || { say "slurm-wlm is not installed: run scripts/setup.sh"; exit 1; }
    [ "$(id -u)" = 0 ] || { say "needs root (the daemons run as SlurmUser=root)"; exit 1; }
    start_munge
    if alive "$dir/slurmctld.pid" && alive "$dir/slurmd.pid"; then
      echo "$conf"; exit 0
    fi
    "$0" stop >/dev/null 2>&1 || true
    write_conf
    slurmctld -f "$conf"
    slurmd -f "$conf"
    for _ in $(seq 150); do
      if SLURM_CONF="$conf" sinfo -h -o '%t' 2>/dev/null | grep -Eq '^idle'; then
        say "ready: node $node, partition test ($conf)"
        echo "$conf"
        exit 0
      fi
      sleep 0.2
    done
    say "the node did not become idle in 30 s; see $dir/log"
    tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    exit 1
    ;;
  stop)
    for d in slurmd slurmctld; do
      if alive "$dir/$d.pid"; then
        pid="$(cat "$dir/$d.pid")"
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$dir/$d.pid"
    done
    say "stopped"
    ;;
  status)
    SLURM_CONF="$conf" sinfo
    ;;
  *)
    sed -n '2,9p' "$0" >&2
    exit 64
    ;;
esac
