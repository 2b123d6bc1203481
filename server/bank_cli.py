"""`python -m server bank check|export-docx|import-docx`: tools for keeping the clause bank.

Exit status: 0 done; 1 the bank has problems (each printed as file:line: field: message);
2 bad input (a file that is not a playbook, an output directory that already holds a bank).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from server.adapters.bank_docx import UnreadablePlaybook, read_playbook, write_playbook
from server.adapters.bank_yaml import InvalidBank, load_bank, topic_yaml
from server.core.bank import ClauseBank
from server.settings import Settings

OK, INVALID, BAD_INPUT = 0, 1, 2


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `bank` and its subcommands on the CLI's subparsers."""
    bank = commands.add_parser("bank", help="check the clause bank, or convert it to and from Word")
    tools = bank.add_subparsers(dest="bank_command", required=True)

    p = tools.add_parser("check", help="validate a clause bank and report every problem")
    p.add_argument("directory", nargs="?",
                   help="bank directory (default: REDLINE_BANK or built-in)")
    p.add_argument("--overlay", help="overlay directory (default: REDLINE_BANK_OVERLAY)")
    p.set_defaults(handler=check)

    p = tools.add_parser("export-docx", help="write the playbook as a Word document")
    p.add_argument("out", help="the .docx file to write")
    p.add_argument("--bank", help="bank directory (default: REDLINE_BANK or built-in)")
    p.add_argument("--overlay", help="overlay directory (default: REDLINE_BANK_OVERLAY)")
    p.set_defaults(handler=export_docx)

    p = tools.add_parser("import-docx", help="read a Word playbook back into YAML bank files")
    p.add_argument("docx", help="a playbook in the structure export-docx writes")
    p.add_argument("outdir", help="an empty or new directory for the YAML files")
    p.set_defaults(handler=import_docx)


def _chosen(directory: str | None, overlay: str | None) -> tuple[Path, Path | None]:
    """The bank the arguments name; with no directory, the one the service would load."""
    if directory is None:
        settings = Settings.from_env()
        return settings.bank_dir, Path(overlay) if overlay else settings.bank_overlay
    return Path(directory), Path(overlay) if overlay else None


def _load(directory: Path, overlay: Path | None, out: TextIO) -> ClauseBank | None:
    """The bank, or None after printing every problem."""
    try:
        return load_bank(directory, overlay)
    except InvalidBank as error:
        for problem in error.problems:
            print(problem, file=out)
        return None


def summary(bank: ClauseBank) -> str:
    """The one-line count of a valid bank."""
    positions = bank.positions()
    exemplars = sum(len(p.exemplars) for p in positions)
    return f"ok: {len(bank.topics)} topics, {len(positions)} positions, {exemplars} exemplars"


def check(args: argparse.Namespace) -> int:
    """Validate the bank; print a summary or every problem."""
    bank = _load(*_chosen(args.directory, args.overlay), out=sys.stdout)
    if bank is None:
        return INVALID
    print(summary(bank))
    return OK


def refuses_to_serve(settings: Settings) -> bool:
    """True (after printing the report) when the service must not start on this bank."""
    try:
        load_bank(settings.bank_dir, settings.bank_overlay)
    except InvalidBank as error:
        count = len(error.problems)
        print(f"serve: the clause bank is invalid ({count} problem{'s' * (count != 1)}):",
              file=sys.stderr)
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return True
    return False


def export_docx(args: argparse.Namespace) -> int:
    """Write the bank as a Word playbook."""
    out = Path(args.out)
    if out.suffix.lower() != ".docx" or not out.parent.is_dir():
        print(f"export-docx: {out} must be a .docx file in an existing directory",
              file=sys.stderr)
        return BAD_INPUT
    bank = _load(*_chosen(args.bank, args.overlay), out=sys.stderr)
    if bank is None:
        return INVALID
    write_playbook(bank, out)
    print(f"wrote {out}: {summary(bank).removeprefix('ok: ')}")
    return OK


def import_docx(args: argparse.Namespace) -> int:
    """Read a Word playbook into one YAML file per topic; on any problem, write nothing."""
    outdir = Path(args.outdir)
    if outdir.exists() and (not outdir.is_dir() or any(outdir.glob("*.y*ml"))):
        print(f"import-docx: {outdir} already holds bank files (or is not a directory); "
              "choose an empty or new directory", file=sys.stderr)
        return BAD_INPUT
    try:
        bank = read_playbook(Path(args.docx))
    except UnreadablePlaybook as unreadable:
        for line in unreadable.problems:
            print(f"{args.docx}: {line}", file=sys.stderr)
        return BAD_INPUT
    with tempfile.TemporaryDirectory(prefix="clausewise-import-") as staging:
        # Written and validated aside first, so a playbook the loader rejects leaves no files.
        staged = Path(staging)
        for topic in bank:
            (staged / f"{topic.id}.yaml").write_text(topic_yaml(topic), encoding="utf-8")
        try:
            load_bank(staged)
        except InvalidBank as error:
            for problem in error.problems:
                name = Path(problem.file).name
                message = problem.message.replace(f"{staged}/", "")
                print(f"{args.docx}: {name}: {problem.field}: {message}", file=sys.stderr)
            return BAD_INPUT
        outdir.mkdir(parents=True, exist_ok=True)
        for path in sorted(staged.iterdir()):
            shutil.copyfile(path, outdir / path.name)
    print(f"wrote {len(bank.topics)} topic files to {outdir}")
    return OK
