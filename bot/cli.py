"""The `mobility` command line: knowledge base, engines, and running the assistant."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from decimal import Decimal
from typing import Any, List, Optional

MAX_INPUT_BYTES = 64 * 1024


def dumps(obj: Any) -> str:
    """JSON with Decimals written as exact numbers (1181.40, not 1181.4000000001)."""
    decimals: List[str] = []

    def enc(o: Any) -> Any:
        if isinstance(o, Decimal):
            decimals.append(format(o, "f"))
            return f"\u0000DEC{len(decimals) - 1}\u0000"
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    text = json.dumps(obj, default=enc, ensure_ascii=False, indent=2)
    for i, d in enumerate(decimals):
        text = text.replace(f'"\\u0000DEC{i}\\u0000"', d)
    return text


def _fail(message: str, field: str, code: int = 2) -> int:
    print(json.dumps({"error": message, "field": field}, ensure_ascii=False))
    return code


def _read_json_stdin() -> Any:
    data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise ValueError(f"input larger than {MAX_INPUT_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"input is not UTF-8: {e}") from e
    except RecursionError as e:
        raise ValueError("input is nested too deeply") from e


def _date_arg(text: str) -> str:
    """argparse type for --today: a real calendar date, or a usage error (exit 2), never a traceback."""
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    return text


def _today(args) -> Optional[date]:
    return date.fromisoformat(args.today) if getattr(args, "today", None) else None


def cmd_kb_build(args) -> int:
    from knowledge import DataError, build, database_url, make_engine

    try:
        counts = build(make_engine(args.database_url))
    except DataError as e:
        print(f"knowledge base not built: {e}", file=sys.stderr)
        return 1
    url = database_url(args.database_url)
    shown = url.split("@")[-1] if "@" in url else url
    print(f"knowledge base built in {shown}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_kb_check(args) -> int:
    from knowledge.loader import DataError, load_all

    try:
        data = load_all()
    except DataError as e:
        print(f"invalid: {e}", file=sys.stderr)
        return 1
    print(f"valid: {len(data['sources'])} sources, {len(data['grants'])} grants, {len(data['deadlines'])} deadlines, "
          f"{sum(len(v) for v in data['facts'].values())} facts")
    return 0


def _json_command(args, run) -> int:
    try:
        payload = _read_json_stdin()
    except json.JSONDecodeError as e:
        return _fail(f"malformed JSON: {e}", "input")
    except ValueError as e:
        return _fail(str(e), "input")
    return run(payload)


def cmd_fee(args) -> int:
    from knowledge import ProfileError, open_kb, quote

    def run(profile) -> int:
        try:
            result = quote(open_kb(), profile, today=_today(args))
        except ProfileError as e:
            print(json.dumps(e.as_dict(), ensure_ascii=False))
            return 2
        print(dumps(result))
        return 0

    return _json_command(args, run)


def cmd_grants(args) -> int:
    from knowledge import SearchError, find_grants, open_kb

    def run(query) -> int:
        try:
            result = find_grants(open_kb(), query, today=_today(args))
        except SearchError as e:
            print(json.dumps(e.as_dict(), ensure_ascii=False))
            return 2
        print(dumps(result))
        return 0

    return _json_command(args, run)


def cmd_deadlines(args) -> int:
    from knowledge import open_kb, upcoming_deadlines

    items = upcoming_deadlines(open_kb(), today=_today(args), institution=args.institution)
    if args.json:
        print(dumps(items))
        return 0
    for d in items:
        when = f"{d['next_date']} ({d['days_left']} days)" if d["next_date"] else "no fixed date"
        verb = {"opens": "opens", "call": "call", "deadline": "deadline"}[d["kind"]]
        print(f"{when:24s} {verb:8s} {d['title']} [{d['source']['file']}]")
    return 0


def cmd_train(args) -> int:
    from bot import runner

    return runner.train(force=args.force)


def cmd_serve(args) -> int:
    from bot import runner

    return runner.serve(port=args.port, widget_port=args.widget_port)


def cmd_shell(args) -> int:
    from bot import runner

    return runner.shell()


def cmd_actions(args) -> int:
    from bot import runner

    return runner.run_action_server(port=args.port)


def cmd_conversation(args) -> int:
    from bot import conversations, runner

    return conversations.main(args.reference, runner.VAR, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mobility", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    kb = sub.add_parser("kb", help="build or check the knowledge base", description="Build or check the knowledge base.")
    kbsub = kb.add_subparsers(dest="kb_command", metavar="ACTION")
    b = kbsub.add_parser("build", help="load knowledge/data/*.yaml into the database (DATABASE_URL or SQLite)",
                         description="Load the curated files into the database; DATABASE_URL selects it (default: SQLite in var/).")
    b.add_argument("--database-url", help="database URL (default: DATABASE_URL or var/knowledge.db)")
    b.set_defaults(func=cmd_kb_build)
    c = kbsub.add_parser("check", help="validate the curated files without writing", description="Validate knowledge/data without writing.")
    c.set_defaults(func=cmd_kb_check)

    f = sub.add_parser("fee", help="quote a tuition fee: profile JSON on stdin, quote JSON on stdout",
                       description="Read a profile as JSON on stdin, print a quote as JSON. Bad input exits 2 with {\"error\", \"field\"}.")
    f.add_argument("--today", type=_date_arg, help="take this date (YYYY-MM-DD) as today, for the default academic year")
    f.set_defaults(func=cmd_fee)

    g = sub.add_parser("grants", help="find grants: {institution, destination, activity, months} JSON on stdin",
                       description="Print every grant that fits the query and every one that does not, with the reason.")
    g.add_argument("--today", type=_date_arg, help="take this date (YYYY-MM-DD) as today, for the next deadlines")
    g.set_defaults(func=cmd_grants)

    d = sub.add_parser("deadlines", help="list the coming deadlines with their next dates",
                       description="List the recurring deadlines with their next dates and what they are for.")
    d.add_argument("--today", type=_date_arg, help="take this date (YYYY-MM-DD) as today")
    d.add_argument("--institution", help="only this institution's deadlines (kask, kdg)")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(func=cmd_deadlines)

    t = sub.add_parser("train", help="train the Rasa model if missing or out of date with its data",
                       description="Train the assistant's model when its data changed (or with --force).")
    t.add_argument("--force", action="store_true", help="train even when the model is up to date")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("serve", help="run the assistant: action server, Rasa server (REST) and web widget",
                       description="Build what is missing, then run the action server, the Rasa server and the widget page on localhost.")
    s.add_argument("--port", type=int, default=5005, help="Rasa server port (default 5005)")
    s.add_argument("--widget-port", type=int, default=8080, help="web widget demo page port (default 8080)")
    s.set_defaults(func=cmd_serve)

    sh = sub.add_parser("shell", help="talk to the assistant in the terminal", description="A terminal conversation with the assistant.")
    sh.set_defaults(func=cmd_shell)

    a = sub.add_parser("actions", help="run the custom action server on 127.0.0.1", description="Run the rasa_sdk action server on localhost only.")
    a.add_argument("--port", type=int, default=5055, help="port (default 5055)")
    a.set_defaults(func=cmd_actions)
    cv = sub.add_parser("conversation", help="print a kept conversation (staff): the reference the hand-off gives",
                        description="Print one conversation from the tracker store, by the reference the assistant "
                                    "gave the user at hand-off (its sender id).")
    cv.add_argument("reference", help="the conversation's reference (sender id)")
    cv.add_argument("--json", action="store_true", help="print JSON instead of text")
    cv.set_defaults(func=cmd_conversation)
    from bot.telegram import add_parser as add_telegram_parser

    add_telegram_parser(sub)
    from bot.mail import add_parser as add_email_parser  # light: no Rasa import until the command runs

    add_email_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if args.command == "kb":
            parser.parse_args(["kb", "--help"])
        parser.print_help()
        return 1
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
