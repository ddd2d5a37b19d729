"""``avatar-pipeline``: one entry point, one module per subcommand (imported only when chosen).

Each command module exposes ``add_arguments(parser)`` and ``run(args) -> int``; the flags every command shares
(``--work-dir``, ``-q``, ``-v``, ``--json``, ``--no-progress``, ``--config``/``--set``) come from
:mod:`pipeline.commands.common`. Expected failures (:class:`~avatar_bench.errors.AvatarError`, which
:class:`PipelineError` extends) print one clear line and exit 2; there is no traceback for user mistakes. Log
lines print above the progress bars (tqdm's logging redirect), which only show on a terminal.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from avatar_bench.errors import AvatarError
from pipeline.commands.common import HelpFormatter, common_parser

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("pipeline.commands.prepare", "sources → probe/filter → audio activity → frame choice"),
    "propose": ("pipeline.commands.propose", "detector + audio tagger + segmenter proposals and scenario rules"),
    "models": ("pipeline.commands.models", "list / check / download model checkpoints"),
    "review": ("pipeline.commands.review", "push proposals to Label Studio and pull verified annotations"),
    "export": ("pipeline.commands.export", "write train/val/test AVATAR-COCO files and a dataset card"),
    "report": ("pipeline.commands.report", "proposal quality after a pull: what annotators kept, per backend"),
}


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, object | None]:
    parser = argparse.ArgumentParser(prog="avatar-pipeline", description=__doc__.splitlines()[0],
                                     formatter_class=HelpFormatter)
    parser.add_argument("-v", "--verbose", dest="main_verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Import only the chosen command's module (heavy dependencies stay unloaded otherwise).
    chosen = next((a for a in argv if a in COMMANDS), None)
    module = importlib.import_module(COMMANDS[chosen][0]) if chosen is not None else None
    for name, (_, help_text) in COMMANDS.items():
        if name != chosen:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        # commands with actions (review push|pull|status) give the shared flags to each action instead
        parents = [] if getattr(module, "HAS_ACTIONS", False) else [common_parser()]
        cmd = sub.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter,
                             parents=parents)
        module.add_arguments(cmd)
    return parser, module


def _logging(args: argparse.Namespace) -> None:
    verbose = getattr(args, "verbose", False) or args.main_verbose
    level = logging.DEBUG if verbose else logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for note in getattr(args, "deprecated", []):
        logging.getLogger("avatar-pipeline").warning(note)


def main(argv: list[str] | None = None) -> int:
    from tqdm.contrib.logging import logging_redirect_tqdm

    argv = list(sys.argv[1:] if argv is None else argv)
    parser, module = build_parser(argv)
    args = parser.parse_args(argv)
    if module is None:
        parser.print_help()
        return 2
    _logging(args)
    try:
        with logging_redirect_tqdm():
            return int(module.run(args) or 0)
    except AvatarError as exc:
        print(f"avatar-pipeline {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("avatar-pipeline: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
