"""Start and stop the whole local stack: emulator, resources, event runtime, mail viewer, API."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack import console, endpoints
from devstack.lifeline import STACK_STOPPING, Lifeline
from devstack.provision import LOCAL_REGION, aws_only_resources, provision
from infra.project import PROJECT_ROOT

DEFAULT_ADMIN_TOKEN = "local-admin-token"
DEFAULT_MAIL_PORT = 8025
# Where `make run` says which ports it took, so `make dlq` finds a stack started on other ports.
# LEADFLOW_RUN_FILE moves it (the tests do, so their stacks never overwrite a developer's).
RUN_FILE = Path(os.environ.get("LEADFLOW_RUN_FILE") or PROJECT_ROOT / "var" / "run" / "local-stack.json")

# The local stage's documented sender (POST /notifications): its API key and signing secret.
DEFAULT_SENDER_KEY = "local-sender-key"
DEFAULT_SENDER_SECRET = "local-signing-secret"
LOCAL_SENDER = "local"


def local_sender_keys(key: str, secret: str) -> str:
    """SENDER_KEYS for the local sender: every kind that needs no lead, callbacks to loopback
    (the local stage allows them)."""
    import json

    entry = {"sender": LOCAL_SENDER, "kinds": ["*"], "signing_secret": secret}
    return json.dumps({hashlib.sha256(key.encode()).hexdigest(): entry})


# `make run`'s DynamoDB process (the emulator's second one, devstack/endpoints.py).
DEFAULT_DYNAMODB_PORT = 4567
# Set to 0 for the emulator as one process (the benches' reference figure).
SPLIT_ENV = "LEADFLOW_EMULATOR_SPLIT"


@dataclass
class StackConfig:
    aws_port: int = 4566
    # The emulator's DynamoDB (and Streams) process; 0 picks a free port at start.
    dynamodb_port: int = 0
    # Two emulator processes (DynamoDB and Streams; everything else) so a burst uses both cores.
    split_emulator: bool = True
    api_port: int = 8000
    # The mail viewer's port; 0 picks a free one at start, so stacks started from code
    # (tests, the soak, benchmarks) never collide on 8025. `make run` uses 8025.
    mail_port: int = 0
    host: str = "127.0.0.1"
    stage: str = "local"
    outbox: Path = PROJECT_ROOT / "var" / "outbox"
    admin_token: str = DEFAULT_ADMIN_TOKEN
    sender_key: str = DEFAULT_SENDER_KEY
    sender_secret: str = DEFAULT_SENDER_SECRET
    with_api: bool = True
    with_runtime: bool = True
    with_viewer: bool = True
    # Drop the per-request lines of every process (devstack/console.py).
    quiet: bool = False
    # Where the children's output goes (None: this terminal). The soak scans it.
    log_path: Path | None = None
    # The SES feedback format the local SES publishes ("event" or "identity"); None: the
    # stage's SES_FEEDBACK_FORMAT.
    ses_feedback_format: str | None = None
    # A CAPTCHA provider (turnstile, hcaptcha, recaptcha) for the API to require, verified
    # by the fake verifier (devstack/captcha.py) on a free port; "" for none.
    captcha: str = ""
    captcha_port: int = 0

    @classmethod
    def from_environment(cls) -> StackConfig:
        aws_port = int(os.environ.get("LEADFLOW_AWS_PORT", "4566"))
        # Beside the default 4566 the documented 4567 (.chalice/config.json's local stage names
        # both); beside any other port a free one, so stacks side by side never collide.
        dynamodb_default = str(DEFAULT_DYNAMODB_PORT) if aws_port == 4566 else "0"
        return cls(
            aws_port=aws_port,
            dynamodb_port=int(os.environ.get("LEADFLOW_DYNAMODB_PORT", dynamodb_default)),
            split_emulator=os.environ.get(SPLIT_ENV, "1").strip() not in ("0", "false", "no"),
            api_port=int(os.environ.get("LEADFLOW_API_PORT", "8000")),
            mail_port=int(os.environ.get("LEADFLOW_MAIL_PORT", str(DEFAULT_MAIL_PORT))),
            outbox=Path(os.environ.get("LEADFLOW_OUTBOX", PROJECT_ROOT / "var" / "outbox")),
            admin_token=os.environ.get("LEADFLOW_ADMIN_TOKEN", DEFAULT_ADMIN_TOKEN),
            sender_key=os.environ.get("LEADFLOW_SENDER_KEY", DEFAULT_SENDER_KEY),
            sender_secret=os.environ.get("LEADFLOW_SENDER_SECRET", DEFAULT_SENDER_SECRET),
            quiet=console.quiet(),
            captcha=os.environ.get("LEADFLOW_CAPTCHA", "").strip().lower(),
        )

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def dynamodb_endpoint(self) -> str:
        """Where DynamoDB and its streams are served: their own process, or the one emulator."""
        return f"http://{self.host}:{self.dynamodb_port}" if self.split_emulator else self.aws_endpoint

    def emulator_routes(self) -> dict[str, str]:
        """The services the main emulator hands to another process (devstack/endpoints.py)."""
        if not self.split_emulator:
            return {}
        return {service: self.dynamodb_endpoint for service in endpoints.DYNAMODB_SERVICES}

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def mail_url(self) -> str:
        return f"http://{self.host}:{self.mail_port}"


def write_run_file(config: StackConfig, path: Path = RUN_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ports = {"pid": os.getpid(), "aws_port": config.aws_port, "api_port": config.api_port,
             "mail_port": config.mail_port}
    if config.split_emulator:
        ports["dynamodb_port"] = config.dynamodb_port
    path.write_text(json.dumps(ports) + "\n", encoding="utf-8")


def remove_run_file(path: Path = RUN_FILE) -> None:
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_stack(path: Path = RUN_FILE) -> dict[str, int] | None:
    """The ports of the `make run` that wrote the run file, if it is still running."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(found["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {k: int(v) for k, v in found.items()}


