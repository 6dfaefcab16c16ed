"""Serve the authenticator API: python -m authenticator."""

from aintech_shared.serve import serve
from authenticator.app import create_app
from authenticator.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
