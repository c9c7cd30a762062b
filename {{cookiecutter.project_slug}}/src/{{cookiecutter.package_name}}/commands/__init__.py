"""One module per `mlops` command that is not a pipeline stage, named after the command."""
