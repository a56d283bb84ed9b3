# A stand-in for a user's training script: no training, scripted figures.
# greensearch: knobs=seq_len,dynamic_padding
"""Predicts a fixed test set with errors drawn from its seed; writes its "energy" where
the test's meter reads it. seq_len=96 loses (45 % errors), every other value is lossless
(the same errors as the baseline of the same seed). ``SCRIPTED_FAIL`` makes one bundle
crash, hang or report nothing."""

import json
import os
import random
import sys
import time

from greensearch import report_run, script_trial

trial = script_trial()
bundle = ",".join(f"{k}={v}" for k, v in sorted(trial.knobs.items()))
fail = json.loads(os.environ.get("SCRIPTED_FAIL", "{}")).get(bundle)
if fail == "crash":
    sys.exit("CUDA out of memory (scripted)")
if fail == "hang":
    time.sleep(600)
tokens = int(trial.knobs.get("seq_len", 192))
energy_j = 100.0 * tokens / 192 * (0.8 if "dynamic_padding" in trial.knobs else 1.0)
with open(os.environ["SCRIPTED_ENERGY"], "w") as f:
    f.write(repr(energy_j))
if fail == "silent":
    sys.exit(0)
labels = [i % 2 for i in range(400)]
rng = random.Random(trial.seed)
error = 0.45 if tokens == 96 else 0.1
wrong = {i for i in range(400) if rng.random() < error}
report_run(
    predictions=[1 - y if i in wrong else y for i, y in enumerate(labels)],
    labels=labels,
    example_ids=[f"ex{i}" for i in range(400)],
)
