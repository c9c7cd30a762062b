"""One module per DVC stage.

Each exposes `run(params)` (validate, which takes options: `run(params, options)`),
which resolves the stage's paths from params.yaml and calls one function of the same
module with explicit inputs and outputs and no path lookups: the function a Kubeflow
component can call as well.
"""
