"""A loopback mirror for `ADD <url>`, and stand-ins for the Windows downloads it serves.

Windows Dockerfiles download busybox.exe, curl, nc, PowerShell, httpd and nginx from the web.
Here those URLs resolve to a local directory: `artifacts.json` pins each original URL to a
file and its sha256, and `ArtifactMirror` serves them on 127.0.0.1 either by path
(`http://127.0.0.1:PORT/<host>/<path>`) or as a plain HTTP proxy (absolute-form requests).
The stand-ins are tiny PE-looking files (and zips of them), marked as stand-ins, generated
deterministically so their checksums can be pinned.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

from e2e_images.atomic import write_atomic_bytes
from e2e_images.hermetic import StandinError
from e2e_images.hermetic.images import STANDIN_MARKER

__all__ = [
    "MANIFEST_NAME",
    "STANDIN_ARTIFACTS",
    "Artifact",
    "ArtifactMirror",
    "ArtifactSpec",
    "DirectoryServer",
    "load_manifest",
    "standin_pe",
    "url_key",
    "write_standin_artifacts",
]

MANIFEST_NAME = "artifacts.json"


@dataclass(frozen=True, slots=True)
class ArtifactSpec:
    """A stand-in download: a PE-looking file, or a zip of them (`members`)."""

    url: str
    members: tuple[str, ...] = ()  # zip member paths; empty: the URL is one PE file


STANDIN_ARTIFACTS = (
    ArtifactSpec("https://github.com/kubernetes-sigs/windows-testing/raw/master/images/"
                 "busybox/busybox.exe"),
    ArtifactSpec("https://github.com/kubernetes-sigs/windows-testing/raw/master/images/"
                 "busybox/vcruntime140.dll"),
    ArtifactSpec("https://curl.se/windows/dl-8.5.0_1/curl-8.5.0_1-win64-mingw.zip",
                 ("curl-8.5.0_1-win64-mingw/bin/curl.exe",
                  "curl-8.5.0_1-win64-mingw/bin/libcurl-x64.dll",
                  "curl-8.5.0_1-win64-mingw/bin/curl-ca-bundle.crt")),
    ArtifactSpec("https://github.com/diegocr/netcat/raw/master/nc64.exe"),
    ArtifactSpec("https://github.com/PowerShell/PowerShell/releases/download/v7.4.1/"
                 "PowerShell-7.4.1-win-x64.zip",
                 ("pwsh.exe", "pwsh.dll", "System.Management.Automation.dll")),
    ArtifactSpec("https://www.apachelounge.com/download/VS17/binaries/"
                 "httpd-2.4.58-win64-VS17.zip",
                 ("Apache24/bin/httpd.exe", "Apache24/bin/libapr-1.dll",
                  "Apache24/conf/httpd.conf", "Apache24/htdocs/index.html")),
    ArtifactSpec("https://nginx.org/download/nginx-1.25.3.zip",
                 ("nginx-1.25.3/nginx.exe", "nginx-1.25.3/conf/nginx.conf",
                  "nginx-1.25.3/html/index.html")),
)


def standin_pe(name: str) -> bytes:
    """A file that starts like a PE (`MZ`) and says it is a stand-in; runs nowhere."""
    marker = STANDIN_MARKER + f": {name}\n".encode()
    if not name.lower().endswith((".exe", ".dll")):
        return marker
    return b"MZ\x90\x00" + marker + hashlib.sha256(name.encode()).digest()


def _zip(members: Iterable[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for member in sorted(members):
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, standin_pe(member.rsplit("/", 1)[-1]))
    return buf.getvalue()


def url_key(url: str) -> str:
    """`https://host/a/b?x` -> `host/a/b`: where the mirror keeps and serves a URL's file."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise StandinError(f"{url!r} is not an http(s) URL")
    path = parts.path.lstrip("/")
    if any(p in ("", ".", "..") for p in path.split("/")):
        raise StandinError(f"{url!r}: path cannot be mapped to a file")
    return f"{parts.netloc.lower()}/{path}"


@dataclass(frozen=True, slots=True)
class Artifact:
    url: str
    path: str  # relative to the mirror directory
    sha256: str  # hex
    size: int


def write_standin_artifacts(root: Path,
                            specs: Iterable[ArtifactSpec] = STANDIN_ARTIFACTS) -> list[Artifact]:
    """Write the stand-ins and the pinned `artifacts.json` into `root`; same bytes every run."""
    artifacts: list[Artifact] = []
    for spec in specs:
        key = url_key(spec.url)
        name = key.rsplit("/", 1)[-1]
        data = _zip(spec.members) if spec.members else standin_pe(name)
        dest = root / key
        if not dest.is_file() or dest.read_bytes() != data:  # another run may be serving it
            write_atomic_bytes(dest, data)
        artifacts.append(Artifact(spec.url, key, hashlib.sha256(data).hexdigest(), len(data)))
    manifest = {"schemaVersion": 1, "artifacts": [
        {"url": a.url, "path": a.path, "sha256": a.sha256, "size": a.size} for a in artifacts]}
    write_atomic_bytes(root / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode())
    return artifacts


