#!/usr/bin/env python3
"""A real single-node SLURM cluster on this machine, for `make test-slurm`.

    python3 tools/slurm/local_cluster.py run -- COMMAND...   # start, run COMMAND, stop
    python3 tools/slurm/local_cluster.py start --dir DIR     # start, leave running
    python3 tools/slurm/local_cluster.py stop --dir DIR      # stop what `start` started

`run` gives COMMAND the cluster's SLURM_CONF (and an srun that keeps it, see
write_srun_shim) and exits with COMMAND's status. Needs root (slurmd and
munged run as root here). When slurmctld, slurmd, the SLURM clients or munge are missing and
apt-get is there, it installs Debian's `slurmctld slurmd slurm-client munge` (Debian 12:
SLURM 22.05). Nothing outside DIR is configured or touched: its own munge key and socket, its
own slurm.conf (localhost only, free ports, no accounting database), state and logs, so it
runs next to a system SLURM or munge without meeting them. Daemons run in the foreground as
this script's children; stopping cancels the cluster's jobs, then ends exactly those
daemons and the job step processes below slurmd, by pid.

Standard library only: it runs before and outside the project's venv.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
PROGRAMS = ["slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel", "munged", "mungekey"]
PARTITION = "test"
NODE = "localhost"
STATE_FILE = "cluster.json"  # pids and ports of what `start` started, for `stop`


def log(message: str) -> None:
    print(f"[local-cluster] {message}", file=sys.stderr, flush=True)


def ensure_installed() -> None:
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"missing {', '.join(missing)}; install {' '.join(PACKAGES)} (as root)")
    log(f"installing {' '.join(PACKAGES)} (missing: {', '.join(missing)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        check=True,
        env=env,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware() -> str:
    """The machine's CPU layout and memory as slurmd detects them (`slurmd -C`), so the node
    is never drained for claiming more than it has."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    fields = out.splitlines()[0].split()[1:]  # drop NodeName=<hostname>
    return " ".join(fields)


