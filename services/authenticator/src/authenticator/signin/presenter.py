"""How a sign-in outcome is answered: by /login, /login/2fa, /refresh and the provider callbacks."""

from __future__ import annotations

from fastapi import Response

from authenticator.signin.schemas import TokenResponse, TwoFactorRequired
from authenticator.signin.service import ChallengeIssued, SignedIn
from authenticator.users.schemas import UserOut

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token_response(result: SignedIn) -> TokenResponse:
    return TokenResponse(
        access_token=result.access_token,
        expires_in=result.expires_in,
        refresh_token=result.refresh_token,
        refresh_expires_in=result.refresh_expires_in,
        session_id=result.session.id,
        user=UserOut.model_validate(result.user),
    )


def login_response(
    result: SignedIn | ChallengeIssued, response: Response
) -> TokenResponse | TwoFactorRequired:
    """A token pair, or the challenge to answer with a second factor; never cached."""
    response.headers.update(NO_STORE)
    if isinstance(result, ChallengeIssued):
        return TwoFactorRequired(
            challenge_token=result.challenge_token, expires_in=result.expires_in, expires_at=result.expires_at
        )
    return token_response(result)
