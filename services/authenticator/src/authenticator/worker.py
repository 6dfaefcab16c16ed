"""authenticator worker (python -m authenticator.worker): assembles runtime, consumers and jobs."""

from aintech_shared import worker
from authenticator.consumers import consumer_specs
from authenticator.core.base import MESSAGING
from authenticator.core.runtime import build_runtime
from authenticator.jobs import jobs
from authenticator.settings import Settings
from authenticator.tokens.keys import build_key_store


def main() -> None:
    settings = Settings()
    rt = build_runtime(settings, keys=build_key_store(settings, cache_seconds=0))
    worker.main(rt.settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt))


if __name__ == "__main__":
    main()
