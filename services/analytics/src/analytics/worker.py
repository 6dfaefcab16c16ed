"""analytics worker (python -m analytics.worker): assembles the runtime, the consumers and the jobs."""

from aintech_shared import worker
from analytics.consumers import consumer_specs
from analytics.core.base import MESSAGING
from analytics.core.runtime import build_runtime
from analytics.jobs import jobs
from analytics.settings import Settings


def main() -> None:
    rt = build_runtime(Settings(), with_store=False)
    worker.main(rt.settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt))


if __name__ == "__main__":
    main()
