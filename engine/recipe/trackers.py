"""`train.report_to`: the experiment trackers TRL can log to, the package each needs, and where each one writes
when the user's environment does not say (inside the run folder, offline)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

# TRL's (transformers') tracker names → the module each tracker's callback imports.
TRACKERS = {
    "tensorboard": "tensorboard", "wandb": "wandb", "trackio": "trackio", "mlflow": "mlflow",
    "comet_ml": "comet_ml", "clearml": "clearml", "neptune": "neptune", "dvclive": "dvclive",
    "codecarbon": "codecarbon", "swanlab": "swanlab", "azure_ml": "azureml", "dagshub": "dagshub",
}
PROJECT = "reins"  # the tracker's project when the environment names none


def missing_trackers(report_to: list[str]) -> list[tuple[str, str]]:
    """(tracker, package) for each tracker in `report_to` whose package is not installed (looked up, not imported)."""
    return [(name, TRACKERS[name]) for name in report_to if importlib.util.find_spec(TRACKERS[name]) is None]


def tracker_env(report_to: list[str], run_id: str, tb: Path, trackers: Path,
                environ: Mapping[str, str]) -> dict[str, str]:
    """Environment variables that point each tracker at the run folder and keep it offline, for the ones the user's
    environment leaves unset. TensorBoard always writes to `tb` (the run's `tb/`); the others under `trackers`."""
    wanted: dict[str, str] = {}
    if "tensorboard" in report_to:
        wanted["TENSORBOARD_LOGGING_DIR"] = str(tb)
    if "wandb" in report_to:
        # Offline unless the user chose a mode: `wandb sync` uploads the folder later.
        wanted.update(WANDB_MODE="offline", WANDB_DIR=str(trackers), WANDB_PROJECT=PROJECT, WANDB_RUN_ID=run_id)
    if "trackio" in report_to:
        wanted["TRACKIO_DIR"] = str(trackers / "trackio")  # local unless a Space is configured
    if "mlflow" in report_to:
        wanted.update(MLFLOW_TRACKING_URI=(trackers / "mlruns").as_uri(), MLFLOW_EXPERIMENT_NAME=PROJECT)
    always = {"TENSORBOARD_LOGGING_DIR"}  # the run folder's tb/ is where Reins and its readers look
    return {k: v for k, v in wanted.items() if k in always or k not in environ}
