"""The public key set other services verify access tokens with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from aintech_shared.db import DbSession
from authenticator.core.runtime import RuntimeDep
from authenticator.core.schemas import no_nul_characters

router = APIRouter(tags=["tokens"], dependencies=[Depends(no_nul_characters)])


@router.get(
    "/.well-known/jwks.json",
    summary="JSON Web Key Set",
    description="RS256 public keys: the active key and retired keys whose access tokens may still be "
    "valid. Cacheable for 5 minutes; verifiers refetch when they meet an unknown `kid`.",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "keys": [
                            {
                                "kty": "RSA",
                                "kid": "3f1c…",
                                "use": "sig",
                                "alg": "RS256",
                                "n": "…",
                                "e": "AQAB",
                            }
                        ]
                    }
                }
            }
        }
    },
)
async def jwks(db: DbSession, rt: RuntimeDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return await rt.keys.jwks(db)
