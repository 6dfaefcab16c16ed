"""telephony worker: outbox relay, consumers and scheduled jobs (python -m telephony.worker)."""

from aintech_shared import worker
from telephony.models import MESSAGING
from telephony.settings import Settings


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
