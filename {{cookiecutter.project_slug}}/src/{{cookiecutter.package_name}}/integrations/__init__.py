"""The edges: each module wraps one outside tool or service (GX, MLflow, DVC, git, GitHub).

The rest of the project reaches those tools only through these modules, and each
heavy one is imported only by the stages and commands that use it.
"""
