"""Serve the omnichannel API: python -m omnichannel."""

from aintech_shared.serve import serve
from omnichannel.app import create_app
from omnichannel.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
