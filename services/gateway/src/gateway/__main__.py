"""Serve the gateway API: python -m gateway."""

from aintech_shared.serve import serve
from gateway.app import create_app
from gateway.settings import Settings


def main() -> None:
    settings = Settings()
    serve(
        create_app(settings),
        settings,
        header_timeout=settings.header_timeout,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        ws_max_size=settings.ws_max_message_bytes,
    )


if __name__ == "__main__":
    main()
