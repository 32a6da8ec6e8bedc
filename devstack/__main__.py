"""`make run`: start the local stack and keep it up until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path
from types import FrameType

from devstack import outbox, smtp_relay
from devstack.stack import LocalStack, StackConfig, remove_run_file, serves_html, write_run_file
from infra.project import PROJECT_ROOT

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PERSIST_ENV = "LEADFLOW_PERSIST"

ENVIRONMENT_HELP = """\
environment:
  LEADFLOW_API_PORT     the API's port (8000)
  LEADFLOW_MAIL_PORT    the mail viewer's port (8025)
  LEADFLOW_AWS_PORT     the AWS emulator's port (4566)
  LEADFLOW_DYNAMODB_PORT  the emulator's DynamoDB and Streams process (4567 beside 4566, else a free port)
  LEADFLOW_EMULATOR_SPLIT=0  the emulator as one process (DynamoDB on LEADFLOW_AWS_PORT too)
  LEADFLOW_OUTBOX       where every email SES accepts is filed (var/outbox)
  LEADFLOW_ADMIN_TOKEN  the admin bearer token (local-admin-token)
  LEADFLOW_SENDER_KEY   the local sender's API key for POST /notifications (local-sender-key)
  LEADFLOW_SENDER_SECRET  the local sender's callback signing secret (local-signing-secret)
  LEADFLOW_SMTP_RELAY   host:port of a mail catcher (Mailpit, MailHog) to relay every email to
  LEADFLOW_CAPTCHA      turnstile, hcaptcha or recaptcha: the API requires a CAPTCHA token, checked
                        by a fake verifier (token "pass..." passes, any other fails)
  LEADFLOW_QUIET=1      as --quiet
Everything binds 127.0.0.1 only. Ctrl-C stops everything it started."""


class StopRequested(Exception):
    """Raised by the signal handler: Ctrl-C or SIGTERM, at any point of start-up or run."""


def _request_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


def install_stop_handlers() -> None:
    """Handlers of our own, whatever the process inherited: a background job of a
    non-interactive shell, `nohup` and some supervisors start it with SIGINT
    ignored, and Python then leaves Ctrl-C ignored too."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _request_stop)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Start leadflow's local stack (what `make run` does) and keep it up until Ctrl-C:\n"
                    "the AWS emulator provisioned from infra/resources.py, the event runtime,\n"
                    "the mail viewer and the API.",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lines = parser.add_mutually_exclusive_group()
    lines.add_argument("--quiet", dest="quiet", action="store_true", default=None,
                       help="hide the per-request lines: API access log, handler invocations, SES sends, app logs")
    lines.add_argument("--verbose", dest="quiet", action="store_false", help="show them (the default)")
    parser.add_argument("--no-api", dest="with_api", action="store_false",
                        help="everything but the API (`make emulator`): serve it yourself with "
                             "`chalice local --stage local`")
    return parser.parse_args(argv)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT)) + "/"
    except ValueError:
        return str(path)


def banner(stack: LocalStack, earlier_emails: int) -> str:
    """What is where, on one screen."""
    config = stack.config

    def line(name: str, where: str, what: str = "") -> str:
        return f"  {name:<13} {where:<30} {what}".rstrip()

    lines = ["", "leadflow local stack is up"]
    if config.with_api:
        lines.append(line("API", config.api_url, "POST /leads, POST /notifications, GET /openapi.json"))
    else:
        lines.append(line("API", "not started", "run: .venv/bin/chalice local --stage local --no-autoreload"))
    lines.append(line("mail viewer", config.mail_url, "every email SES accepted, its status, SES feedback buttons"))
    if config.with_api and serves_html(config.api_url + "/admin"):
        lines.append(line("dashboard", config.api_url + "/admin", f"sign in with the admin token {config.admin_token}"))
    else:
        lines.append(line("admin token", config.admin_token))
    lines.append(line("sender key", config.sender_key,
                      f"POST /notifications; callbacks signed with {config.sender_secret}"))
    if config.split_emulator:
        lines.append(line("AWS emulator", config.aws_endpoint,
                          f"moto server; DynamoDB and its streams at {config.dynamodb_endpoint}"))
    else:
        lines.append(line("AWS emulator", config.aws_endpoint, "moto server"))
    if config.captcha:
        lines.append(line("CAPTCHA", stack.captcha_verify_url, f"fake {config.captcha} verifier: token 'pass' passes"))
    earlier = f"{earlier_emails} email(s) from earlier runs" if earlier_emails else ""
    lines.append(line("outbox", _shown(config.outbox), earlier))
    relay = os.environ.get(smtp_relay.RELAY_ENV, "").strip()
    if relay:
        lines.append(line("SMTP relay", relay, "every email is also sent there"))
    if stack.aws_only:
        listed = ", ".join(f"{kind} x{count}" for kind, count in stack.aws_only.items())
        lines.append(f"Only on AWS, not in the emulator: {listed}.")
    lines.append("Data (leads, deliveries, suppressions) lives in the emulator's memory until Ctrl-C; "
                 "the outbox stays on disk.")
    if os.environ.get(PERSIST_ENV, "") not in ("", "0"):
        lines.append(f"{PERSIST_ENV} is not supported: moto keeps no state on disk (see the README).")
    toggle = "hidden (--verbose shows them)" if config.quiet else "shown (--quiet hides them)"
    lines += [f"Per-request lines {toggle}. Ctrl-C stops everything.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    install_stop_handlers()
    config = StackConfig.from_environment()
    if args.quiet is not None:
        config.quiet = args.quiet
    config.with_api = args.with_api
    earlier_emails = len(outbox.message_files(config.outbox))
    stack = LocalStack(config)
    try:
        stack.start()
        write_run_file(config)
        print(banner(stack, earlier_emails), flush=True)
        while True:
            time.sleep(0.5)
            if any(p.poll() is not None for p in stack.processes):
                print("a stack process exited; stopping", flush=True)
                break
    except StopRequested:
        pass
    finally:
        # A second Ctrl-C must not abort the clean-up half way.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        remove_run_file()
        stack.stop()
        print("leadflow local stack stopped", flush=True)


if __name__ == "__main__":
    main()
