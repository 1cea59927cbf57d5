#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for tests (tests/cluster.rs) and for trying
# `toongan experiment --slurm --submit` by hand. Debian's slurm-wlm and munge; no systemd, no
# cgroups (see ../shared/CLUSTER-NOTES.md). Needs root (SlurmUser=root).
#
#   tools/slurm-test-cluster.sh start DIR   # config, state, logs and pid files in DIR;
#                                           # prints SLURM_CONF=DIR/slurm.conf when the node is idle
#   tools/slurm-test-cluster.sh stop DIR    # stops what `start DIR` started, by its pid files
#
# Exit status of start: 0 up, 2 cannot run here (not root, a tool missing), 1 failed to start
# (the daemons' logs are printed).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
conf=$dir/slurm.conf

stop_pid_file() {
  local file=$1 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

if [ "$action" = stop ]; then
  stop_pid_file "$dir/slurmd.pid"
  stop_pid_file "$dir/slurmctld.pid"
  if [ -f "$dir/munged.started" ]; then
    stop_pid_file "$(cat "$dir/munged.started")"
    rm -f "$dir/munged.started"
  fi
  exit 0
fi
[ "$action" = start ] || usage

if [ "$(id -u)" != 0 ]; then
  echo "cannot start Slurm here: needs root (SlurmUser=root, munged as user munge)" >&2
  exit 2
fi
for tool in slurmctld slurmd munged munge unmunge sinfo sbatch squeue; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "cannot start Slurm here: $tool is missing (apt-get install slurm-wlm munge)" >&2
    exit 2
  fi
done

# munge: reuse a running munged; else start one with the packaged key (or a new one).
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  install -d -o munge -g munge -m 700 /etc/munge /var/log/munge /var/lib/munge
  install -d -o munge -g munge -m 755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=/run/munge/munged.pid"
  echo /run/munge/munged.pid > "$dir/munged.started"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  if ! munge -n | unmunge >/dev/null; then
    echo "munged did not start" >&2
    cat /var/log/munge/munged.log >&2 || true
    exit 1
  fi
fi

host=$(hostname -s)
mkdir -p "$dir/state" "$dir/spool"
cat > "$conf" <<EOF
ClusterName=toongantest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf

fail() {
  echo "$1" >&2
  for log in slurmctld.log slurmd.log; do
    echo "--- $dir/$log" >&2
    tail -n 30 "$dir/$log" >&2 2>/dev/null || true
  done
  "$0" stop "$dir" || true
  exit 1
}

slurmctld -f "$conf" || fail "slurmctld did not start"
slurmd -f "$conf" || fail "slurmd did not start"
for _ in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null || true)
  case $state in idle*) echo "SLURM_CONF=$conf"; exit 0 ;; esac
  sleep 0.5
done
fail "the node did not become idle within 30 s (sinfo: ${state:-nothing})"
