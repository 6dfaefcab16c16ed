"""omnichannel worker: outbox relay, consumers and scheduled jobs (python -m omnichannel.worker)."""

from aintech_shared import worker
from omnichannel.models import MESSAGING
from omnichannel.settings import Settings


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
