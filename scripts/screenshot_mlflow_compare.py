"""Screenshot MLflow's compare view of two or more runs in headless Chromium (docs/img/mlflow_compare.png).

Starts ``mlflow server`` on the tracking store, opens the compare page of the runs in MLflow 3's model-training
view and writes a PNG; the server is stopped afterwards.

    python scripts/screenshot_mlflow_compare.py --store sqlite:///mlflow.db --runs RUN_ID RUN_ID \\
        --output docs/img/mlflow_compare.png

Needs Chromium (Debian package ``chromium``; ``--chromium`` for another binary).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mlflow import MlflowClient

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for a root, offline, screen-less machine (no connections to Google's hosts)."""


def compare_url(base: str, run_ids: list[str], experiment_ids: list[str]) -> str:
    """URL of the compare view of ``run_ids`` in the model-training view (``workflowType=machine_learning``)."""
    return (
        f"{base}/#/compare-runs?runs={json.dumps(run_ids, separators=(',', ':'))}"
        f"&experiments={json.dumps(sorted(set(experiment_ids)), separators=(',', ':'))}&workflowType=machine_learning"
    )


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"mlflow server did not answer at {url} within {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="sqlite:///mlflow.db", help="tracking URI of the runs")
    parser.add_argument("--runs", nargs="+", required=True, help="run ids to compare (two or more)")
    parser.add_argument("--output", type=Path, default=Path("docs/img/mlflow_compare.png"))
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--size", default="1500,1500", help="window width,height in pixels")
    args = parser.parse_args(argv)
    experiments = [MlflowClient(args.store).get_run(run_id).info.experiment_id for run_id in args.runs]
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", args.store, "--host", "127.0.0.1",
         "--port", str(args.port), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(base, 120)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [args.chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={args.size}",
                 "--virtual-time-budget=30000", f"--screenshot={args.output.resolve()}",
                 compare_url(base, args.runs, experiments)],
                check=True,
                capture_output=True,
                timeout=300,
            )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
