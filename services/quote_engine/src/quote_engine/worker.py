"""quote-engine worker: outbox relay, consumers and scheduled jobs (python -m quote_engine.worker)."""

from aintech_shared import worker
from quote_engine.models import MESSAGING
from quote_engine.settings import Settings


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
