#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for running the Slurm launcher end to end
# (tests/test_slurm_local.py; README, "Running on a Slurm cluster").
#
#   scripts/slurm_local.sh start    # munged, slurmctld, slurmd; prints the SLURM_CONF to export
#   scripts/slurm_local.sh stop     # cancels its jobs, stops the three daemons by their pids
#   scripts/slurm_local.sh status
#
# Needs root (slurmd starts jobs as their users) and Debian's packages: apt-get install slurm-wlm munge.
# Everything lives in $SLURM_LOCAL_DIR (default: /tmp/denoise-bench-slurm): the config, a fresh
# munge key and socket, state, spool, logs and pid files; nothing is written under /etc or /var.
# One node named after this host with $SLURM_LOCAL_CPUS CPUs (default: all), one partition "debug";
# ports $SLURM_LOCAL_PORT and the next one (default 6817, 6818). No accounting database: sacct
# has nothing to report (submitit says so in a warning and falls back on its own result files).
set -euo pipefail

dir=${SLURM_LOCAL_DIR:-/tmp/denoise-bench-slurm}
cpus=${SLURM_LOCAL_CPUS:-$(nproc)}
port=${SLURM_LOCAL_PORT:-6817}
host=$(hostname -s)
conf=$dir/slurm.conf
daemons=(slurmd slurmctld munged)  # stop order

die() { echo "slurm_local.sh: $*" >&2; exit 1; }

pid_file() {  # munged writes into its own private folder
    [[ $1 == munged ]] && echo "$dir/munge/munged.pid" || echo "$dir/$1.pid"
}

pid_of() {  # the pid a daemon recorded, if that process still runs
    local file
    file=$(pid_file "$1")
    [[ -s $file ]] && kill -0 "$(cat "$file")" 2>/dev/null && cat "$file"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq $((seconds * 5))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "$what did not happen within ${seconds} s; logs in $dir/log and $dir/munge"
}

write_config() {
    mkdir -p "$dir"/{log,state,spool,munge}
    cat >"$conf" <<CONF
# Written by scripts/slurm_local.sh: a one-node cluster on localhost.
ClusterName=denoisebench
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    : >"$dir/plugstack.conf"
}

start() {
    [[ $(id -u) == 0 ]] || die "needs root (slurmd runs jobs as their users)"
    for program in munged slurmctld slurmd sinfo; do
        command -v "$program" >/dev/null || die "$program not found: apt-get install slurm-wlm munge"
    done
    for daemon in "${daemons[@]}"; do
        [[ -z $(pid_of "$daemon") ]] || die "$daemon already runs (pid $(pid_of "$daemon")); stop first"
    done
    rm -rf "$dir"
    write_config
    # munged insists on its own files being private to its user.
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chown -R munge:munge "$dir/munge"
    chmod 711 "$dir/munge"  # clients need to reach the socket; the key stays private
    chmod 400 "$dir/munge/munge.key"
    runuser -u munge -- munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$(pid_file munged)" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed"
    wait_for 10 "munged writing its pid" test -s "$(pid_file munged)"

    export SLURM_CONF=$conf
    slurmctld -f "$conf" -i
    wait_for 20 "slurmctld answering" scontrol ping
    slurmd -f "$conf"
    wait_for 30 "node $host idle" bash -c "sinfo -h -N -o %t | grep -qx idle"
    echo "Slurm runs on $host ($cpus CPUs, partition debug). For its commands: export SLURM_CONF=$conf"
}

stop() {
    export SLURM_CONF=$conf
    if [[ -n $(pid_of slurmctld) ]]; then
        scancel --full --quiet --partition=debug 2>/dev/null || true  # only this cluster's own jobs
    fi
    for daemon in "${daemons[@]}"; do
        local pid
        pid=$(pid_of "$daemon") || continue
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "$daemon (pid $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
            kill -9 "$pid"
        fi
        echo "stopped $daemon (pid $pid)"
    done
}

status() {
    local pid
    for daemon in "${daemons[@]}"; do
        pid=$(pid_of "$daemon") && echo "$daemon: running (pid $pid)" || echo "$daemon: not running"
    done
    if [[ -n $(pid_of slurmctld) ]]; then
        SLURM_CONF=$conf sinfo
    fi
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status" ;;
esac
