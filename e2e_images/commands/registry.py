"""`e2e-images registry serve`: a local registry to push to and pull from by hand, or, with
`--standins`, the hermetic registry that builds in other processes share."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from contextlib import ExitStack
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
    serve.add_argument("--standins", action="store_true",
                       help="seed the hermetic stand-ins, serve the artifact mirror beside "
                            "the registry and write STORAGE/mirrors.yaml and "
                            "STORAGE/artifacts.yaml for --mirrors and --artifacts")
    serve.add_argument("--address", default="127.0.0.1",
                       help="interface to listen on (default 127.0.0.1; plain HTTP, so only "
                            "on a network you trust; 0.0.0.0 advertises this host's name)")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="e2e-images-registry-") as tmp, ExitStack() as stack:
        storage = args.storage or Path(tmp) / "storage"
        stopped = threading.Event()
        # Both signals only set the event: a KeyboardInterrupt could land between starting
        # the registry and entering the wait, and escape the clean shutdown.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopped.set())
        reg = stack.enter_context(EmbeddedRegistry(Path(tmp), port=args.port, storage=storage,
                                                   address=args.address))
        print(f"registry listening on {reg.host} (storage {storage})", flush=True)
        if args.standins:
            from e2e_images.shared_registry import serve_hermetic

            shared = stack.enter_context(serve_hermetic(reg.port, Path(storage),
                                                        address=args.address))
            print(f"stand-ins seeded; artifact mirror on {shared.artifact_host}\n"
                  f"  --registry {shared.registry}/<namespace> "
                  f"--mirrors {shared.mirrors_file} --artifacts {shared.artifacts_file}",
                  flush=True)
        while not stopped.wait(0.5):
            if reg.process is None or reg.process.poll() is not None:
                print("registry exited", file=sys.stderr)
                return 1
    return 0
