"""SES in the emulator: an outbox of sent mail, and the feedback SES would publish.

Installed inside the emulator process (devstack.emulator.install_hooks):

- Every message SES accepts (SESv2 SendEmail, raw or simple content; SES v1
  SendRawEmail and SendEmail) is written, as soon as it is accepted, as a
  raw RFC 5322 file `<UTC time>-<SES message id>.eml` in the outbox
  (LEADFLOW_OUTBOX, default var/outbox), with the Message-ID and Date SES
  writes, and its envelope beside it (devstack/outbox.py). Files appear
  atomically (written aside, then renamed), so a watcher never reads half a
  message. With LEADFLOW_SMTP_RELAY=host:port each message is also relayed
  to that SMTP server (devstack/smtp_relay.py), never holding up the send.
- Configuration-set event publishing: for a send that names a configuration
  set, the events SES would publish go, in SES's documented format
  (eventType, mail{messageId, destination, headers, commonHeaders, tags},
  bounce/complaint/delivery), to the SNS topic of the set's enabled event
  destination, filtered by its MatchingEventTypes. The mailbox simulator is
  honoured: bounce@ -> Bounce (Permanent), suppressionlist@ -> Bounce
  (Permanent, Suppressed), complaint@ -> Delivery then Complaint, success@
  and any ordinary address -> Delivery (SES reports Delivery for mail the
  receiving server accepts, so local deliveries end "delivered" too).
  Events go out a moment after the send returns (LEADFLOW_SES_FEEDBACK_DELAY,
  default 0.25 s), as on SES, where they arrive after the API call.
- Either format SES publishes: configuration-set events (`eventType`, the
  default) or identity feedback notifications (`notificationType`, no tags,
  only Delivery/Bounce/Complaint), chosen by the stage's SES_FEEDBACK_FORMAT
  (`event` or `identity`) or LEADFLOW_SES_FEEDBACK_FORMAT.
- The emulator's SESv2 lacks the event-destination API; it is added here, so
  provisioning can create the destination like on AWS. If a set has none,
  the topic comes from SES_FEEDBACK_TOPIC in the environment or from the
  stage in .chalice/config.json whose SES_CONFIGURATION_SET is that set.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import email
import email.parser
import email.policy
import functools
import heapq
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any

from devstack import outbox, smtp_relay
from devstack.events.masking import mask_email
from infra.project import PROJECT_ROOT

OUTBOX_ENV = "LEADFLOW_OUTBOX"
DELAY_ENV = "LEADFLOW_SES_FEEDBACK_DELAY"
DEFAULT_DELAY_SECONDS = 0.25
SIMULATOR_DOMAIN = "simulator.amazonses.com"
EVENT_SUBJECT = "Amazon SES Email Event Notification"
FALLBACK_EVENT_TYPES = frozenset({"DELIVERY", "BOUNCE", "COMPLAINT"})
LOCAL_IP = "127.0.0.1"

log = logging.getLogger("devstack.ses")

# sesv2 event destinations: (account, region, configuration set) -> name -> destination
_event_destinations: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
_last_message = threading.local()


# -- the outbox ----------------------------------------------------------------


def outbox_dir() -> Path:
    return Path(os.environ.get(OUTBOX_ENV) or PROJECT_ROOT / "var" / "outbox")


def write_outbox(mail: SentMail) -> Path:
    envelope = {
        "message_id": mail.message_id,
        "source": mail.source,
        "destination": list(mail.destination),
        "configuration_set": mail.configuration_set,
        "tags": dict(mail.tags),
        "account_id": mail.account_id,
        "region": mail.region,
        "sent_at": mail.sent_at.isoformat(),
    }
    directory = outbox_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return outbox.write(directory, mail.message_id, mail.raw, mail.sent_at, envelope)


# -- what was sent -------------------------------------------------------------


@dataclass(frozen=True)
class SentMail:
    message_id: str
    raw: bytes
    source: str
    destination: list[str]
    configuration_set: str | None
    tags: dict[str, str]
    account_id: str
    region: str
    sent_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def header_recipients(raw: bytes) -> list[str]:
    message = email.message_from_bytes(raw)
    values = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def envelope_recipients(destination: dict[str, Any] | None, raw: bytes) -> list[str]:
    """The Destination parameter when given, else the message's own To/Cc/Bcc (as SES does)."""
    if destination:
        listed = [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(key, [])]
        if listed:
            return listed
    return header_recipients(raw)


