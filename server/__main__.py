"""Command line: `python -m server serve|bank|review|manifest|search-bench|search-train ...`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from server.settings import Settings

Command = Callable[[argparse.Namespace], int]


def serve(args: argparse.Namespace) -> int:
    """Serve the API (and the task pane) with Flask's threaded server."""
    from server import create_app
    from server.bank_cli import refuses_to_serve
    from server.security.exposure import Exposed, check_exposure
    from server.serving import QuietRequestHandler, model_problem

    settings = Settings.from_env()
    if args.bank:
        settings = replace(settings, bank_dir=Path(args.bank))
    try:
        check_exposure([f"{args.host}:{args.port}"], settings)
    except Exposed as error:
        print(f"serve: {error}", file=sys.stderr)
        return 2
    if refuses_to_serve(settings):  # before serving: a bank error must not become a 503 loop
        return 1
    problem = model_problem(settings)
    if problem:
        print(f"serve: {problem}", file=sys.stderr)
        return 1
    app = create_app(settings)
    ssl = (args.cert, args.key) if args.cert and args.key else None
    app.run(host=args.host, port=args.port, ssl_context=ssl, threaded=True, use_reloader=False,
            request_handler=QuietRequestHandler)
    return 0


def manifest(args: argparse.Namespace) -> int:
    """Print the add-in manifest stamped for a deployment's HTTPS URL."""
    from server.manifest import BadServiceUrl, stamp

    try:
        sys.stdout.write(stamp(args.url))
    except BadServiceUrl as error:
        print(f"manifest: {error}", file=sys.stderr)
        return 2
    return 0


def review(args: argparse.Namespace) -> int:
    """Review a .docx against the playbook; writes the marked-up copy (see server/review.py)."""
    from server.review_command import run_review_command

    return run_review_command(args)


def search_bench(args: argparse.Namespace) -> int:
    """Measure clause search on a BEIR-format benchmark (see server/search_bench.py)."""
    from server.adapters.embedding import SentenceTransformerEmbedder
    from server.search_bench import run
    from server.services import FileVectorCache, build_embedder

    settings = Settings.from_env()
    tuned = SentenceTransformerEmbedder(args.model) if args.model else None
    reranker = None
    if args.reranker:
        from server.adapters.reranker import CrossEncoderReranker

        reranker = CrossEncoderReranker(args.reranker, int8=not args.reranker_fp32)
    return run(args, build_embedder(settings),
               FileVectorCache(settings.cache_dir), tuned, reranker)


def search_train(args: argparse.Namespace) -> int:
    """Fine-tune the search embedder on a benchmark's train ratings (see server/search_train.py)."""
    from server.search_train import run

    settings = Settings.from_env()
    return run(args, settings.model, settings.cache_dir)


def search_cv(args: argparse.Namespace) -> int:
    """Cross-validate the fine-tuned search over queries (see server/search_cv.py)."""
    from server.search_cv import run

    settings = Settings.from_env()
    return run(args, settings.model, settings.cache_dir)


def search_train_reranker(args: argparse.Namespace) -> int:
    """Train the search re-ranker (a cross-encoder) on train ratings (server/rerank_train.py)."""
    from server.rerank_train import run

    settings = Settings.from_env()
    return run(args, settings.model, settings.cache_dir)


def parser() -> argparse.ArgumentParser:
    """The CLI's arguments; each subcommand names its handler."""
    root = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="serve the API and task pane")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--bank", help="clause bank directory (default: built-in)")
    p.add_argument("--cert", help="TLS certificate (PEM)")
    p.add_argument("--key", help="TLS private key (PEM)")
    p.set_defaults(handler=serve)

    p = commands.add_parser("review", help="mark up a .docx with tracked changes and comments")
    p.add_argument("input", metavar="IN.docx", help="the contract to review")
    p.add_argument("-o", "--output", metavar="OUT.docx", required=True,
                   help="where to write the marked-up copy")
    p.add_argument("--perspective", choices=["customer", "vendor"], default="customer")
    p.add_argument("--author", default="Clausewise", help="name on the tracked changes")
    p.add_argument("--bank", help="clause bank directory (default: built-in)")
    p.set_defaults(handler=review)

    p = commands.add_parser("manifest", help="print the Word add-in manifest for a deployment")
    p.add_argument("--url", default=Settings.from_env().public_url,
                   help="the service's public HTTPS URL (default: REDLINE_PUBLIC_URL)")
    p.set_defaults(handler=manifest)

    p = commands.add_parser("search-bench", help="measure clause search on a BEIR benchmark")
    from server.search_bench import add_arguments as add_search_bench_arguments

    add_search_bench_arguments(p)
    p.set_defaults(handler=search_bench)

    p = commands.add_parser("search-train", help="fine-tune the search embedder (train split)")
    from server.search_train import add_arguments as add_search_train_arguments

    add_search_train_arguments(p)
    p.set_defaults(handler=search_train)

    p = commands.add_parser("search-cv",
                            help="cross-validate fine-tuned search over train and valid queries")
    from server.search_cv import add_arguments as add_search_cv_arguments

    add_search_cv_arguments(p)
    p.set_defaults(handler=search_cv)

    p = commands.add_parser("search-train-reranker",
                            help="train the search re-ranker, a cross-encoder (train split)")
    from server.rerank_train import add_arguments as add_rerank_train_arguments

    add_rerank_train_arguments(p)
    p.set_defaults(handler=search_train_reranker)

    from server.bank_cli import add_commands as add_bank_commands

    add_bank_commands(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    try:
        settings = Settings.from_env()
    except ValueError as error:  # a bad REDLINE_* value: say which, without a traceback
        print(f"clausewise: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
