"""What users do today: load the model (executing it), set n_jobs=None, dump it again."""
import sys

import joblib

model = joblib.load(sys.argv[1])
for _, step in model.steps:
    if hasattr(step, "n_jobs"):
        step.n_jobs = None
model.steps[0][1].n_jobs = None
joblib.dump(model, sys.argv[2])
