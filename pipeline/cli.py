"""``avatar-pipeline``: one entry point, one module per subcommand (imported only when chosen).

Each command module exposes ``add_arguments(parser)`` and ``run(args) -> int``. Expected failures
(:class:`~avatar_bench.errors.AvatarError`, which :class:`PipelineError` extends) print one clear line
and exit 2; there is no traceback for user mistakes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from avatar_bench.errors import AvatarError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("pipeline.commands.prepare", "sources → probe/filter → audio activity → frame choice"),
    "propose": ("pipeline.commands.propose", "detector + audio tagger + segmenter proposals and scenario rules"),
    "models": ("pipeline.commands.models", "list / check / download model checkpoints"),
    "review": ("pipeline.commands.review", "push proposals to Label Studio and pull verified annotations"),
    "export": ("pipeline.commands.export", "write train/val/test AVATAR-COCO files and a dataset card"),
}


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, object | None]:
    parser = argparse.ArgumentParser(prog="avatar-pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    # Import only the chosen command's module (heavy dependencies stay unloaded otherwise).
    chosen = next((a for a in argv if a in COMMANDS), None)
    module = None
    if chosen is not None:
        module = importlib.import_module(COMMANDS[chosen][0])
        cmd_parser = sub.choices[chosen]
        cmd_parser.add_argument("-h", "--help", action="help", help="show this help message and exit")
        cmd_parser.description = COMMANDS[chosen][1]
        module.add_arguments(cmd_parser)
    return parser, module


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, module = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if module is None:
        parser.print_help()
        return 2
    try:
        return int(module.run(args) or 0)
    except AvatarError as exc:
        print(f"avatar-pipeline {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("avatar-pipeline: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
