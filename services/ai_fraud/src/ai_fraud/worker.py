"""ai-fraud worker: outbox relay, consumers and scheduled jobs (python -m ai_fraud.worker)."""

from ai_fraud.models import MESSAGING
from ai_fraud.settings import Settings
from aintech_shared import worker


def main() -> None:
    worker.main(Settings(), MESSAGING)


if __name__ == "__main__":
    main()
