"""Text constraints shared by the API's schemas (lengths match the columns; NUL refused)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
