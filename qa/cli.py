"""``qa``: ingest, ask, chat, stats, serve and eval from the terminal.

A thin front end over ``Assistant``. Exit codes: 0 ok, 1 failure (including
an ingest run where some files failed), 2 usage. A user error prints one
line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from qa.errors import InvalidQuestion, QAError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, InvalidQuestion) else EXIT_FAILURE
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:  # `qa ask ... | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Cited answers from news articles.")
    parser.add_argument(
        "--index", metavar="DIR", help="index folder (QA_INDEX_DIR, default: index)"
    )
    parser.add_argument(
        "--collection",
        metavar="NAME",
        help="the collection of articles to read and write (QA_COLLECTION, default: default)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ingest = sub.add_parser(
        "ingest", help="add or update articles from files, folders and feed or page URLs"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH_OR_URL")
    ingest.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="fetch URLs of this host in this run, beside QA_FETCH_HOSTS (repeatable)",
    )
    ingest.add_argument(
        "--summaries-only",
        action="store_true",
        help="index a feed entry's summary; do not fetch its page",
    )
    ingest.add_argument("--prune", action="store_true", help="remove articles whose files are gone")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(run=_ingest)

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=None, help="passages to read (1-50)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    _filter_flags(ask)
    ask.set_defaults(run=_ask)

    chat = sub.add_parser("chat", help="a conversation in the terminal")
    chat.add_argument("-k", type=int, default=None)
    chat.set_defaults(run=_chat)

    listing = sub.add_parser("list", help="the indexed articles, newest first")
    listing.add_argument("--query", default="", help="words of the title or id")
    listing.add_argument("--source", default="", help="only this source")
    listing.add_argument("--category", default="", help="only this category")
    listing.add_argument("--since", default=None, metavar="YYYY-MM-DD", help="published on/after")
    listing.add_argument("--until", default=None, metavar="YYYY-MM-DD", help="published on/before")
    listing.add_argument("--limit", type=int, default=50, help="articles per page (1-500)")
    listing.add_argument("--offset", type=int, default=0, help="skip this many")
    listing.add_argument("--json", action="store_true", help="print the page as JSON")
    listing.set_defaults(run=_list)

    delete = sub.add_parser("delete", help="remove articles from the index by id")
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.add_argument("--json", action="store_true", help="print the report as JSON")
    delete.set_defaults(run=_delete)

    compact = sub.add_parser(
        "compact",
        help="move chunks written by an older version into the payload store (a third the bytes)",
    )
    compact.set_defaults(run=_compact)

    stats = sub.add_parser("stats", help="what the index holds")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=_stats)

    serve = sub.add_parser("serve", help="the chat UI and REST API (same as python app.py)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(run=_serve)

    watch = sub.add_parser(
        "watch", help="keep the index current: watch folders, re-read feeds, until stopped"
    )
    watch.add_argument("targets", nargs="+", metavar="PATH_OR_URL")
    watch.add_argument(
        "--interval",
        type=float,
        default=900.0,
        help="seconds between feed re-reads (default 900, at least 1)",
    )
    watch.add_argument(
        "--prune", action="store_true", help="remove the articles of files that are deleted"
    )
    watch.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="fetch URLs of this host, beside QA_FETCH_HOSTS (repeatable)",
    )
    watch.set_defaults(run=_watch)

    collection = sub.add_parser("collection", help="create, list and remove collections")
    collection_sub = collection.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = collection_sub.add_parser("create", help="add a collection (or change its privacy)")
    create.add_argument("name")
    create.add_argument(
        "--private", action="store_true", help="readable only with a token or group naming it"
    )
    create.set_defaults(run=_collection_create)
    listed = collection_sub.add_parser("list", help="every collection, its privacy and size")
    listed.add_argument("--json", action="store_true")
    listed.set_defaults(run=_collection_list)
    remove = collection_sub.add_parser("delete", help="remove a collection and its articles")
    remove.add_argument("name")
    remove.set_defaults(run=_collection_delete)

    token = sub.add_parser("token", help="tokens with scopes for the REST, /v1 and MCP APIs")
    token_sub = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = token_sub.add_parser("add", help="make a token; it is printed once, on the last line")
    add.add_argument("--read", default="", metavar="A,B", help="collections it may read (* all)")
    add.add_argument("--write", default="", metavar="A", help="collections it may write (* all)")
    add.add_argument("--label", default="", help="whose it is, for `qa token list`")
    add.set_defaults(run=_token_add)
    tokens = token_sub.add_parser("list", help="the tokens (ids, labels, scopes; never a token)")
    tokens.add_argument("--json", action="store_true")
    tokens.set_defaults(run=_token_list)
    revoke = token_sub.add_parser("revoke", help="remove a token by its id")
    revoke.add_argument("id")
    revoke.set_defaults(run=_token_revoke)

    mcp = sub.add_parser(
        "mcp", help="the articles as MCP tools over stdio, for an AI assistant to launch"
    )
    mcp.set_defaults(run=_mcp)

    evaluate = sub.add_parser(
        "eval",
        help="measure retrieval and answers on your own questions over your own articles",
        description="Index the --corpus articles in a fresh index, ask each question of\n"
        "DATASET as `qa ask` does, and print recall@k, MRR, answer and citation hits,\n"
        "refusals, false refusals and latency: a row per reader mode, and per kind.\n"
        "JSON and a PNG chart go to --out (docs/evaluation.md).",
        epilog="DATASET is a JSONL file, one question a line:\n"
        '  {"question": "Who runs UK border security?", "expect_any": ["Martin Hewitt"]}\n'
        '  {"question": "What is the capital of Australia?", "answerable": false}\n'
        "expect_any: a right answer contains one of these (case, punctuation and a/an/the\n"
        "  are ignored); answerable: false for a question the articles do not answer, which\n"
        '  should be refused (default true); optional "kind": "who" gives each kind its own\n'
        '  row; optional "history_questions": [...] are asked first, as a conversation.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument(
        "dataset",
        metavar="DATASET",
        help="your questions: a JSONL file, one question a line (below)",
    )
    evaluate.add_argument(
        "--corpus",
        nargs="+",
        required=True,
        metavar="PATH",
        help="the articles to ask them over: files or folders, as for `qa ingest`",
    )
    evaluate.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="at most N answerable and N unanswerable questions, picked by --seed",
    )
    evaluate.add_argument(
        "--seed", type=int, default=7, help="which questions --limit picks (default: 7)"
    )
    evaluate.add_argument(
        "--out", default="results", metavar="DIR", help="folder for JSON and PNG results"
    )
    evaluate.add_argument(
        "--readers",
        default=("default",),
        type=_readers,
        help="reader modes to run, comma-separated: default,fast",
    )
    evaluate.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="keep the index here and reuse it on the next run (default: a new temp folder)",
    )
    evaluate.set_defaults(run=_eval)
    return parser


def _filter_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--source", default="", help="answer from this source's articles only")
    command.add_argument("--category", default="", help="... this category's only")
    command.add_argument("--since", default="", metavar="YYYY-MM-DD", help="published on or after")
    command.add_argument("--until", default="", metavar="YYYY-MM-DD", help="published on or before")


def _readers(text: str) -> tuple[str, ...]:
    """Reader modes by name, each once; a mode's old name (``trained``, ``accurate``) as
    QA_READER takes it."""
    from qa.config import READER_ALIASES, READERS

    names = (r.strip() for r in text.split(",") if r.strip())
    readers = tuple(dict.fromkeys(str(READER_ALIASES.get(r, r)) for r in names))
    if not readers or any(r not in READERS for r in readers):
        raise argparse.ArgumentTypeError(
            f"takes {', '.join(READERS)} (comma-separated), not {text!r}"
        )
    return readers


def _assistant(args: argparse.Namespace):
    from qa.assistant import Assistant

    return Assistant(index_dir=args.index, collection=args.collection)


def _ingest(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant
    from qa.config import Settings

    hosts = Settings.from_env().fetch_hosts + tuple(args.allow_host)
    assistant = Assistant(
        index_dir=args.index,
        collection=args.collection,
        fetch_hosts=hosts,
        feed_full_pages=False if args.summaries_only else None,
    )
    report = assistant.ingest(
        args.paths,
        prune=args.prune,
        show_progress=True,
        on_wait=_say_waiting,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for note in report.notes:
            print(f"note: {note}")
        for failure in report.failed:
            print(f"skipped {failure.name}: {failure.reason}", file=sys.stderr)
        print(report.summary())
    return EXIT_FAILURE if report.failed else EXIT_OK


def _watch(args: argparse.Namespace) -> int:
    """Watch until Ctrl-C or SIGTERM; each write is logged on stdout, problems on stderr."""
    import signal
    import threading

    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.watching import Watcher

    hosts = Settings.from_env().fetch_hosts + tuple(args.allow_host)
    assistant = Assistant(
        index_dir=args.index,
        collection=args.collection,
        fetch_hosts=hosts,
        watch_interval=args.interval,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    watcher = Watcher(
        assistant,
        args.targets,
        assistant.settings.watch_interval,
        args.prune,
        log=lambda line: print(line, flush=True),
        errors=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(f"qa: watching {', '.join(map(str, args.targets))} (Ctrl-C stops)", flush=True)
    try:
        watcher.run(stop)
    except KeyboardInterrupt:
        pass
    print("qa: stopped watching", flush=True)
    return EXIT_OK


def _mcp(args: argparse.Namespace) -> int:
    """Serve the MCP tools on stdin/stdout until the client closes them.

    stdout carries the protocol, so nothing else may print there: the model
    loads first (its messages go to stderr), then the server takes over.
    """
    from qa.config import Settings
    from qa.web.mcp_server import build_mcp

    index = Path(args.index) if args.index else Settings.from_env().index_dir
    if not index.is_dir():  # a typo would otherwise serve a new, empty index
        raise InvalidQuestion(f"no index at {index}; build one with `qa ingest` or fix --index")
    build_mcp(_assistant(args)).run("stdio")
    return EXIT_OK


def _say_waiting(holder: str) -> None:
    print(
        f"qa: another writer holds this index ({holder}); waiting for it to finish…",
        file=sys.stderr,
    )


def _list(args: argparse.Namespace) -> int:
    found = _assistant(args).articles(
        args.offset, args.limit, args.query, args.source, args.category, args.since, args.until
    )
    if args.json:
        print(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
        return EXIT_OK
    for a in found.articles:
        about = ", ".join(x for x in (a.source, a.published[:10]) if x)
        print(f"{a.id}  {a.title}" + (f"  ({about})" if about else "") + f"  [{a.chunks} chunks]")
    shown = f"{found.offset + 1}-{found.offset + len(found.articles)}" if found.articles else "none"
    print(f"{shown} of {found.total:,} articles", file=sys.stderr)
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    report = _assistant(args).delete(
        args.ids,
        on_wait=_say_waiting,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(f"removed {len(report.removed)} article(s), {report.chunks_removed} chunks")
    return EXIT_OK


def _ask(args: argparse.Namespace) -> int:
    filters = {
        "source": args.source,
        "category": args.category,
        "since": args.since,
        "until": args.until,
    }
    answer = _assistant(args).ask(args.question, k=args.k, filters=filters)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_answer(answer))
    return EXIT_OK


def format_answer(answer) -> str:
    """The answer (its short answer first, when the reader marked one), then one line
    per citation with its source."""
    lines = [f"Short answer: {answer.short.text} [{answer.short.citation}]"] if answer.short else []
    lines.append(answer.text)
    if answer.notice:
        lines.append(f"({answer.notice})")
    if answer.citations:
        lines.append("")
    for c in answer.citations:
        about = ", ".join(x for x in (c.source, c.published) if x)
        origin = f" ({about})" if about else ""
        where = f"page {c.page}, " if c.page else ""
        lines.append(f"[{c.number}] {c.title}{origin}, {where}characters {c.start}-{c.end}")
        lines.append(f"    “{' '.join(c.quote.split())}”")
    return "\n".join(lines)


def _chat(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    history: list[dict[str, str]] = []
    print("Ask about the articles. An empty line or Ctrl-D ends the chat.")
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return EXIT_OK
        if not question:
            return EXIT_OK
        try:
            answer = assistant.ask(question, history=history, k=args.k)
        except QAError as exc:
            print(f"error: {exc}")
            continue
        print(format_answer(answer))
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]


def _compact(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    assistant = _assistant(args)
    with tqdm(desc="Moving", unit="chunk", disable=not sys.stderr.isatty()) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = assistant.compact(on_wait=_say_waiting, progress=advance)
    print(f"moved {report.moved} chunk(s) into the payload store")
    for folder in report.removed_folders:
        print(f"removed {folder} (a lexical index nothing reads)")
    if report.moved and not assistant.settings.chroma_url:
        chroma = assistant.settings.index_dir / "chroma"
        print(
            "the freed space goes back to the disk with, while no app process has the index open:"
            f"\n  chroma vacuum --path {chroma} --force"
        )
    return EXIT_OK


def _stats(args: argparse.Namespace) -> int:
    stats = _assistant(args).stats()
    if args.json:
        print(json.dumps(stats.__dict__, indent=2))
    else:
        for key, value in stats.__dict__.items():
            print(f"{key:16} {value}")
    return EXIT_OK


def _collection_create(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    info = Assistant(index_dir=args.index).create_collection(args.name, args.private)
    print(f"collection {info.name}: {'private' if info.private else 'public'}")
    return EXIT_OK


def _collection_list(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    assistant = Assistant(index_dir=args.index)
    rows = [
        {**info.to_dict(), "articles": assistant.using(info.name).articles(limit=1).total}
        for info in assistant.collections()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            privacy = "private" if row["private"] else "public"
            print(f"{row['name']:24} {privacy:8} {row['articles']:>8,} articles")
    return EXIT_OK


def _collection_delete(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    report = Assistant(index_dir=args.index).delete_collection(args.name)
    print(f"collection {args.name} removed; {report.summary()}")
    return EXIT_OK


def _book(args: argparse.Namespace):
    from qa.access import AccessBook
    from qa.config import Settings

    return AccessBook.for_settings(Settings.from_env(index_dir=args.index))


def _token_add(args: argparse.Namespace) -> int:
    entry, token = _book(args).add_token(
        [args.read] if args.read else [], [args.write] if args.write else [], args.label
    )
    print(
        f"token {entry.id} ({entry.label or 'no label'}): read {', '.join(entry.read) or '-'};"
        f" write {', '.join(entry.write) or '-'}"
    )
    print("Shown once; keep it secret (only its SHA-256 is kept):")
    print(token)
    return EXIT_OK


def _token_list(args: argparse.Namespace) -> int:
    rows = [entry.listing() for entry in _book(args).tokens()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(
                f"{row['id']}  read {','.join(row['read']) or '-':20} "
                f"write {','.join(row['write']) or '-':12} {row['created']}  {row['label']}"
            )
    return EXIT_OK


def _token_revoke(args: argparse.Namespace) -> int:
    entry = _book(args).revoke(args.id)
    print(f"token {entry.id} ({entry.label or 'no label'}) revoked")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from qa.web.server import serve

    serve(index_dir=args.index, host=args.host, port=args.port, collection=args.collection)
    return EXIT_OK


def _eval(args: argparse.Namespace) -> int:
    from qa.evaluation import evaluate, load_question_file, result_paths

    dataset = load_question_file(Path(args.dataset), args.corpus)
    out = Path(args.out)
    _, text = evaluate(
        dataset,
        out,
        limit=args.limit,
        seed=args.seed,
        readers=args.readers,
        workdir=Path(args.workdir) if args.workdir else None,
    )
    print(text)
    json_path, png_path = result_paths(dataset, out)
    print(f"\nwrote {json_path} and {png_path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