def load_manifest(root: Path) -> list[Artifact]:
    """Read `artifacts.json` and check every file against its pinned sha256 and size."""
    path = root / MANIFEST_NAME
    try:
        obj = json.loads(path.read_text())
        items = obj["artifacts"]
        artifacts = [Artifact(str(i["url"]), str(i["path"]), str(i["sha256"]), int(i["size"]))
                     for i in items]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StandinError(f"cannot read the artifact manifest: {exc}", path=str(path)) from None
    for a in artifacts:
        file = root / a.path
        if not file.resolve().is_relative_to(root.resolve()):
            raise StandinError(f"{a.url}: path {a.path!r} leaves the mirror", path=str(path))
        try:
            data = file.read_bytes()
        except OSError:
            raise StandinError(f"{a.url}: {a.path} is missing", path=str(path)) from None
        if hashlib.sha256(data).hexdigest() != a.sha256 or len(data) != a.size:
            raise StandinError(f"{a.url}: {a.path} does not match its pinned sha256",
                               path=str(path), hint="regenerate the mirror directory")
    return artifacts


class _FileHandler(BaseHTTPRequestHandler):
    """GET/HEAD of one file per path; subclasses say which file (None: 404)."""

    def log_message(self, format: str, *args: object) -> None:
        pass  # library code stays quiet

    def _file(self) -> tuple[Path, dict[str, str]] | None:
        raise NotImplementedError

    def _respond(self, body: bool) -> None:
        found = self._file()
        if found is None:
            data, status, headers = (f"not found: {self.path}\n".encode(), 404,
                                     {"Content-Type": "text/plain"})
        else:
            data, status = found[0].read_bytes(), 200
            headers = {"Content-Type": "application/octet-stream", **found[1]}
        self.send_response(status)
        for name, value in (headers | {"Content-Length": str(len(data))}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)


class _Handler(_FileHandler):
    server: _MirrorServer

    def _file(self) -> tuple[Path, dict[str, str]] | None:
        target = self.path
        if "://" in target:  # proxy (absolute-form) request
            try:
                key = url_key(target)
            except StandinError:
                return None
        else:
            key = target.split("?", 1)[0].lstrip("/")
        artifact = self.server.by_key.get(key.lower())
        if artifact is None:
            return None
        return self.server.root / artifact.path, {"ETag": f'"{artifact.sha256}"'}


class _MirrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, artifacts: list[Artifact], address: str = "127.0.0.1",
                 port: int = 0) -> None:
        super().__init__((address, port), _Handler)
        self.root = root
        self.by_key = {a.path.lower(): a for a in artifacts}


class ArtifactMirror:
    """Serve a mirror directory on a free loopback port while the context is open."""

    def __init__(self, root: Path, *, address: str = "127.0.0.1", port: int = 0) -> None:
        """`address`/`port`: where to listen (loopback and a free port unless asked)."""
        self.root = Path(root)
        self.address, self.port = address, port
        self.artifacts: list[Artifact] = []
        self._server: _MirrorServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ArtifactMirror:
        self.artifacts = load_manifest(self.root)
        self._server = _MirrorServer(self.root, self.artifacts, self.address, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="artifact-mirror", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def host(self) -> str:
        if self._server is None:
            raise StandinError("the artifact mirror is not running")
        return f"{self.address}:{self._server.server_address[1]}"

    @property
    def proxy(self) -> str:
        """For HTTP_PROXY: plain-http URLs fetched through it resolve to stand-ins."""
        return f"http://{self.host}"

    def url_for(self, original: str) -> str:
        key = url_key(original)
        if key.lower() not in {a.path.lower() for a in self.artifacts}:
            raise StandinError(f"no stand-in for {original}",
                               hint="add an ArtifactSpec or put the file in the mirror")
        return f"http://{self.host}/{key}"

    def sha256_for(self, original: str) -> str:
        key = url_key(original).lower()
        for a in self.artifacts:
            if a.path.lower() == key:
                return a.sha256
        raise StandinError(f"no stand-in for {original}")


class _DirectoryHandler(_FileHandler):
    server: _DirectoryServer

    def _file(self) -> tuple[Path, dict[str, str]] | None:
        index, _, rest = self.path.split("?", 1)[0].lstrip("/").partition("/")
        roots = self.server.roots
        if not index.isdigit() or int(index) >= len(roots):
            return None
        root = roots[int(index)].resolve()
        file = (root / unquote(rest)).resolve()
        return (file, {}) if file.is_relative_to(root) and file.is_file() else None


class _DirectoryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, roots: list[Path]) -> None:
        super().__init__(("127.0.0.1", 0), _DirectoryHandler)
        self.roots = roots


class DirectoryServer:
    """Serve local directories on loopback (`/<n>/<path>`), for `--artifacts` directory
    entries: buildah's ADD needs a URL, as the native builder's fetcher can use too."""

    def __init__(self) -> None:
        self._server = _DirectoryServer([])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="artifact-directories", daemon=True)

    def __enter__(self) -> DirectoryServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def url_for(self, directory: Path, rest: str) -> str:
        roots = self._server.roots
        if directory not in roots:
            roots.append(directory)
        return (f"http://127.0.0.1:{self._server.server_address[1]}/"
                f"{roots.index(directory)}/{quote(rest)}")
