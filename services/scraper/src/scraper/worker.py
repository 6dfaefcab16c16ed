"""scraper worker: outbox relay, consumers and scheduled jobs (python -m scraper.worker)."""

from aintech_shared import worker
from scraper.models import MESSAGING
from scraper.settings import Settings


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
