"""Serve the gateway API: python -m gateway."""

from aintech_shared.serve import serve
from gateway.app import create_app
from gateway.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
