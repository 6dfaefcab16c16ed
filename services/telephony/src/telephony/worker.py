"""telephony worker (python -m telephony.worker): assembles the runtime, the consumers and the jobs."""

from aintech_shared import worker
from telephony.consumers import consumer_specs
from telephony.core.base import MESSAGING
from telephony.core.runtime import worker_runtime
from telephony.jobs import jobs
from telephony.settings import Settings


def main() -> None:
    rt = worker_runtime(Settings())
    worker.main(rt.settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt))


if __name__ == "__main__":
    main()
