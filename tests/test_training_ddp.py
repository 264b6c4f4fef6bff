"""``strategy="ddp"``: two CPU processes (gloo) train a few steps; rank 0 alone logs one MLflow run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.test_training_helpers import write_small_dataset

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
import torch
torch.set_num_threads(1)
sys.path.insert(0, {repo!r})
from stn_plugin.training import train
from tests.test_training_helpers import tiny_config

result = train(
    config=tiny_config(max_epochs=2, batch_size=2),
    data={data!r},
    output_dir={out!r},
    tracking_uri={uri!r},
    experiment="ddp",
    accelerator="cpu",
    devices=2,
    strategy="ddp",
    cache_dir=None,
    limit_train_batches=3,
)
print("RESULT", json.dumps({{"run_id": result.run_id, "epochs": result.epochs_trained}}))
"""


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path):
    data = write_small_dataset(tmp_path / "small.jsonl")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    script = tmp_path / "ddp_train.py"
    code = SCRIPT.format(repo=str(REPO), data=str(data), out=str(tmp_path / "run"), uri=uri)
    script.write_text(textwrap.dedent(code))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_RUN_ID", None)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = [json.loads(line.split(" ", 1)[1]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 2, proc.stdout  # both ranks finished
    assert "world_size: 2" in proc.stderr or "distributed_backend=gloo" in proc.stderr, proc.stderr[-3000:]
    rank_zero = [r for r in results if r["run_id"] is not None]
    assert len(rank_zero) == 1 and rank_zero[0]["epochs"] == 2
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("ddp").experiment_id])
    assert [r.info.run_id for r in runs] == [rank_zero[0]["run_id"]]
    assert runs[0].info.status == "FINISHED"
    assert len(client.get_metric_history(runs[0].info.run_id, "val/cij_mae_gpa")) == 2
    assert (tmp_path / "run/model/model.pt").exists()
