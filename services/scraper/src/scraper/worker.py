"""scraper worker (python -m scraper.worker): assembles the runtime, the consumers and the jobs."""

from aintech_shared import worker
from scraper.consumers import consumer_specs
from scraper.core.base import MESSAGING
from scraper.core.runtime import build_runtime
from scraper.jobs import jobs
from scraper.settings import Settings


def main() -> None:
    rt = build_runtime(Settings())
    worker.main(rt.settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt))


if __name__ == "__main__":
    main()
