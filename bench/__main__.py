"""The command line: `python -m bench [-m] key=value ...` (also installed as `denoise-bench`).

A Hydra app: `conf/config.yaml` (installed as `bench.conf`) picks a method, a dataset, σ and a
seed (a registered method or dataset without a YAML file gets a config node from its factory's
signature, see `bench.plugins`); `-m` sweeps comma-separated values;
`hydra/launcher=joblib|submitit_local|submitit_slurm` runs the jobs in parallel or on a cluster with no code change. Each job evaluates its images into
the results store and leaves its rows in its Hydra folder; `bench.callbacks` then writes the
leaderboard into the run or sweep folder.

Errors in the user's input end the program with `error: <one line>` and exit status 2, never a
traceback: BenchError from the harness, and Hydra's own errors (unknown config group option,
unparsable override). A job that cannot run records its error and the sweep's other jobs go on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from bench.callbacks import failed_jobs
from bench.errors import BenchError
from bench.jobfiles import write_job_error, write_job_rows
from bench.plugins import load_plugins, prepare_config
from bench.runner import JobSpec, run_job
from bench.store import ResultStore

USAGE_ERROR = 2


@hydra.main(config_path="pkg://bench.conf", config_name="config", version_base="1.3")
def run(cfg: DictConfig) -> None:
    """One Hydra job (possibly in a launcher's worker): evaluate it, leave its rows or its error."""
    hydra_cfg = HydraConfig.get()
    job_dir = Path(hydra_cfg.runtime.output_dir)
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    label = f"#{hydra_cfg.job.num} " if multirun else ""
    try:
        load_plugins(cfg.plugins)
        spec = JobSpec.from_config(cfg, config_name=hydra_cfg.runtime.choices.get("method"))
        with ResultStore(cfg.store) as store:
            rows = run_job(spec, store, job_label=label)
    except (BenchError, OmegaConfBaseException) as error:
        where = f"job {label}({' '.join(hydra_cfg.overrides.task)}): " if multirun else ""
        write_job_error(job_dir, f"{where}{error}")
        return
    write_job_rows(job_dir, rows)


def main() -> None:
    """Console entry point: run the Hydra app, turning input errors into one line and exit 2."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let errors reach us instead of Hydra's traceback printer
    try:
        prepare_config(sys.argv[1:])  # plugins and config nodes must exist before Hydra composes
        run()
        errors = failed_jobs()
        if len(errors) > 1:
            raise BenchError(f"{len(errors)} jobs failed (see job_error.txt in their folders); "
                             f"first: {errors[0]}")
        if errors:
            raise BenchError(errors[0])
    except BenchError as error:
        _fail(str(error))
    except (HydraException, OmegaConfBaseException) as error:
        _fail(hydra_error_message(error))
    except KeyboardInterrupt:
        print("interrupted: finished rows are in the results store; run the same command to resume",
              file=sys.stderr)
        sys.exit(130)


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def hydra_error_message(error: HydraException | OmegaConfBaseException) -> str:
    """One line for an error in the user's overrides (also used by `bench.evaluate`)."""
    if isinstance(error, MissingConfigException):
        return _missing_config_message(error)
    return _one_line(error)


def _missing_config_message(error: MissingConfigException) -> str:
    """`method=xyz` without conf/method/xyz.yaml: name it and list what exists."""
    if error.missing_cfg_file and "/" in error.missing_cfg_file and error.options:
        group, _, name = error.missing_cfg_file.rpartition("/")
        return f"unknown {group} {name!r}; available: {', '.join(error.options)}"
    return _one_line(error)


def _one_line(error: BaseException) -> str:
    """Hydra's multi-line messages joined into one line, without the config search path dump."""
    text = str(error).split("Config search path:")[0]
    if error.__cause__ is not None and str(error.__cause__) not in text:
        text += f" ({error.__cause__})"
    return " ".join(text.split())


if __name__ == "__main__":
    main()
