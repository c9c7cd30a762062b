"""The project's logic on numpy, pandas, scipy and scikit-learn only.

Nothing here reads a file, calls a server or imports MLflow, Great Expectations,
DVC or git: stages, commands and integrations do that and pass plain values in.
tests/test_layout.py holds this package to it.
"""
