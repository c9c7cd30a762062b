"""The model pipeline of this project: stages, tracking and tools (see the README)."""