def simple_mime(source: str, destination: dict[str, Any], subject: str, text: str | None, html: str | None) -> bytes:
    """Simple (non-raw) content becomes the MIME message SES would build."""
    message = EmailMessage()
    message["From"] = source
    if destination.get("ToAddresses"):
        message["To"] = ", ".join(destination["ToAddresses"])
    if destination.get("CcAddresses"):
        message["Cc"] = ", ".join(destination["CcAddresses"])
    message["Subject"] = subject
    message["MIME-Version"] = "1.0"
    message.set_content(text or "")
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def _tags(entries: Any) -> dict[str, str]:
    return {str(t["Name"]): str(t["Value"]) for t in entries or [] if isinstance(t, dict) and "Name" in t}


# -- events in SES's format ----------------------------------------------------


def simulator_kind(address: str) -> str | None:
    local, _, domain = parseaddr(address)[1].lower().rpartition("@")
    if domain != SIMULATOR_DOMAIN:
        return None
    return local.split("+", 1)[0]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _header_values(decoded: Any, raw: Any, name: str) -> list[str]:
    """A header's decoded values; its raw text when it does not decode (SES reports what it can).
    The email package refuses some decoded values outright (a display name with CR/LF)."""
    try:
        return [str(v) for v in decoded.get_all(name, [])]
    except (ValueError, TypeError, IndexError, AttributeError):
        return [str(v) for v in raw.get_all(name, [])]


# Mails whose headers are remembered (a mail's events are built within moments of its send).
PARSED_MAILS = 256


class _RawHeaders:
    """A message's headers as the compat32 policy reads them (the raw text; undecodable bytes
    as a Header), from a parse made with another policy: both keep the same source lines."""

    def __init__(self, parsed: Any) -> None:
        fetch = email.policy.compat32.header_fetch_parse
        self.items = [(name, fetch(name, value)) for name, value in parsed.raw_items()]

    def get_all(self, name: str, failobj: Any = None) -> Any:
        found = [value for key, value in self.items if key.lower() == name.lower()]
        return found or failobj


@functools.lru_cache(maxsize=PARSED_MAILS)
def _parsed_headers(raw_bytes: bytes) -> tuple[Any, _RawHeaders]:
    """One headers-only parse of a mail (policy.default, which decodes), and the same headers raw:
    every event's headers and commonHeaders come from it. The parse is only ever read."""
    decoded = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw_bytes, headersonly=True)
    return decoded, _RawHeaders(decoded)


@functools.lru_cache(maxsize=PARSED_MAILS)
def _parsed_common_headers(raw_bytes: bytes) -> str:
    """The commonHeaders of a raw message (without messageId), as JSON text so every caller gets
    its own copy. Every event of a mail (Send, Delivery, ...) carries them: parsed once per mail,
    headers only (the body never matters here), instead of a full parse per event."""
    decoded, raw = _parsed_headers(raw_bytes)
    common: dict[str, Any] = {}
    for header, key in (("From", "from"), ("Reply-To", "replyTo"), ("To", "to"), ("Cc", "cc")):
        values = _header_values(decoded, raw, header)
        if values:
            common[key] = [formatted for value in values for formatted in _split_addresses(value)]
    date = _header_values(decoded, raw, "Date")
    if date:
        common["date"] = date[0]
    subject = _header_values(decoded, raw, "Subject")
    common["subject"] = subject[0] if subject else ""
    return json.dumps(common)


