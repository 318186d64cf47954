"""Reads a run directory written by Accel's TensorBoard tracker with TensorBoard's own code.

1. Every record of every event file through tensorboard's record reader, which checks both
   masked CRC-32Cs of each record and raises DataLossError on a mismatch.
2. The run through EventAccumulator, the class TensorBoard's backend loads runs with.
Prints one JSON object: records, file_version, scalars {tag: [[step, value, wall_time]]},
text {tag: text}.
"""
import glob
import json
import math
import os
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
from tensorboard.util import tensor_util


def num(v):
    """Non-finite floats as the strings NaN/Infinity/-Infinity: strict JSON has no spelling."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


run_dir = sys.argv[1]
files = sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*")))
assert files, f"no event file in {run_dir}"

records = 0
first = None
for path in files:
    reader = pywrap_tensorflow.PyRecordReader_New(path)
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            break
        event = event_pb2.Event.FromString(reader.record())
        if first is None:
            first = event
        records += 1

acc = event_accumulator.EventAccumulator(
    run_dir, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
)
acc.Reload()
tags = acc.Tags()
scalars = {
    tag: [[e.step, num(e.value), e.wall_time] for e in acc.Scalars(tag)] for tag in tags["scalars"]
}
text = {}
try:
    text_tags = acc.PluginTagToContent("text")
except KeyError:  # no summary of the text plugin in the run
    text_tags = {}
for tag in text_tags:
    events = acc.Tensors(tag)
    text[tag] = tensor_util.make_ndarray(events[-1].tensor_proto).item().decode("utf-8")

print(json.dumps({
    "files": [os.path.basename(f) for f in files],
    "records": records,
    "file_version": first.file_version if first is not None else "",
    "first_has_wall_time": bool(first is not None and first.wall_time > 0),
    "accumulator_file_version": acc.file_version,
    "scalars": scalars,
    "text": text,
}, allow_nan=False))
