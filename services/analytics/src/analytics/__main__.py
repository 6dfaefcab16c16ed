"""Serve the analytics API: python -m analytics."""

from aintech_shared.serve import serve
from analytics.app import create_app
from analytics.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
