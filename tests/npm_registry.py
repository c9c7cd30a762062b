"""An npm registry on 127.0.0.1 that holds one package: the real CML 0.20.6.

The generated workflows install CML with `npm install --global --ignore-scripts
@dvcorg/cml@0.20.6`. The registry these machines reach has no `@dvcorg/cml`, so a test that
runs that step as written points npm here (`npm_config_registry`). What it serves is the
ready build in shared/tools (the release's source with its production dependencies; see
github_stub.CML_TARBALL), packed as npm publishes a package, with those dependencies
declared bundled so npm installs them from the tarball and fetches nothing else. Every
request is recorded; any other package is a 404, as a registry answers an unknown name.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

NAME = "@dvcorg/cml"
VERSION = "0.20.6"


def packed(build: Path) -> bytes:
    """The build (a tarball whose top folder is `cml/`) as an npm package tarball: its
    files under `package/`, and every dependency in `bundleDependencies`."""
    out = io.BytesIO()
    with tarfile.open(build) as source, tarfile.open(fileobj=out, mode="w:gz") as package:
        for member in source.getmembers():
            relative = member.name.partition("/")[2]
            if not relative or member.issym() or member.islnk() or member.isdev():
                continue
            data = source.extractfile(member).read() if member.isfile() else None
            if relative == "package.json" and data is not None:
                manifest = json.loads(data)
                manifest["bundleDependencies"] = sorted(manifest.get("dependencies", {}))
                data = json.dumps(manifest, indent=2).encode()
                member.size = len(data)
            member.name = f"package/{relative}"
            package.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


class NpmRegistry(ThreadingHTTPServer):
    def __init__(self, build: Path):
        super().__init__(("127.0.0.1", 0), RegistryHandler)
        self.tarball = packed(build)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def packument(self) -> dict:
        digest = base64.b64encode(hashlib.sha512(self.tarball).digest()).decode()
        manifest = {
            "name": NAME,
            "version": VERSION,
            "bin": {"cml": "bin/cml.js"},
            "dist": {
                "tarball": f"{self.url}cml-{VERSION}.tgz",
                "integrity": f"sha512-{digest}",
                "shasum": hashlib.sha1(self.tarball).hexdigest(),
            },
        }
        return {"name": NAME, "dist-tags": {"latest": VERSION}, "versions": {VERSION: manifest}}


class RegistryHandler(BaseHTTPRequestHandler):
    server: NpmRegistry

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        path = unquote(self.path.split("?")[0]).lstrip("/")
        status, kind = 200, "application/json"
        if path == NAME:
            data = json.dumps(self.server.packument()).encode()
        elif path == f"cml-{VERSION}.tgz":
            data, kind = self.server.tarball, "application/octet-stream"
        else:
            status, data = 404, b'{"error":"Not found"}'
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # npm's audit and other calls: not served
        self.server.requests.append(f"POST {self.path}")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
