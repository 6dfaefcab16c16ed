"""Serve the telephony API: python -m telephony."""

from aintech_shared.serve import serve
from telephony.app import create_app
from telephony.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
