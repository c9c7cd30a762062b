"""A Jinja extension that cookiecutter loads (`_extensions` in cookiecutter.json) only to
keep a refused bake to the hook's own message.

When `hooks/pre_gen_project.py` refuses an answer it prints what to fix and exits 1;
cookiecutter 2.x then logs "Stopping generation ..." with `logger.exception`, which adds
a traceback of its own code. The filter below drops that traceback (the record and its
message stay), so a refused bake reads: the answers to fix, one line that generation
stopped, and cookiecutter's "Hook script failed (exit status: 1)".
"""

from __future__ import annotations

import logging

from jinja2.ext import Extension


class _NoHookTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and "hook" in str(record.msg):
            record.exc_info = None
            record.exc_text = None
        return True


class QuietHookFailure(Extension):
    """Adds nothing to the templates; installs the filter when cookiecutter loads it."""

    def __init__(self, environment):
        super().__init__(environment)
        logger = logging.getLogger("cookiecutter.hooks")
        if not any(isinstance(item, _NoHookTraceback) for item in logger.filters):
            logger.addFilter(_NoHookTraceback())
