"""`e2e-images` command line: thin; each subcommand lives in `e2e_images/commands/<name>.py`.

A command module defines `HELP`, `add_arguments(parser)` and `run(args) -> int`. Modules are
imported only when their command runs, so `e2e-images plan` never imports the registry client.
Library errors become one line on stderr and their exit code; only this layer prints them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from e2e_images import __version__
from e2e_images.errors import E2EImagesError

# name -> (module, one-line help); the order is the order of `--help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("e2e_images.commands.plan", "show the build matrix of a catalog"),
    "build": ("e2e_images.commands.build", "build, push and list every planned target"),
    "registry": ("e2e_images.commands.registry", "run the embedded registry"),
    "verify": ("e2e_images.commands.verify", "run the static checks on images and lists"),
    "mirror": ("e2e_images.commands.mirror", "copy upstream images into staging (staging-only)"),
    "promote": ("e2e_images.commands.promote", "propose (and with --confirm copy) verified lists"),
    "gate": ("e2e_images.commands.gate", "build, verify, report and propose promotion (CI)"),
}


def _parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="e2e-images", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"e2e-images {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_path, summary) in COMMANDS.items():
        p = sub.add_parser(name, help=summary, description=summary)
        if name == selected:
            importlib.import_module(module_path).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if a in COMMANDS), None)
    args = _parser(selected).parse_args(args_list)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except E2EImagesError as exc:
        print(f"e2e-images {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"e2e-images {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
