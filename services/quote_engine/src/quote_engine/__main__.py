"""Serve the quote-engine API: python -m quote_engine."""

from aintech_shared.serve import serve
from quote_engine.app import create_app
from quote_engine.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
