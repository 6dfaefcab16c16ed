"""gateway worker: outbox relay, consumers and scheduled jobs (python -m gateway.worker)."""

from aintech_shared import worker
from gateway.models import MESSAGING
from gateway.settings import Settings


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
