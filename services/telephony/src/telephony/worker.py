"""telephony worker: outbox relay, the CRM read-model and accounts consumers, and the queue jobs
(python -m telephony.worker)."""

from aintech_shared import worker
from telephony.agents.consumers import accounts_consumer
from telephony.customers.consumers import CRM_READ_MODEL
from telephony.models import MESSAGING
from telephony.queue.jobs import job_runtime, queue_jobs
from telephony.settings import Settings
from telephony.signalling.jobs import signalling_jobs


def main() -> None:
    settings = Settings()
    worker.main(
        settings,
        MESSAGING,
        consumers=[CRM_READ_MODEL, accounts_consumer(job_runtime(settings))],
        jobs=[*queue_jobs(settings), *signalling_jobs()],
    )


if __name__ == "__main__":
    main()