def _common_headers(mail: SentMail) -> dict[str, Any]:
    common: dict[str, Any] = json.loads(_parsed_common_headers(mail.raw))
    subject = common.pop("subject")
    common["messageId"] = mail.message_id
    common["subject"] = subject  # the order SES's JSON has
    return common


def _split_addresses(value: str) -> list[str]:
    return [f"{name} <{address}>" if name else address for name, address in getaddresses([value]) if address]


@functools.lru_cache(maxsize=PARSED_MAILS)
def _parsed_raw_headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    return tuple((name, str(value)) for name, value in _parsed_headers(raw)[1].items)


def _raw_headers(raw: bytes) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in _parsed_raw_headers(raw)]


def mail_object(mail: SentMail, event_type: str) -> dict[str, Any]:
    source_address = parseaddr(mail.source)[1]
    domain = source_address.rpartition("@")[2]
    tags: dict[str, list[str]] = {
        "ses:configuration-set": [mail.configuration_set or ""],
        "ses:source-ip": [LOCAL_IP],
        "ses:from-domain": [domain],
        "ses:caller-identity": ["local"],
    }
    if event_type == "Delivery":
        tags["ses:outgoing-ip"] = [LOCAL_IP]
    tags.update({name: [value] for name, value in mail.tags.items()})
    return {
        "timestamp": _iso(mail.sent_at),
        "source": mail.source,
        "sourceArn": f"arn:aws:ses:{mail.region}:{mail.account_id}:identity/{domain}",
        "sendingAccountId": mail.account_id,
        "messageId": mail.message_id,
        "destination": list(mail.destination),
        "headersTruncated": False,
        "headers": _raw_headers(mail.raw),
        "commonHeaders": _common_headers(mail),
        "tags": tags,
    }


def _feedback_id() -> str:
    return f"{uuid.uuid4().hex[:16]}-{uuid.uuid4()}-000000"


def _bounce(mail: SentMail, recipients: list[str], sub_type: str) -> dict[str, Any]:
    suppressed = sub_type == "Suppressed"
    diagnostic = (
        "Amazon SES has suppressed sending to this address because it has a recent history of bouncing"
        if suppressed else "smtp; 550 5.1.1 user unknown"
    )
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": sub_type,
            "bouncedRecipients": [
                {"emailAddress": parseaddr(r)[1], "action": "failed", "status": "5.1.1", "diagnosticCode": diagnostic}
                for r in recipients
            ],
            "timestamp": _iso(dt.datetime.now(dt.UTC)),
            "feedbackId": _feedback_id(),
            "reportingMTA": "dns; amazonses.com" if suppressed else "dsn; simulator.amazonses.com",
        },
        "mail": mail_object(mail, "Bounce"),
    }


def _complaint(mail: SentMail, recipients: list[str]) -> dict[str, Any]:
    now = _iso(dt.datetime.now(dt.UTC))
    return {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": parseaddr(r)[1]} for r in recipients],
            "timestamp": now,
            "feedbackId": _feedback_id(),
            "userAgent": "Amazon SES Mailbox Simulator",
            "complaintFeedbackType": "abuse",
            "arrivalDate": now,
            "complaintSubType": None,  # event publishing only; dropped for identity notifications
        },
        "mail": mail_object(mail, "Complaint"),
    }


def _delivery(mail: SentMail, recipients: list[str]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "eventType": "Delivery",
        "delivery": {
            "timestamp": _iso(now),
            "processingTimeMillis": max(0, int((now - mail.sent_at).total_seconds() * 1000)),
            "recipients": [parseaddr(r)[1] for r in recipients],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-1.smtp-out.amazonses.com",
            "remoteMtaIp": LOCAL_IP,
        },
        "mail": mail_object(mail, "Delivery"),
    }


