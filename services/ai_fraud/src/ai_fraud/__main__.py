"""Serve the ai-fraud API: python -m ai_fraud."""

from ai_fraud.app import create_app
from ai_fraud.settings import Settings
from aintech_shared.serve import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
