"""`e2e-images registry serve`: a local registry to push to and pull from by hand."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

from e2e_images.registry.embedded import EmbeddedRegistry

HELP = "run the embedded registry (CNCF distribution) on loopback"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="registry_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="serve until interrupted",
                           description="Run docker-registry on 127.0.0.1 until interrupted.")
    serve.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    serve.add_argument("--storage", type=Path, default=None,
                       help="storage directory, the same layout `build`, `gate` and `mirror` "
                            "write with --storage (default: a temporary one, removed on exit)")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="e2e-images-registry-") as tmp:
        storage = args.storage or Path(tmp) / "storage"
        stopped = threading.Event()
        # Both signals only set the event: a KeyboardInterrupt could land between starting
        # the registry and entering the wait, and escape the clean shutdown.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopped.set())
        with EmbeddedRegistry(Path(tmp), port=args.port, storage=storage) as reg:
            print(f"registry listening on {reg.host} (storage {storage})", flush=True)
            while not stopped.wait(0.5):
                if reg.process is None or reg.process.poll() is not None:
                    print("registry exited", file=sys.stderr)
                    return 1
    return 0