def feedback_events(mail: SentMail) -> list[dict[str, Any]]:
    """Send, then each outcome SES would report for these recipients, in that order."""
    kinds = {r: simulator_kind(r) for r in mail.destination}
    bounced = [r for r, k in kinds.items() if k == "bounce"]
    suppressed = [r for r, k in kinds.items() if k == "suppressionlist"]
    delivered = [r for r, k in kinds.items() if k not in ("bounce", "suppressionlist")]
    complained = [r for r, k in kinds.items() if k == "complaint"]
    events: list[dict[str, Any]] = [{"eventType": "Send", "send": {}, "mail": mail_object(mail, "Send")}]
    if delivered:
        events.append(_delivery(mail, delivered))
    if bounced:
        events.append(_bounce(mail, bounced, "General"))
    if suppressed:
        events.append(_bounce(mail, suppressed, "Suppressed"))
    if complained:
        events.append(_complaint(mail, complained))
    return events


# -- where events go -------------------------------------------------------------


def _enabled_sns(destination: dict[str, Any]) -> tuple[str, frozenset[str]] | None:
    sns = destination.get("SnsDestination") or destination.get("SNSDestination") or {}
    topic = sns.get("TopicArn") or sns.get("TopicARN")
    enabled = destination.get("Enabled", False) in (True, "true", "True")
    if not topic or not enabled:
        return None
    return str(topic), frozenset(str(t).upper() for t in destination.get("MatchingEventTypes", []))


