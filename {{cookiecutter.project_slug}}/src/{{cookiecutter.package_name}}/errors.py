"""Errors a user can fix: the CLI prints them as one line, with no traceback."""


class ProjectError(Exception):
    """A problem with the project's inputs (params, data, store) that names its fix."""


class ParamsError(ProjectError):
    """params.yaml is missing, malformed, or holds a value the pipeline cannot use."""


class DataError(ProjectError):
    """The data is missing, unreadable, or does not fit params.yaml."""