def free_port() -> int:
    """A free TCP port on loopback (for stacks that must not take 4566/8000)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def serves_html(url: str, timeout: float = 2) -> bool:
    """True when `url` answers 200 with an HTML page (the dashboard, once the API has one)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200 and response.headers.get_content_type() == "text/html")
    except OSError:
        return False


def is_runtime(process: subprocess.Popen[bytes]) -> bool:
    return "devstack.runtime" in list(map(str, process.args))  # type: ignore[arg-type]


@dataclass
class LocalStack:
    config: StackConfig = field(default_factory=StackConfig)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Every child watches it and stops itself if this process dies uncleanly.
    lifeline: Lifeline | None = None
    # Filled in by start(): when it began, and what the emulator does not have (type -> count).
    started_at: dt.datetime | None = None
    aws_only: dict[str, int] = field(default_factory=dict)
    # The first this-many processes are the emulator's (stopped last).
    emulator_count: int = 0

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.config.split_emulator and not self.config.dynamodb_port:
            self.config.dynamodb_port = free_port()
        env.update(endpoints.endpoint_env(self.config.aws_endpoint, self.config.emulator_routes()))
        env.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "LEADFLOW_OUTBOX": str(self.config.outbox),
                "ADMIN_TOKEN_SHA256": hashlib.sha256(self.config.admin_token.encode()).hexdigest(),
                "SENDER_KEYS": local_sender_keys(self.config.sender_key, self.config.sender_secret),
                "PYTHONUNBUFFERED": "1",
                console.QUIET_ENV: "1" if self.config.quiet else "0",
            }
        )
        env.pop("AWS_PROFILE", None)
        if self.config.ses_feedback_format:
            env["LEADFLOW_SES_FEEDBACK_FORMAT"] = self.config.ses_feedback_format
        return env

    def spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        # A new process group per child so Ctrl-C handling stays ours and
        # stop() can end a child and anything it started.
        if self.lifeline is None:
            self.lifeline = Lifeline()
        output = None
        if self.config.log_path is not None:
            output = open(self.config.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        process = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env={**self.env, **self.lifeline.child_env()},
            start_new_session=True,
            stdout=output,
            stderr=output,
            pass_fds=(self.lifeline.read_fd,),
        )
        if output is not None:
            output.close()  # the child holds its own copy
        self.processes.append(process)
        return process

    def start(self) -> None:
        self.started_at = dt.datetime.now(dt.UTC)
        self.env = self.base_env()
        self.config.outbox.mkdir(parents=True, exist_ok=True)
        emulators = self.start_emulators()
        try:
            for url, emulator in emulators:
                wait_for_http(url + "/moto-api/", 30, emulator)
            self.env.update(provision(self.config.aws_endpoint, self.config.stage))
            self.aws_only = aws_only_resources(self.config.aws_endpoint, self.config.stage)
            # The viewer, the API and the runtime load side by side; start() returns once all
            # three answer, so nothing is posted before every handler is subscribed.
            viewer = self.spawn_viewer() if self.config.with_viewer else None
            if self.config.captcha:
                self.start_captcha()
            api = self.spawn_api() if self.config.with_api else None
            if self.config.with_runtime:
                self.start_runtime()
            if viewer is not None:
                wait_for_http(self.config.mail_url + "/api/health", 60, viewer)
            if api is not None:
                wait_for_http(self.config.api_url + "/health", 60, api)
        except BaseException:
            self.stop()
            raise

    def start_emulators(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        """The emulator's processes (the DynamoDB one first, when split), not yet waited for."""
        command = [sys.executable, "-m", "devstack.emulator", "--host", self.config.host]
        started = []
        routes = self.config.emulator_routes()
        if routes:
            dynamodb = self.spawn([*command, "--port", str(self.config.dynamodb_port),
                                  "--name", endpoints.DYNAMODB_PROCESS])
            started.append((self.config.dynamodb_endpoint, dynamodb))
        routing = [arg for service, url in routes.items() for arg in ("--route", f"{service}={url}")]
        main = self.spawn([*command, "--port", str(self.config.aws_port), *routing])
        started.append((self.config.aws_endpoint, main))
        self.emulator_count = len(started)
        return started

    def spawn_api(self) -> subprocess.Popen[bytes]:
        """`chalice local` for the stage (devstack/api.py), not yet waited for."""
        return self.spawn(
            [
                sys.executable, "-m", "devstack.api", "--stage", self.config.stage,
                "--host", self.config.host, "--port", str(self.config.api_port), "--no-autoreload",
            ]
        )

    def spawn_viewer(self) -> subprocess.Popen[bytes]:
        """The mail viewer (devstack/mailviewer), on loopback."""
        if not self.config.mail_port:
            self.config.mail_port = free_port()
        assert self.started_at is not None
        return self.spawn(
            [
                sys.executable, "-m", "devstack.mailviewer", "--host", self.config.host,
                "--port", str(self.config.mail_port), "--outbox", str(self.config.outbox),
                "--stage", self.config.stage, "--api-url", self.config.api_url,
                "--stack-started", self.started_at.isoformat(),
            ]
        )

    @property
    def captcha_verify_url(self) -> str:
        return f"http://{self.config.host}:{self.config.captcha_port}/siteverify"

    def start_captcha(self) -> None:
        """The fake CAPTCHA verifier, and the API's settings to use it (before the API starts)."""
        from devstack.captcha import DEFAULT_SECRET

        if not self.config.captcha_port:
            self.config.captcha_port = free_port()
        verifier = self.spawn([sys.executable, "-m", "devstack.captcha", "--port", str(self.config.captcha_port)])
        wait_for_http(self.captcha_verify_url, 30, verifier)
        self.env.update(
            {
                "CAPTCHA_PROVIDER": self.config.captcha,
                "CAPTCHA_SECRET": DEFAULT_SECRET,
                "CAPTCHA_VERIFY_URL": self.captcha_verify_url,
            }
        )

    def start_runtime(self, timeout: float = 60) -> subprocess.Popen[bytes]:
        """The event runtime, started before the API and waited for: once it is
        ready every handler is subscribed, so no publish is missed."""
        # Per emulator port: stacks side by side (tests, `make run`) keep their own stream positions.
        state = PROJECT_ROOT / "var" / "runtime" / f"{self.config.stage}-{self.config.aws_port}"
        ready = state / "ready"
        ready.unlink(missing_ok=True)
        runtime = self.spawn(
            [
                sys.executable, "-m", "devstack.runtime", "--stage", self.config.stage,
                "--state-dir", str(state), "--ready-file", str(ready),
            ]
        )
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if runtime.poll() is not None:
                raise RuntimeError(f"event runtime exited with {runtime.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"event runtime not ready within {timeout}s")
            time.sleep(0.1)
        return runtime

    def restart_runtime(self, stop_signal: int = signal.SIGTERM) -> subprocess.Popen[bytes]:
        """Stop the event runtime (SIGTERM: cleanly, handing back what its receives in flight
        bring; or SIGKILL, as a crash would) and start it again: streams resume from their
        checkpoints, queues keep what was not done."""
        for process in [p for p in self.processes if is_runtime(p)]:
            if process.poll() is None:
                os.killpg(process.pid, stop_signal)
                process.wait(timeout=30)
            self.processes.remove(process)
        return self.start_runtime()

    def stop(self) -> None:
        # Everything that talks to the emulator first, the emulator (started first) last,
        # so the runtime's last polls do not end in connection errors.
        self._stop_all(self.processes[self.emulator_count:])
        self._stop_all(self.processes[:self.emulator_count])
        self.processes.clear()
        endpoints.forget(self.config.aws_endpoint)
        if self.lifeline is not None:
            self.lifeline.close()
            self.lifeline = None

    @staticmethod
    def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
        for process in processes:
            if process.poll() is None:
                # The runtime is told that the emulator goes too (lifeline.STACK_STOPPING);
                # SIGTERM, as restart_runtime sends, would have it wait for its long polls.
                try:
                    os.killpg(process.pid, STACK_STOPPING if is_runtime(process) else signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
