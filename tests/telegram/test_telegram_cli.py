"""`mobility telegram` from the command line: its configuration and its errors."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import telegram
from fake_bot_api import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def run_bot(*args: str, env_extra=None, drop=("TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_SECRET")) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "bot.telegram", *args], capture_output=True, text=True, env=env,
                          cwd=str(ROOT), timeout=60)


def test_without_telegram_token_it_says_so_and_exits_2():
    proc = run_bot()
    assert proc.returncode == 2, proc.stderr
    assert "TELEGRAM_TOKEN is not set" in proc.stderr and "@BotFather" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_webhook_mode_needs_a_secret_token():
    proc = run_bot("--webhook-url", "https://bot.example.org/telegram", env_extra={"TELEGRAM_TOKEN": TOKEN})
    assert proc.returncode == 2, proc.stderr
    assert "TELEGRAM_WEBHOOK_SECRET" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_the_options():
    proc = run_bot("--help")
    assert proc.returncode == 0
    for option in ("--webhook-url", "--listen", "--port", "--remind-days", "--assistant-url"):
        assert option in proc.stdout


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mobility")
    telegram.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["telegram", *argv])


def test_add_parser_gives_a_telegram_subcommand_calling_main():
    args = parse("--remind-days", "3", "--webhook-url", "https://bot.example.org/hook", "--port", "8443")
    assert args.func is telegram.main
    config = telegram.config_from_args(args, {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "abc_DEF-1"})
    assert (config.remind_days, config.webhook_url, config.webhook_secret, config.port) == (
        3, "https://bot.example.org/hook", "abc_DEF-1", 8443)
    assert config.assistant_url == telegram.DEFAULT_ASSISTANT_URL and config.token == TOKEN


def test_configuration_from_the_environment():
    config = telegram.config_from_args(parse(), {"TELEGRAM_TOKEN": TOKEN, "ASSISTANT_URL": "http://10.0.0.5:5005/x",
                                                 "TELEGRAM_API_URL": "http://127.0.0.1:8081/bot"})
    assert config.assistant_url == "http://10.0.0.5:5005/x"
    assert (config.api_url, config.file_url) == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")
    assert config.webhook_url is None and config.remind_days == 7


@pytest.mark.parametrize("env,argv,message", [
    ({}, [], "TELEGRAM_TOKEN is not set"),
    ({"TELEGRAM_TOKEN": "  "}, [], "TELEGRAM_TOKEN is not set"),
    ({"TELEGRAM_TOKEN": "not a token"}, [], "does not look like a bot token"),
    ({"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "with spaces"}, ["--webhook-url", "https://x.org/h"],
     "A-Z a-z 0-9"),
    ({"TELEGRAM_TOKEN": TOKEN}, ["--webhook-url", "not-a-url"], "full URL"),
    ({"TELEGRAM_TOKEN": TOKEN}, ["--remind-days", "-1"], "--remind-days"),
])
def test_bad_configuration_is_refused_clearly(env, argv, message):
    with pytest.raises(ValueError, match=message.replace("-", r"\-").replace("+", r"\+")):
        telegram.config_from_args(parse(*argv), env)


def test_main_exits_2_without_a_token(monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    assert telegram.main(parse()) == 2
    assert "TELEGRAM_TOKEN is not set" in capsys.readouterr().err


def test_the_command_runs_the_bot_until_sigterm(api, fake_assistant, tmp_path):
    """The real entry point, as a process: long polling the Bot API stand-in, answering, stopping cleanly."""
    import signal
    import time

    from tg_helpers import CHAT

    assistant = fake_assistant(lambda sender, message: [{"text": f"echo: {message}"}])
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_WEBHOOK_SECRET",)}
    env.update(TELEGRAM_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url, ASSISTANT_URL=assistant.url,
               DATABASE_URL="sqlite:///" + str(tmp_path / "bot.db"))
    proc = subprocess.Popen([sys.executable, "-m", "bot.telegram"], cwd=str(ROOT), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not api.calls_of("getUpdates") and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert api.calls_of("getUpdates"), "the bot did not start polling"
        api.send_text(CHAT, "hello from a process")
        while not api.sent(CHAT) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.texts(CHAT) == ["echo: hello from a process"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "long polling" in out
    assert TOKEN not in out + err  # the token never shows in the output
