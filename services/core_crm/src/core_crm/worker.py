"""core-crm worker: outbox relay, consumers and scheduled jobs (python -m core_crm.worker)."""

from aintech_shared import worker
from core_crm.models import MESSAGING
from core_crm.settings import Settings


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
