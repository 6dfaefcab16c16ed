"""quote-engine worker (python -m quote_engine.worker): assembles the runtime, the consumers and the jobs."""

from aintech_shared import worker
from quote_engine.consumers import consumer_specs
from quote_engine.core.base import MESSAGING
from quote_engine.core.runtime import build_runtime
from quote_engine.jobs import jobs
from quote_engine.settings import Settings


def main() -> None:
    rt = build_runtime(Settings())
    worker.main(rt.settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt))


if __name__ == "__main__":
    main()
