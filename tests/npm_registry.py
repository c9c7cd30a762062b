"""A stand-in for the npm registry on 127.0.0.1 that serves one package: CML 0.20.6.

The workflows install CML with `npm install --global @dvcorg/cml@0.20.6`, a `run:` step
that runs as written. The registry these machines reach has no `@dvcorg/cml`, so this
serves the ready build from shared/tools (see github_stub.find_cml_tarball) as that
package, its dependencies bundled in the tarball (`bundleDependencies`), so npm fetches
nothing else. Point npm at it with `npm_config_registry`, and give it a prefix of its
own (`npm_config_prefix`) so `--global` installs into the test's folder, not the host.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .github_stub import CML_TARBALL, serving

NAME, VERSION = "@dvcorg/cml", "0.20.6"


def npm_package(build: Path) -> tuple[bytes, dict]:
    """(the package tarball, its package.json): the build's `cml/` folder as `package/`,
    with every dependency declared bundled."""
    packed = io.BytesIO()
    manifest: dict = {}
    with tarfile.open(build) as source, tarfile.open(fileobj=packed, mode="w:gz") as out:
        for member in source.getmembers():
            if not member.name.startswith("cml/"):
                continue
            content = source.extractfile(member) if member.isfile() else None
            member.name = "package/" + member.name.removeprefix("cml/")
            if member.name == "package/package.json" and content is not None:
                manifest = json.loads(content.read())
                manifest["bundleDependencies"] = sorted(manifest.get("dependencies", {}))
                data = json.dumps(manifest).encode()
                member.size, content = len(data), io.BytesIO(data)
            out.addfile(member, content)
    return packed.getvalue(), manifest


class Registry(ThreadingHTTPServer):
    def __init__(self, tarball: bytes, manifest: dict):
        super().__init__(("127.0.0.1", 0), RegistryHandler)
        self.tarball = tarball
        self.manifest = manifest
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def packument(self) -> dict:
        digest = base64.b64encode(hashlib.sha512(self.tarball).digest()).decode()
        version = {**self.manifest, "_id": f"{NAME}@{VERSION}",
                   "dist": {"tarball": f"{self.url}cml-{VERSION}.tgz",
                            "shasum": hashlib.sha1(self.tarball).hexdigest(),
                            "integrity": f"sha512-{digest}"}}  # fmt: skip
        return {"name": NAME, "dist-tags": {"latest": VERSION}, "versions": {VERSION: version}}


class RegistryHandler(BaseHTTPRequestHandler):
    server: Registry

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.lower() in ("/@dvcorg%2fcml", "/@dvcorg/cml"):
            data = json.dumps(self.server.packument()).encode()
        elif self.path == f"/cml-{VERSION}.tgz":
            data = self.server.tarball
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def cml_registry() -> Iterator[Registry]:
    if not CML_TARBALL.is_file():
        pytest.fail(f"the CML build is missing: {CML_TARBALL} (see shared/tools/README.md)")
    with serving(Registry(*npm_package(CML_TARBALL))) as registry:
        yield registry


def npm_environment(registry: Registry, folder: Path) -> tuple[dict[str, str], Path]:
    """(the runner's npm settings, the folder `npm install --global` puts commands in)."""
    prefix = folder / "npm-global"
    settings = {
        "npm_config_registry": registry.url,
        "npm_config_prefix": str(prefix),
        "npm_config_cache": str(folder / "npm-cache"),
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
    }
    return settings, prefix / "bin"
