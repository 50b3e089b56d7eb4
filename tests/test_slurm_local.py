"""The Slurm launcher against a real Slurm: scripts/slurm_local.sh starts munged, slurmctld and slurmd
on this machine, a sweep goes through sbatch, and its merged leaderboard must equal the same sweep
run in-process. Needs root and Debian's slurm-wlm and munge (.ci/run installs them where it can);
skipped, with the reason, otherwise."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "slurm_local.sh"
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "runuser")
SWEEP = ["method=noisy,wavelet", "sigma=25,50", "dataset.images=[camera,moon]", "crop=48"]


def missing_requirement() -> str | None:
    if os.geteuid() != 0:
        return "needs root (slurmd runs jobs as their users)"
    absent = [program for program in PROGRAMS if shutil.which(program) is None]
    if absent:
        return f"{', '.join(absent)} not installed: apt-get install slurm-wlm munge"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(missing_requirement() is not None,
                                                   reason=f"no local Slurm: {missing_requirement()}")]


def free_port_pair() -> int:
    """A port p with p + 1 also free (slurmctld and slurmd), so a Slurm already here is untouched."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture(scope="module")
def slurm() -> Iterator[dict[str, str]]:
    """A running one-node cluster (2 CPUs) for this module; the environment its clients need."""
    # Not under pytest's tmp_path: munged wants every folder above its socket open to all users.
    state = Path(tempfile.mkdtemp(prefix="denoise-bench-slurm-"))
    state.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    env = {**os.environ, "SLURM_LOCAL_DIR": str(state), "SLURM_LOCAL_CPUS": "2",
           "SLURM_LOCAL_PORT": str(free_port_pair())}
    started = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield {"SLURM_CONF": str(state / "slurm.conf")}
    finally:
        stopped = subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=120)
        status = subprocess.run([str(SCRIPT), "status"], env=env, capture_output=True, text=True, timeout=60)
        shutil.rmtree(state, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr
        assert status.stdout.count("not running") == 3, status.stdout


def test_a_sweep_through_slurm_gives_the_in_process_leaderboard(bench_cli, slurm) -> None:
    result = bench_cli("-m", "hydra/launcher=submitit_slurm", "hydra.launcher.partition=debug",
                       "hydra.launcher.timeout_min=10", "hydra.launcher.cpus_per_task=1", *SWEEP,
                       "hydra.sweep.dir=slurm_sweep", "store=slurm_store", timeout=600, **slurm)
    assert result.returncode == 0, result.stderr
    sweep = bench_cli.folder / "slurm_sweep"
    # One Slurm job array, one task per (method, σ), each of which left submitit's result file.
    tasks = sorted(path.name for path in (sweep / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", path.name))
    assert [task.split("_")[1] for task in tasks] == ["0", "1", "2", "3"], tasks
    for task in tasks:
        assert (sweep / ".submitit" / task / f"{task}_0_result.pkl").is_file(), task

    local = bench_cli(*SWEEP, "-m", "hydra.sweep.dir=local_sweep", "store=local_store")
    assert local.returncode == 0, local.stderr
    columns = ["method", "sigma", "n_images", "n_failed", "psnr_mean", "ssim_mean"]
    on_slurm, in_process = (pd.read_csv(bench_cli.folder / name / "leaderboard.csv")[columns]
                            .sort_values(["method", "sigma"]).reset_index(drop=True)
                            for name in ("slurm_sweep", "local_sweep"))
    assert on_slurm.n_images.tolist() == [2, 2, 2, 2] and on_slurm.n_failed.tolist() == [0, 0, 0, 0]
    pd.testing.assert_frame_equal(on_slurm, in_process)
