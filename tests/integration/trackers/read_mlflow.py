"""Reads a run back from a live MLflow tracking server with MLflow's own client.

Usage: read_mlflow.py <tracking_uri> <experiment_name> <run_name>
Prints one JSON object: status, run_name, params, metrics {key: [[step, value, timestamp]]}.
"""
import json
import math
import sys

from mlflow.tracking import MlflowClient


def num(v):
    """Non-finite floats as the strings NaN/Infinity/-Infinity: strict JSON has no spelling."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


uri, experiment_name, run_name = sys.argv[1:4]
client = MlflowClient(tracking_uri=uri)
experiment = client.get_experiment_by_name(experiment_name)
assert experiment is not None, f"experiment {experiment_name!r} not found"
runs = client.search_runs(
    [experiment.experiment_id], filter_string=f"attributes.run_name = '{run_name}'"
)
assert len(runs) == 1, f"expected one run named {run_name!r}, found {len(runs)}"
run = runs[0]
metrics = {}
for key in run.data.metrics:
    history = client.get_metric_history(run.info.run_id, key)
    metrics[key] = [[m.step, num(m.value), m.timestamp] for m in sorted(history, key=lambda m: (m.step, m.timestamp))]
print(json.dumps({
    "status": run.info.status,
    "run_name": run.info.run_name,
    "start_time": run.info.start_time,
    "end_time": run.info.end_time,
    "params": run.data.params,
    "metrics": metrics,
}, allow_nan=False))
