"""Dead letters, the library part: read them, list dead-letter topics, replay them to the topic they
failed on. The operator's command line is dev tooling: ``make dlq`` (``python -m aintech_devtools.dlq``).

A consumer parks a message that its handler refuses (or that is not a CloudEvent) on
``<topic>.dlq``: the original value, key and headers plus ``dlq_error``, ``dlq_consumer``,
``dlq_original_topic``/``_partition``/``_offset`` and ``dlq_attempts``.

Replaying sends the message back to its original topic with the same key, value and headers
(the ``dlq_*`` ones removed) plus ``dlq_replayed_from: <dlq topic>/<partition>/<offset>``. Every
consumer group of that topic sees it again: the consumer that failed handles it, the ones that
had already handled it skip it (de-duplication on the event id, kept 30 days). Each replay is
recorded by a marker message on the dead-letter topic itself (header ``dlq_replay_of``), so
``replay --all`` never replays the same dead letter twice, and ``list`` shows what was replayed
and when. If the tool dies between the replay and its marker, the next ``--all`` replays that
message once more, which de-duplication absorbs.

Exit codes: 0 done, 1 nothing matched (or the dead letter was already replayed), 2 usage error,
3 Kafka unreachable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from aintech_contracts.events import dead_letter_topic

DLQ_SUFFIX = ".dlq"
REPLAY_OF = "dlq_replay_of"
REPLAYED_AT = "dlq_replayed_at"
REPLAYED_FROM = "dlq_replayed_from"
READ_TIMEOUT = 30.0

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


class DlqError(Exception):
    """A failure to report to the operator with an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class DeadLetter:
    """One parked message, with what the consumer recorded about its failure."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp_ms: int
    replayed_at: str | None = None
    info: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: ConsumerRecord[Any, Any]) -> DeadLetter:
        headers = [(k, bytes(v or b"")) for k, v in record.headers or ()]
        info = {k: v.decode("utf-8", "replace") for k, v in headers if k.startswith("dlq_")}
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=headers,
            timestamp_ms=record.timestamp,
            info=info,
        )

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def event(self) -> dict[str, Any]:
        try:
            parsed = orjson.loads(self.value or b"")
        except orjson.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    @property
    def event_id(self) -> str:
        return str(self.event.get("id") or "-")

    @property
    def event_type(self) -> str:
        return str(self.event.get("type") or "malformed")

    @property
    def failed_at(self) -> str:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(timespec="seconds")

    @property
    def original(self) -> str:
        return (
            f"{self.info.get('dlq_original_topic', '?')}[{self.info.get('dlq_original_partition', '?')}]"
            f"@{self.info.get('dlq_original_offset', '?')}"
        )

    def summary(self) -> dict[str, Any]:
        return {
            "dlq_topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "consumer": self.info.get("dlq_consumer"),
            "original_topic": self.info.get("dlq_original_topic"),
            "original_partition": _int(self.info.get("dlq_original_partition")),
            "original_offset": _int(self.info.get("dlq_original_offset")),
            "attempts": _int(self.info.get("dlq_attempts")),
            "error": self.info.get("dlq_error"),
            "failed_at": self.failed_at,
            "replayed_at": self.replayed_at,
        }


def _int(value: str | None) -> int | None:
    return int(value) if value and value.lstrip("-").isdigit() else None


def dlq_name(topic: str) -> str:
    """The dead-letter topic for ``topic`` (which may already be one)."""
    return topic if topic.endswith(DLQ_SUFFIX) else dead_letter_topic(topic)


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="aintech-dlq")
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found = [d for d in described if d["topic"] == topic and d["error_code"] == 0]
    if not found:
        raise DlqError(f"no topic {topic}", EXIT_NOT_FOUND)
    return sorted(p["partition"] for p in found[0]["partitions"])


async def _read_all(
    consumer: AIOKafkaConsumer, topic: str, partitions: list[int]
) -> list[ConsumerRecord[Any, Any]]:
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
    records: list[ConsumerRecord[Any, Any]] = []
    deadline = asyncio.get_running_loop().time() + READ_TIMEOUT
    while remaining:
        if asyncio.get_running_loop().time() > deadline:
            raise DlqError(f"timed out reading {topic}", EXIT_UNREACHABLE)
        batch = await consumer.getmany(*remaining, timeout_ms=500)
        for tp, got in batch.items():
            records.extend(r for r in got if r.offset < ends[tp])
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
    return records


async def read_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every dead letter parked on ``topic``'s DLQ, oldest first, with its replay status."""
    name = dlq_name(topic)
    partitions = await _partitions(bootstrap, name)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        records = await _read_all(consumer, name, partitions)
    finally:
        await consumer.stop()
    letters: list[DeadLetter] = []
    replays: dict[str, str] = {}
    for record in records:
        letter = DeadLetter.from_record(record)
        if REPLAY_OF in letter.info:
            replays[letter.info[REPLAY_OF]] = letter.info.get(REPLAYED_AT, letter.failed_at)
        else:
            letters.append(letter)
    for letter in letters:
        letter.replayed_at = replays.get(letter.position)
    return sorted(letters, key=lambda d: (d.timestamp_ms, d.partition, d.offset))


async def dead_letter_topics(bootstrap: str) -> list[str]:
    """Every ``*.dlq`` topic on the cluster."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="aintech-dlq")
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.endswith(DLQ_SUFFIX))
    finally:
        await admin.close()


async def replay(bootstrap: str, letters: Sequence[DeadLetter]) -> list[DeadLetter]:
    """Send each dead letter back to its original topic, then record the replay on the DLQ."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", client_id="aintech-dlq-replay"
    )
    await producer.start()
    try:
        for letter in letters:
            original = letter.info.get("dlq_original_topic")
            if not original:
                raise DlqError(f"{letter.topic} {letter.position} names no original topic", EXIT_NOT_FOUND)
            headers = [(k, v) for k, v in letter.headers if not k.startswith("dlq_")]
            headers.append((REPLAYED_FROM, f"{letter.topic}/{letter.partition}/{letter.offset}".encode()))
            await producer.send_and_wait(original, letter.value, key=letter.key, headers=headers)
            now = datetime.now(UTC).isoformat(timespec="seconds")
            marker = orjson.dumps({"replay_of": letter.position, "event_id": letter.event_id, "at": now})
            await producer.send_and_wait(
                letter.topic,
                marker,
                key=letter.key,
                partition=letter.partition,
                headers=[(REPLAY_OF, letter.position.encode()), (REPLAYED_AT, now.encode())],
            )
            letter.replayed_at = now
    finally:
        await producer.stop()
    return list(letters)
