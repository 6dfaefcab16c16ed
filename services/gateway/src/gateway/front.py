"""The front door: every public /api/, /webhooks/ and /ws/ request passes here before a service.

In order: the path is resolved (internal surfaces and non-canonical paths refused), the bearer
token is verified (cached until ``exp``) and checked against the revoked-session denylist, the
call is charged to its rate-limit budgets, and only then is it forwarded with a signed identity.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from aintech_shared.context import request_id_var
from aintech_shared.errors import AppError, ServiceUnavailable, Unauthorized
from aintech_shared.proxies import TrustedProxies
from gateway.answers import refuse
from gateway.denylist import SessionDenylist
from gateway.proxy import Forwarder
from gateway.ratelimit import EdgeRateLimiter, Verdict, client_key
from gateway.settings import Settings
from gateway.tokens import EdgeAuth, Verified, bearer_from_header
from gateway.upstreams import Refusal
from gateway.websocket import WebSocketRelay, credentials

_WWW_AUTHENTICATE = (b"www-authenticate", b"Bearer")
_FORWARDED = ("/api/", "/webhooks/")


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if not raw:
        return str(scope["path"])
    return raw.split(b"?", 1)[0].decode("latin-1")


class FrontDoor:
    """Pure ASGI middleware in front of the gateway's own routes."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        proxies: TrustedProxies,
        forwarder: Forwarder,
        auth: EdgeAuth,
        denylist: SessionDenylist,
        limiter: EdgeRateLimiter,
        relay: WebSocketRelay,
    ) -> None:
        self.app = app
        self.settings = settings
        self.proxies = proxies
        self.forwarder = forwarder
        self.routes = forwarder.routes
        self.auth = auth
        self.denylist = denylist
        self.limiter = limiter
        self.relay = relay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and scope["path"].startswith(_FORWARDED):
            await self.http(scope, receive, send)
        elif kind == "websocket":
            await self.websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _starting(self, public: bool) -> bool:
        """Whether authenticated calls must wait: the denylist has not caught up with Kafka yet."""
        return not public and self.settings.denylist_required and not self.denylist.caught_up

    async def _verify(self, token: str | None, public: bool) -> Verified | AppError:
        if token is None:
            return Unauthorized("Missing bearer token.")
        if self._starting(public):
            return ServiceUnavailable(
                "The gateway is starting; try again in a moment.", headers={"Retry-After": "2"}
            )
        try:
            return await self.auth.authenticate(token)
        except AppError as exc:
            return exc

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.routes.resolve(_raw_path(scope))
        if isinstance(target, Refusal):
            await refuse(scope, receive, send, target.status, target.detail)
            return
        scope["route"] = target.label
        authorization = forwarded_for = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded_for = value.decode("latin-1")
        peer = scope["client"][0] if scope.get("client") else ""
        token = bearer_from_header(authorization)
        outcome = await self._verify(token, target.public) if token is not None or not target.public else None
        verified = outcome if isinstance(outcome, Verified) else None
        if verified is not None:
            verdict = self.limiter.charge("user", verified.principal.user_id, target.route_class)
        else:
            ip = self.proxies.client_ip(peer, forwarded_for)
            verdict = self.limiter.charge("anonymous", client_key(ip), target.route_class)
        if not verdict.allowed:
            await self._too_many(scope, receive, send, verdict)
            return
        if isinstance(outcome, AppError) and not target.public:
            await self._app_error(scope, receive, send, outcome, verdict)
            return
        identity = None
        if verified is not None:
            identity = self.auth.identity_header(verified, request_id_var.get() or "")
        await self.forwarder.forward(
            scope, receive, send, target, identity=identity, extra_headers=verdict.headers()
        )

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        token, offered, bearer = credentials(scope)  # first: the token leaves the scope before any log
        target = self.routes.resolve_websocket(_raw_path(scope))
        if isinstance(target, Refusal):
            await refuse(scope, receive, send, target.status, target.detail)
            return
        outcome = await self._verify(token, public=False)
        if not isinstance(outcome, Verified):
            await refuse(
                scope,
                receive,
                send,
                outcome.status,
                outcome.detail,
                title=outcome.title,
                headers=[_WWW_AUTHENTICATE] if outcome.status == 401 else None,
            )
            return
        verdict = self.limiter.charge("user", outcome.principal.user_id, None)
        if not verdict.allowed:
            await self._too_many(scope, receive, send, verdict)
            return
        verified = outcome
        assert token is not None
        await self.relay.run(
            scope,
            receive,
            send,
            target,
            token=token,
            offered=offered,
            bearer=bearer,
            session_id=verified.principal.session_id,
            user_id=verified.principal.user_id,
            sign=lambda request_id: self.auth.identity_header(verified, request_id),
        )

    async def _too_many(self, scope: Scope, receive: Receive, send: Send, verdict: Verdict) -> None:
        await refuse(
            scope,
            receive,
            send,
            429,
            f"Too many requests; try again in {verdict.reset_after} s.",
            title="Too many requests",
            headers=verdict.headers(),
        )

    async def _app_error(
        self, scope: Scope, receive: Receive, send: Send, error: AppError, verdict: Verdict
    ) -> None:
        headers = verdict.headers()
        for name, value in (error.headers or {}).items():
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        await refuse(scope, receive, send, error.status, error.detail, title=error.title, headers=headers)
