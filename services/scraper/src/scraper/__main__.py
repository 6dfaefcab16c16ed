"""Serve the scraper API: python -m scraper."""

from aintech_shared.serve import serve
from scraper.app import create_app
from scraper.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
