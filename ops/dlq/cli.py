"""`make dlq`: arguments, and a one-line answer (never a traceback) to ordinary mistakes:
the local stack down or on another port, no AWS credentials, no access."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from chalicelib.pipeline.dead_letters import QUEUES

USAGE = """\
examples:
  make dlq                                            list every DLQ of the local stack
  make dlq ARGS="redrive --all --queue notifications"
  make dlq ARGS="purge 7d3c1f0e-... --queue notifications"   delete for good (asks first)
  make dlq ARGS="list --stage dev"                    AWS, with your usual credentials"""

# Error codes AWS answers when the credentials are missing, wrong, expired or not allowed.
CREDENTIAL_CODES = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
     "SignatureDoesNotMatch", "InvalidAccessKeyId", "AuthFailure"}
)
ACCESS_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError"})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make dlq ARGS=...", description="List, redrive or purge leadflow's dead letters.", epilog=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", default="list", choices=["list", "redrive", "purge"])
    parser.add_argument("ids", nargs="*", help="message ids (as `list` shows them)")
    parser.add_argument("--all", action="store_true", help="every message of the chosen DLQs")
    parser.add_argument("--queue", action="append", choices=sorted(QUEUES), help="default: every DLQ")
    parser.add_argument("--stage", default="local")
    parser.add_argument(
        "--invoke-lambda", action="store_true",
        help="replay stream records through the deployed function instead of in this process",
    )
    parser.add_argument("--yes", action="store_true", help="purge without asking (scripts)")
    args = parser.parse_args(argv)
    if args.command in ("redrive", "purge") and not args.all and not args.ids:
        parser.error(f"{args.command} needs message ids or --all")
    if args.all and args.ids:
        parser.error("give message ids or --all, not both")
    if args.command == "purge" and not args.queue:
        parser.error("purge needs --queue (which DLQ to delete from)")
    return args


def explain(error: BaseException, stage: str) -> str | None:
    """One line for an ordinary mistake, or None for a real fault (which keeps its traceback)."""
    from botocore import exceptions

    if isinstance(error, exceptions.EndpointConnectionError | exceptions.ConnectTimeoutError):
        if stage == "local":
            endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
            return (
                f"cannot reach the local stack's AWS emulator at {endpoint}: start it with `make run`, "
                "or set LEADFLOW_AWS_PORT to the port it runs on"
            )
        return f"cannot reach AWS for stage {stage}: {error}"
    if isinstance(error, exceptions.NoCredentialsError | exceptions.PartialCredentialsError):
        return (
            f"no AWS credentials for stage {stage}: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or run `aws configure`"
        )
    if isinstance(error, exceptions.NoRegionError):
        return f"no AWS region for stage {stage}: set AWS_DEFAULT_REGION (or AWS_PROFILE with a region)"
    if isinstance(error, exceptions.ProfileNotFound):
        return f"{error}: check AWS_PROFILE"
    if isinstance(error, exceptions.ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in CREDENTIAL_CODES:
            return f"AWS refused the credentials for stage {stage} ({code}): refresh them and try again"
        if code in ACCESS_CODES:
            return f"AWS denied access for stage {stage} ({code}): ops/README.md lists the permissions `make dlq` needs"
    return None


def confirm(count: int, queues: list[str], ask: Callable[[str], str] = input) -> bool:
    if not sys.stdin.isatty():
        print("purge asks for confirmation: run it in a terminal, or add --yes", file=sys.stderr)
        return False
    answer = ask(f"Delete {count} message(s) from {', '.join(queues)} for good? Type 'purge' to confirm: ")
    return answer.strip() == "purge"


def run(args: argparse.Namespace) -> int:
    from ops.dlq import listing, redriving
    from ops.env import configure

    configure(args.stage)
    queues = args.queue or list(QUEUES)
    ids = None if args.all else set(args.ids)
    if args.command == "list":
        listing.print_listing(listing.list_letters(queues, args.stage))
        return 0
    if args.command == "purge":
        found = listing.list_letters(queues, args.stage)
        chosen = [letter for letters in found.values() for letter in letters if ids is None or letter.message_id in ids]
        if not chosen:
            print("nothing to purge")
            return 1 if ids else 0
        for letter in chosen:
            print(f"  {letter.message_id}  {letter.summary}")
        if not args.yes and not confirm(len(chosen), queues):
            print("nothing purged")
            return 1
        report, audit_key = redriving.purge(queues, {letter.message_id for letter in chosen})
        redriving.print_report(report)
        if audit_key:
            print(f"audit: {audit_key}")
        return 1 if report.failed else 0
    report = redriving.redrive(queues, args.stage, ids, args.invoke_lambda)
    redriving.print_report(report)
    return 1 if report.failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except Exception as error:
        line = explain(error, args.stage)
        if line is None:
            raise
        print(f"make dlq: {line}", file=sys.stderr)
        return 2