def write_config(root: Path, ctld_port: int, slurmd_port: int) -> Path:
    for sub in ("state/ctld", "state/slurmd", "log", "munge"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    conf = root / "slurm.conf"
    conf.write_text(
        f"""# Single-node test cluster written by tools/slurm/local_cluster.py
ClusterName=microexp-test
SlurmctldHost={NODE}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state/ctld
SlurmdSpoolDir={root}/state/slurmd
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
# Finished jobs stay visible to squeue this long: the Snakemake SLURM plugin reads job states
# with squeue here (no accounting database for sacct) and needs >= 3x its first check delay.
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName={NODE} NodeAddr=127.0.0.1 {node_hardware()} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
    )
    return conf


def write_srun_shim(root: Path, conf: Path) -> Path:
    """DIR/bin/srun: srun with the test cluster's SLURM_CONF. The Snakemake job-step plugin
    starts each job's `srun` without any SLURM_* variable, SLURM_CONF included; on a real
    cluster srun then reads /etc/slurm/slurm.conf, here it would find no cluster."""
    srun = shutil.which("srun")
    if srun is None:
        sys.exit("srun not found (package slurm-client)")
    shim = root / "bin" / "srun"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nSLURM_CONF="{conf}" exec "{srun}" "$@"\n')
    shim.chmod(0o755)
    return shim.parent


def cluster_env(state: dict) -> dict:
    """The environment a command needs to use the test cluster."""
    path = f"{state['bin']}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "SLURM_CONF": state["slurm_conf"], "PATH": path}


def spawn(command: list[str], logfile: Path, env: dict) -> subprocess.Popen:
    with open(logfile, "ab") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a Ctrl-C to the test does not hit the daemons first
        )


def wait_for(what: str, check, timeout: float, daemons: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in daemons.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}) while waiting for {what}")
        if check():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def node_state(env: dict) -> str:
    done = subprocess.run(
        ["sinfo", "-h", "-N", "-n", NODE, "-o", "%T"],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def start(root: Path) -> dict:
    """Start munged, slurmctld and slurmd under `root`; return the state `stop` needs."""
    if os.geteuid() != 0:
        sys.exit("the local SLURM cluster needs root (slurmd and munged run as root)")
    ensure_installed()
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)  # munged refuses a socket or key directory others can write to
    conf = write_config(root, free_port(), free_port())
    env = {**os.environ, "SLURM_CONF": str(conf)}
    key = root / "munge" / "munge.key"
    if not key.exists():
        subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True)
    key.chmod(0o600)
    bin_dir = write_srun_shim(root, conf)
    state = {"root": str(root), "slurm_conf": str(conf), "bin": str(bin_dir), "pids": {}}
    daemons: dict[str, subprocess.Popen] = {}
    try:
        daemons["munged"] = spawn(
            [
                "munged", "--foreground", "--force",
                f"--socket={root}/munge/munge.socket",
                f"--key-file={key}",
                f"--pid-file={root}/munge/munged.pid",
                f"--log-file={root}/log/munged.log",
                f"--seed-file={root}/munge/munged.seed",
            ],
            root / "log" / "munged.out",
            env,
        )  # fmt: skip
        state["pids"]["munged"] = daemons["munged"].pid
        wait_for(
            "the munge socket",
            lambda: (root / "munge" / "munge.socket").exists(),
            20,
            daemons,
        )
        daemons["slurmctld"] = spawn(
            ["slurmctld", "-D", "-c", "-f", str(conf)], root / "log" / "slurmctld.out", env
        )
        state["pids"]["slurmctld"] = daemons["slurmctld"].pid
        daemons["slurmd"] = spawn(
            ["slurmd", "-D", "-N", NODE, "-f", str(conf)], root / "log" / "slurmd.out", env
        )
        state["pids"]["slurmd"] = daemons["slurmd"].pid
        (root / STATE_FILE).write_text(json.dumps(state))
        wait_for("node idle", lambda: node_state(env).startswith("idle"), 90, daemons)
    except BaseException:
        stop(state)
        for name in ("slurmctld", "slurmd", "munged"):
            tail = root / "log" / f"{name}.log"
            if tail.exists():
                log(f"{name}.log:\n" + "\n".join(tail.read_text().splitlines()[-15:]))
        raise
    log(f"up: node {NODE} idle, partition {PARTITION}, SLURM_CONF={conf}")
    return state


def descendants(pid: int) -> list[int]:
    """Every living process below `pid` (job steps: slurmstepd and what it runs)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def terminate(pids: list[int], grace: float = 10) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    for pid in pids:  # reap our own children
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def stop(state: dict) -> None:
    pids = state.get("pids", {})
    env = {**os.environ, "SLURM_CONF": state["slurm_conf"]}
    if "slurmctld" in pids and alive(pids["slurmctld"]):
        # Jobs left by a failed test: cancel them so slurmd ends their steps.
        subprocess.run(["scancel", "--full", "--partition", PARTITION], env=env, timeout=30,
                       capture_output=True)  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            queue = subprocess.run(["squeue", "-h", "-t", "RUNNING,COMPLETING", "-o", "%i"],
                                   env=env, capture_output=True, text=True, timeout=20)  # fmt: skip
            if queue.returncode != 0 or not queue.stdout.strip():
                break
            time.sleep(0.5)
    steps = descendants(pids["slurmd"]) if "slurmd" in pids and alive(pids["slurmd"]) else []
    for name in ("slurmd", "slurmctld"):
        if name in pids:
            terminate([pids[name]])
    if steps:
        terminate(steps, grace=3)
    if "munged" in pids:
        terminate([pids["munged"]])
    log("stopped " + ", ".join(f"{name} ({pid})" for name, pid in pids.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run_p = sub.add_parser("run", help="start, run COMMAND with SLURM_CONF set, stop")
    run_p.add_argument("--dir", type=Path, help="state and logs (default: a temp dir)")
    run_p.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    run_p.add_argument("command", nargs=argparse.REMAINDER)
    start_p = sub.add_parser("start", help="start and leave running; prints the environment")
    start_p.add_argument("--dir", type=Path, required=True)
    stop_p = sub.add_parser("stop", help="stop what `start --dir DIR` started")
    stop_p.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()

    if args.action == "stop":
        stop(json.loads((args.dir / STATE_FILE).read_text()))
        return 0
    if args.action == "start":
        state = start(args.dir)
        print(f"export SLURM_CONF={state['slurm_conf']} PATH={state['bin']}:$PATH")
        return 0

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("run needs a COMMAND after --")
    root = args.dir or Path(tempfile.mkdtemp(prefix="microexp-slurm-"))

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    state = start(root)
    try:
        done = subprocess.run(command, env=cluster_env(state))
        return done.returncode
    finally:
        stop(state)
        if args.dir is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log(f"logs in {root / 'log'}")


if __name__ == "__main__":
    sys.exit(main())
