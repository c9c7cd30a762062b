"""The artifact stand-ins: upload copies files into $ACT_ARTIFACTS/<name>/, download
copies them back. Multi-line `path` inputs, globs and the least-common-ancestor root
work as in the real actions, and, as there, hidden files and folders (a name that starts
with a dot, such as .git) are left out unless `include-hidden-files` is true."""

import glob
import os
import shutil
import sys
from pathlib import Path


def upload() -> int:
    target = Path(os.environ["ACT_ARTIFACTS"]) / os.environ["NAME"]
    patterns = [line.strip() for line in os.environ["PATHS"].splitlines() if line.strip()]
    found = [Path(match) for pattern in patterns for match in glob.glob(pattern, recursive=True)]
    if not found:
        print(f"no files match {patterns}", file=sys.stderr)
        return 1 if os.environ.get("IF_NO_FILES_FOUND") == "error" else 0
    # As the real action does: paths are stored relative to their least common
    # ancestor, so absolute paths (`${{ runner.temp }}/...`) work too.
    resolved = [path.resolve() for path in found]
    root = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in resolved]))
    hidden = os.environ.get("INCLUDE_HIDDEN", "false") != "true"
    # An upload is a new artifact: nothing of an earlier run's artifact of that name stays.
    shutil.rmtree(target, ignore_errors=True)

    def skip(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if name.startswith(".")] if hidden else []

    for path in resolved:
        destination = target / path.relative_to(root)
        if path.is_dir():
            shutil.copytree(path, destination, dirs_exist_ok=True, ignore=skip, symlinks=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
    print(f"artifact {target.name}: {', '.join(map(str, found))}")
    return 0


def download() -> int:
    source = Path(os.environ["ACT_ARTIFACTS"]) / os.environ["NAME"]
    if not source.is_dir():
        print(f"error: no artifact named {source.name}", file=sys.stderr)
        return 1
    shutil.copytree(source, os.environ["TARGET"], dirs_exist_ok=True, symlinks=True)
    return 0


sys.exit({"upload": upload, "download": download}[sys.argv[1]]())
