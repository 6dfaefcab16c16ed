"""Three carrier-style portals in one Starlette app, under ``/mapfre``, ``/allianz`` and ``/axa``.

* Mapfre: static HTML, a GET quote form (``.oferta`` blocks), PDFs under ``/polizas/<n>.pdf``.
* Allianz: static HTML, a POSTed quote form answered with a table.
* AXA: the login and the quote form are rendered and submitted by JavaScript (``fetch`` to a JSON
  API), so only a real browser can read its offers.

``PortalState`` switches a carrier into the bad days a scraper must survive: ``rate_limited``
(429 with Retry-After), ``captcha`` (a ban page), ``changed_layout`` (offers under a new markup),
``down`` (503), ``redirect_out`` (a redirect to a host that is not the carrier's). Served by the
API in development only (``SCRAPER_DEMO_PORTAL``), refused in production; the tests serve it on
127.0.0.1 with uvicorn.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

PAGES = Path(__file__).with_name("pages")
USERNAME, PASSWORD = "corredor.demo", "demo-portal-2026"
MODES = ("ok", "rate_limited", "captcha", "changed_layout", "down", "redirect_out")
BASE = {"mapfre": Decimal("389.00"), "allianz": Decimal("402.00"), "axa": Decimal("376.00")}
PRODUCTS = {
    "mapfre": [("Terceros Ampliado", Decimal("1.00")), ("Todo Riesgo con franquicia 300 €", Decimal("1.62"))],
    "allianz": [("Auto Básico", Decimal("0.95")), ("Auto Todo Riesgo", Decimal("1.70"))],
    "axa": [("Terceros Plus", Decimal("1.02")), ("Todo Riesgo Confort", Decimal("1.58"))],
}


@dataclass
class PortalState:
    modes: dict[str, str] = field(default_factory=lambda: dict.fromkeys(BASE, "ok"))
    username: str = USERNAME
    password: str = PASSWORD
    sessions: set[str] = field(default_factory=set)
    documents: dict[str, bytes] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)


def premium(carrier: str, factor: Decimal, postal_code: str, birth: str) -> Decimal:
    """A deterministic, plausible premium for a risk (the same risk always gets the same price)."""
    try:
        age = max(18, min(90, date.today().year - date.fromisoformat(birth).year))
    except ValueError:
        age = 40
    young = Decimal("1.45") if age < 26 else Decimal("1.00")
    zone = Decimal(100 + int(hashlib.sha256(postal_code.encode()).hexdigest()[:2], 16) % 30) / 100
    return (BASE[carrier] * factor * young * zone).quantize(Decimal("0.01"))


def spanish(amount: Decimal) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return f"{groups},{cents} €"


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='es'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body>{body}</body></html>"
    )


def build_portal(state: PortalState | None = None) -> Starlette:
    state = state or PortalState()

    def mode(carrier: str) -> str:
        return state.modes.get(carrier, "ok")

    def bad_day(carrier: str) -> Response | None:
        state.hits[carrier] = state.hits.get(carrier, 0) + 1
        current = mode(carrier)
        if current == "rate_limited":
            return HTMLResponse(
                "<p>Demasiadas solicitudes</p>", status_code=429, headers={"Retry-After": "7"}
            )
        if current == "down":
            return HTMLResponse("<h1>Servicio no disponible</h1>", status_code=503)
        if current == "captcha":
            return _page(
                "Verificación", "<div id='captcha' class='captcha blocked'>Verifique que no es un robot</div>"
            )
        if current == "redirect_out":
            return RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=302)
        return None

    def signed_in(request: Request, carrier: str) -> bool:
        return request.cookies.get(f"{carrier}_session", "") in state.sessions

    def new_session(response: Response, carrier: str) -> Response:
        token = secrets.token_urlsafe(16)
        state.sessions.add(token)
        response.set_cookie(f"{carrier}_session", token, httponly=True, samesite="lax", path="/")
        return response

    def good(user: str, password: str) -> bool:
        return secrets.compare_digest(user, state.username) and secrets.compare_digest(
            password, state.password
        )

    # --- Mapfre: static, GET quote -------------------------------------------------------------

    async def mapfre_login(request: Request) -> Response:
        if (bad := bad_day("mapfre")) is not None:
            return bad
        if request.method == "POST":
            form = await request.form()
            if good(str(form.get("usuario", "")), str(form.get("clave", ""))):
                return new_session(RedirectResponse("inicio", status_code=303), "mapfre")
            return _page("Acceso", "<p class='error-login'>Usuario o clave incorrectos</p>")
        return _page(
            "Acceso",
            "<form method='post'><input name='usuario'><input name='clave' type='password'>"
            "<button>Entrar</button></form>",
        )

    async def mapfre_home(request: Request) -> Response:
        if not signed_in(request, "mapfre"):
            return RedirectResponse("login", status_code=303)
        return _page("Inicio", "<div id='cuenta'>Corredor demo</div>")

    async def mapfre_quote(request: Request) -> Response:
        if (bad := bad_day("mapfre")) is not None:
            return bad
        if not signed_in(request, "mapfre"):
            return RedirectResponse("login", status_code=303)
        q = request.query_params
        postal, birth = q.get("codigo_postal", ""), q.get("fecha_nacimiento", "")
        cls = "oferta-v2" if mode("mapfre") == "changed_layout" else "oferta"
        offers = "".join(
            f"<div class='{cls}'><span class='producto'>{html.escape(name)}</span>"
            f"<span class='prima'>{spanish(premium('mapfre', f, postal, birth))}</span>"
            f"<span class='cobertura'>Asistencia 24 h</span></div>"
            for name, f in PRODUCTS["mapfre"]
        )
        return _page("Tarificación", f"<h1>Ofertas para {html.escape(q.get('matricula', ''))}</h1>{offers}")

    async def mapfre_document(request: Request) -> Response:
        if not signed_in(request, "mapfre"):
            return RedirectResponse("../login", status_code=303)
        number = request.path_params["number"]
        content = state.documents.get(number)
        if content is None:
            return HTMLResponse("<p>No existe</p>", status_code=404)
        return Response(content, media_type="application/pdf")

    # --- Allianz: static, POSTed quote ----------------------------------------------------------

    async def allianz_login(request: Request) -> Response:
        if (bad := bad_day("allianz")) is not None:
            return bad
        if request.method == "POST":
            form = await request.form()
            if good(str(form.get("user", "")), str(form.get("pass", ""))):
                return new_session(
                    _page("Mediadores", "<div class='mediador'>Corredor demo</div>"), "allianz"
                )
            return _page("Acceso", "<div class='credenciales-incorrectas'>Credenciales incorrectas</div>")
        return _page(
            "Acceso", "<form method='post'><input name='user'><input name='pass' type='password'></form>"
        )

    async def allianz_quote(request: Request) -> Response:
        if (bad := bad_day("allianz")) is not None:
            return bad
        if not signed_in(request, "allianz"):
            return RedirectResponse("acceso", status_code=303)
        form = await request.form()
        postal, birth = str(form.get("zip", "")), str(form.get("birth", ""))
        rows = "".join(
            f"<tr><td class='modalidad'>{html.escape(name)}</td>"
            f"<td class='importe'>{spanish(premium('allianz', f, postal, birth))}</td></tr>"
            for name, f in PRODUCTS["allianz"]
        )
        table = "tarifas-2027" if mode("allianz") == "changed_layout" else "tarifas"
        return _page("Cotización", f"<table class='{table}'><tbody>{rows}</tbody></table>")

    # --- AXA: JavaScript-rendered -----------------------------------------------------------------

    axa_login_page = (PAGES / "axa_login.html").read_text(encoding="utf-8")

    axa_quote_page = (PAGES / "axa_quote.html").read_text(encoding="utf-8")

    async def axa_login(request: Request) -> Response:
        if (bad := bad_day("axa")) is not None:
            return bad
        return _page("AXA Distribuidores", axa_login_page)

    async def axa_api_login(request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        if good(str(body.get("email", "")), str(body.get("password", ""))):
            return new_session(JSONResponse({"ok": True}), "axa")
        return JSONResponse({"ok": False}, status_code=401)

    async def axa_quote(request: Request) -> Response:
        if (bad := bad_day("axa")) is not None:
            return bad
        if not signed_in(request, "axa"):
            return RedirectResponse("login", status_code=303)
        return _page("Cotizar", axa_quote_page)

    async def axa_api_quote(request: Request) -> Response:
        if not signed_in(request, "axa"):
            return JSONResponse({"error": "login"}, status_code=401)
        q = request.query_params
        offers = [
            {"name": name, "price": spanish(premium("axa", f, q.get("postcode", ""), q.get("birthdate", "")))}
            for name, f in PRODUCTS["axa"]
        ]
        return JSONResponse({"offers": offers, "layout": "v2" if mode("axa") == "changed_layout" else "v1"})

    routes = [
        Route("/mapfre/login", mapfre_login, methods=["GET", "POST"]),
        Route("/mapfre/inicio", mapfre_home),
        Route("/mapfre/tarificar", mapfre_quote),
        Route("/mapfre/polizas/{number}.pdf", mapfre_document),
        Route("/allianz/acceso", allianz_login, methods=["GET", "POST"]),
        Route("/allianz/cotizacion", allianz_quote, methods=["POST"]),
        Route("/axa/login", axa_login),
        Route("/axa/api/login", axa_api_login, methods=["POST"]),
        Route("/axa/quote", axa_quote),
        Route("/axa/api/quote", axa_api_quote),
    ]
    app = Starlette(routes=routes)
    app.state.portal = state
    return app
