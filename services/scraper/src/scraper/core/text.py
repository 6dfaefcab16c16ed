"""Text constraints shared by the API's schemas (lengths match the columns; NUL refused)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]

# A carrier in a path: the same slug, stated in the document (an id with a control character or an
# encoded slash is refused by the gateway before any service sees it, with a 400 the operation did not
# document; with the pattern stated, schema-valid ids are the ones that reach the service).
CarrierPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
