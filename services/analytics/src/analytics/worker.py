"""analytics worker: outbox relay, consumers and scheduled jobs (python -m analytics.worker)."""

from aintech_shared import worker
from analytics.models import MESSAGING
from analytics.settings import Settings


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
