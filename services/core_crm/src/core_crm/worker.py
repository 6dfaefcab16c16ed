"""core-crm worker (python -m core_crm.worker): assembles the runtime, the consumers and the jobs."""

from aintech_shared import worker
from core_crm.consumers import consumer_specs
from core_crm.core.base import MESSAGING
from core_crm.core.runtime import build_runtime
from core_crm.jobs import jobs
from core_crm.settings import Settings


def main() -> None:
    rt = build_runtime(Settings())
    worker.main(rt.settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt))


if __name__ == "__main__":
    main()