def _stage_env(configuration_set: str) -> dict[str, Any]:
    """The environment of the stage in .chalice/config.json whose SES_CONFIGURATION_SET is this set."""
    try:
        config = json.loads((PROJECT_ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    for stage in config.get("stages", {}).values():
        env = stage.get("environment_variables", {})
        if env.get("SES_CONFIGURATION_SET") == configuration_set:
            return dict(env)
    return {}


def _stage_topic(configuration_set: str) -> str | None:
    topic = _stage_env(configuration_set).get("SES_FEEDBACK_TOPIC")
    return str(topic) if topic else None


# -- the two formats SES publishes feedback in -------------------------------------

EVENT_FORMAT = "event"  # configuration-set event publishing: eventType, mail.tags
IDENTITY_FORMAT = "identity"  # identity feedback notifications: notificationType, no tags
FORMAT_ENV = "LEADFLOW_SES_FEEDBACK_FORMAT"
# Identity notifications exist for these outcomes only.
IDENTITY_TYPES = frozenset({"Bounce", "Complaint", "Delivery"})


def feedback_format(mail: SentMail) -> str:
    """LEADFLOW_SES_FEEDBACK_FORMAT, else the stage's SES_FEEDBACK_FORMAT, else event publishing."""
    chosen = os.environ.get(FORMAT_ENV) or _stage_env(mail.configuration_set or "").get("SES_FEEDBACK_FORMAT")
    chosen = str(chosen or EVENT_FORMAT).strip().lower()
    if chosen not in (EVENT_FORMAT, IDENTITY_FORMAT):
        log.warning("unknown SES feedback format %r; publishing %s events", chosen, EVENT_FORMAT)
        return EVENT_FORMAT
    return chosen


def as_identity_notification(event: dict[str, Any]) -> dict[str, Any] | None:
    """The identity notification SES sends for the same outcome (None: it sends none).

    As documented: `notificationType` instead of `eventType`; the mail object
    has no tags but the sending IP and caller identity; deliveries and
    bounces name the remote MTA's IP; complaints have no complaintSubType.
    """
    kind = str(event["eventType"])
    if kind not in IDENTITY_TYPES:
        return None
    mail = {key: value for key, value in event["mail"].items() if key != "tags"}
    mail.update(sourceIp=LOCAL_IP, callerIdentity="local")
    body_key = kind[0].lower() + kind[1:]
    body = dict(event[body_key])
    body.pop("complaintSubType", None)
    if kind == "Bounce" and "reportingMTA" in body:
        body["remoteMtaIp"] = LOCAL_IP
    return {"notificationType": kind, body_key: body, "mail": mail}


def published_events(mail: SentMail) -> list[dict[str, Any]]:
    """feedback_events in the format the mail's stage publishes."""
    events = feedback_events(mail)
    if feedback_format(mail) == EVENT_FORMAT:
        return events
    return [n for n in (as_identity_notification(e) for e in events) if n is not None]


def _type_of(event: dict[str, Any]) -> str:
    return str(event.get("eventType") or event.get("notificationType"))


def _topic_arn(topic: str, mail: SentMail) -> str:
    return topic if topic.startswith("arn:") else f"arn:aws:sns:{mail.region}:{mail.account_id}:{topic}"


def event_targets(mail: SentMail) -> list[tuple[str, frozenset[str]]]:
    if not mail.configuration_set:
        return []  # event publishing needs a configuration set
    registered = _event_destinations.get((mail.account_id, mail.region, mail.configuration_set), {})
    targets = [t for t in (_enabled_sns(d) for d in registered.values()) if t]
    if registered:
        return targets
    v1 = _v1_destination(mail)
    if v1 is not None:
        found = _enabled_sns(v1)
        return [found] if found else []
    topic = os.environ.get("SES_FEEDBACK_TOPIC") or _stage_topic(mail.configuration_set)
    return [(_topic_arn(topic, mail), FALLBACK_EVENT_TYPES)] if topic else []


def _v1_destination(mail: SentMail) -> dict[str, Any] | None:
    from moto.ses.models import ses_backends

    found = ses_backends[mail.account_id][mail.region].config_set_event_destination.get(mail.configuration_set or "")
    return dict(found) if found else None


def _publish(mail: SentMail, topic_arn: str, event: dict[str, Any]) -> None:
    from moto.sns.models import sns_backends

    region = topic_arn.split(":")[3]
    account = topic_arn.split(":")[4]
    sns_backends[account][region].publish(json.dumps(event), arn=topic_arn, subject=EVENT_SUBJECT)


class FeedbackPublisher:
    """Publishes events a short delay after the send, in order, on one thread."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, SentMail, str, dict[str, Any]]] = []
        self._counter = itertools.count()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, mail: SentMail) -> None:
        delay = float(os.environ.get(DELAY_ENV) or DEFAULT_DELAY_SECONDS)
        due = time.monotonic() + delay
        with self._ready:
            for topic, types in event_targets(mail):
                for event in published_events(mail):
                    if _type_of(event).upper() in types:
                        heapq.heappush(self._queue, (due, next(self._counter), mail, topic, event))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ses-feedback", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _next(self) -> tuple[SentMail, str, dict[str, Any]]:
        with self._ready:
            while True:
                if self._queue:
                    wait = self._queue[0][0] - time.monotonic()
                    if wait <= 0:
                        _, _, mail, topic, event = heapq.heappop(self._queue)
                        return mail, topic, event
                    self._ready.wait(wait)
                else:
                    self._ready.wait()

    def _run(self) -> None:
        while True:
            mail, topic, event = self._next()
            try:
                _publish(mail, topic, event)
                log.info("ses event %s for message %s published", _type_of(event), mail.message_id)
            except Exception as exc:  # noqa: BLE001 - a missing topic must not stop later events
                log.warning("ses event %s for message %s not published: %s", _type_of(event), mail.message_id, exc)


_publisher = FeedbackPublisher()


def accepted(stored: Callable[[], SentMail]) -> None:
    """The emulator's SES has stored a message (`stored` describes it): do everything else,
    and never fail the send.

    The caller's answer must say the message was taken once it was: a 500 here
    made the app retry, and each retry sent the message again. Whatever goes
    wrong afterwards (a message the email package cannot read, a full disk)
    costs at most the local copy or the events, and is logged.
    """
    try:
        accept(stored())
    except Exception:  # the message is stored; only the extras are lost
        log.exception("ses stored a message, but filing it or scheduling its events failed")


def accept(mail: SentMail) -> None:
    """SES accepted `mail`: add the headers SES adds, file it in the outbox and hand it to the relay now,
    publish its events shortly."""
    mail = dataclasses.replace(mail, raw=outbox.stamp(mail.raw, mail.message_id, mail.region, mail.sent_at))
    recipients = ", ".join(mask_email(r) for r in mail.destination)
    smtp_relay.forward(mail.raw, parseaddr(mail.source)[1], mail.destination)
    try:
        path = write_outbox(mail)
    except OSError as exc:  # SES did accept it; only the local copy is missing
        log.error("ses accepted message %s to %s but the outbox write failed: %s", mail.message_id, recipients, exc)
    else:
        log.info("ses accepted message %s to %s -> %s", mail.message_id, recipients, path.name)
    _publisher.schedule(mail)


# -- hooks into the emulator's SES -----------------------------------------------


def _v2_message(params: dict[str, Any]) -> tuple[bytes, str]:
    content = params.get("Content") or {}
    destination = params.get("Destination") or {}
    if "Raw" in content:
        raw = base64.b64decode(content["Raw"]["Data"])
        return raw, params.get("FromEmailAddress") or parseaddr(str(email.message_from_bytes(raw)["From"]))[1]
    simple = content.get("Simple") or {}
    body = simple.get("Body") or {}
    source = str(params.get("FromEmailAddress", ""))
    raw = simple_mime(
        source, destination, (simple.get("Subject") or {}).get("Data", ""),
        (body.get("Text") or {}).get("Data"), (body.get("Html") or {}).get("Data"),
    )
    return raw, source


def _hook_sesv2_send(response_class: Any) -> None:
    original = response_class.send_email

    def send_email(self: Any) -> Any:
        result = original(self)
        params = json.loads(self.body)
        if "Template" in (params.get("Content") or {}):
            return result

        def stored() -> SentMail:
            raw, source = _v2_message(params)
            return SentMail(
                message_id=json.loads(result)["MessageId"],
                raw=raw,
                source=source,
                destination=envelope_recipients(params.get("Destination"), raw),
                configuration_set=params.get("ConfigurationSetName"),
                tags=_tags(params.get("EmailTags")),
                account_id=self.current_account,
                region=self.region,
            )

        accepted(stored)
        return result

    response_class.send_email = send_email


def _destination_key(response: Any) -> tuple[str, str, str]:
    return response.current_account, response.region, str(response._get_param("ConfigurationSetName"))


def _require_configuration_set(response: Any, name: str) -> None:
    from moto.ses.exceptions import NotFoundException
    from moto.ses.models import ses_backends

    if name not in ses_backends[response.current_account][response.region].config_sets:
        raise NotFoundException(f"Configuration set <{name}> does not exist.")


def _add_sesv2_event_destinations(response_class: Any) -> None:
    """CreateConfigurationSetEventDestination and friends, which the emulator's SESv2 lacks."""

    def create_configuration_set_event_destination(self: Any) -> str:
        key = _destination_key(self)
        _require_configuration_set(self, key[2])
        params = json.loads(self.body)
        entry = {"Name": params["EventDestinationName"], **params.get("EventDestination", {})}
        existing = _event_destinations.setdefault(key, {})
        if entry["Name"] in existing:
            from moto.core.exceptions import JsonRESTError

            raise JsonRESTError("AlreadyExistsException", f"Event destination {entry['Name']} already exists.")
        existing[entry["Name"]] = entry
        return "{}"

    def update_configuration_set_event_destination(self: Any) -> str:
        key = _destination_key(self)
        name = str(self._get_param("EventDestinationName"))
        params = json.loads(self.body)
        _event_destinations.setdefault(key, {})[name] = {"Name": name, **params.get("EventDestination", {})}
        return "{}"

    def get_configuration_set_event_destinations(self: Any) -> str:
        key = _destination_key(self)
        _require_configuration_set(self, key[2])
        return json.dumps({"EventDestinations": list(_event_destinations.get(key, {}).values())})

    def delete_configuration_set_event_destination(self: Any) -> str:
        key = _destination_key(self)
        _event_destinations.get(key, {}).pop(str(self._get_param("EventDestinationName")), None)
        return "{}"

    from moto.sesv2 import urls

    base = "{0}/v2/email/configuration-sets/(?P<ConfigurationSetName>[^/]+)/event-destinations"
    urls.url_paths[base + "$"] = response_class.dispatch
    urls.url_paths[base + "/(?P<EventDestinationName>[^/]+)$"] = response_class.dispatch
    for method in (
        create_configuration_set_event_destination,
        update_configuration_set_event_destination,
        get_configuration_set_event_destinations,
        delete_configuration_set_event_destination,
    ):
        setattr(response_class, method.__name__, method)


def _remember_message(backend_class: Any, name: str) -> None:
    """v1 responses do not expose the message object; keep it per request thread."""
    original = getattr(backend_class, name)

    def remembered(self: Any, *args: Any, **kwargs: Any) -> Any:
        message = original(self, *args, **kwargs)
        _last_message.value = message
        return message

    setattr(backend_class, name, remembered)


def _hook_ses_v1(response_class: Any, backend_class: Any) -> None:
    _remember_message(backend_class, "send_raw_email")
    _remember_message(backend_class, "send_email")
    original_raw, original_simple = response_class.send_raw_email, response_class.send_email

    def v1_mail(self: Any, raw: bytes, source: str, destination: list[str]) -> SentMail:
        return SentMail(
            message_id=_last_message.value.id,
            raw=raw,
            source=source,
            destination=destination,
            configuration_set=self._get_param("ConfigurationSetName"),
            tags=_tags(self._get_param("Tags", [])),
            account_id=self.current_account,
            region=self.region,
        )

    def send_raw_email(self: Any) -> Any:
        result = original_raw(self)

        def stored() -> SentMail:
            raw = self._get_param("RawMessage.Data")
            raw = raw if isinstance(raw, bytes) else str(raw).encode()
            listed = list(self._get_param("Destinations", []) or [])
            source = self._get_param("Source") or parseaddr(str(email.message_from_bytes(raw)["From"]))[1]
            return v1_mail(self, raw, source, listed or header_recipients(raw))

        accepted(stored)
        return result

    def send_email(self: Any) -> Any:
        result = original_simple(self)

        def stored() -> SentMail:
            destination = self._get_param("Destination", {}) or {}
            source = str(self._get_param("Source"))
            raw = simple_mime(
                source, destination, self._get_param("Message.Subject.Data", ""),
                self._get_param("Message.Body.Text.Data"), self._get_param("Message.Body.Html.Data"),
            )
            return v1_mail(self, raw, source, envelope_recipients(destination, raw))

        accepted(stored)
        return result

    response_class.send_raw_email = send_raw_email
    response_class.send_email = send_email


class _HeadersOnlyEmail:
    """The `email` module as moto's SES models see it, parsing only the headers of a raw message:
    SESBackend.send_raw_email (moto/ses/models.py) parses the whole message, every MIME part,
    with email.message_from_string to read From, To, Cc and Bcc, and nothing else. A
    headers-only parse keeps the same headers (the same parser and policy, stopping at the
    blank line). Everything else is the real module."""

    @staticmethod
    def message_from_string(text: str, *args: Any, **kwargs: Any) -> Any:
        return email.parser.Parser(*args, **kwargs).parsestr(text, headersonly=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(email, name)


def parse_headers_only() -> None:
    from moto.ses import models

    module: Any = models
    if not isinstance(module.email, _HeadersOnlyEmail):
        module.email = _HeadersOnlyEmail()


def install() -> None:
    from moto.ses.models import SESBackend
    from moto.ses.responses import EmailResponse
    from moto.sesv2.responses import SESV2Response

    if getattr(SESV2Response, "_devstack_outbox", False):
        return
    SESV2Response._devstack_outbox = True  # type: ignore[attr-defined]
    _hook_sesv2_send(SESV2Response)
    _add_sesv2_event_destinations(SESV2Response)
    _hook_ses_v1(EmailResponse, SESBackend)
    parse_headers_only()
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s emulator %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
