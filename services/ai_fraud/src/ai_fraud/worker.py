"""ai-fraud worker (python -m ai_fraud.worker): assembles the runtime, the consumers and the jobs."""

from ai_fraud.consumers import consumer_specs
from ai_fraud.core.base import MESSAGING
from ai_fraud.core.runtime import build_runtime
from ai_fraud.jobs import jobs
from ai_fraud.settings import Settings
from aintech_shared import worker


def main() -> None:
    rt = build_runtime(Settings())
    worker.main(rt.settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt))


if __name__ == "__main__":
    main()
