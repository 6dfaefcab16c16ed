"""Serve the core-crm API: python -m core_crm."""

from aintech_shared.serve import serve
from core_crm.app import create_app
from core_crm.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
