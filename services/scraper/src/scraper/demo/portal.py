"""Three carrier-style portals in one Starlette app, under ``/mapfre``, ``/allianz`` and ``/axa``.

* Mapfre: static HTML, a GET quote form (``.oferta`` blocks), PDFs under ``/polizas/<n>.pdf``.
* Allianz: static HTML, a POSTed quote form answered with a table.
* AXA: the login and the quote form are rendered and submitted by JavaScript (``fetch`` to a JSON
  API), so only a real browser can read its offers.

``PortalState`` switches a carrier into the bad days a scraper must survive: ``rate_limited``
(429 with Retry-After), ``captcha`` (a ban page), ``changed_layout`` (offers under a new markup),
``down`` (503), ``redirect_out`` (a redirect to a host that is not the carrier's), ``hang`` (Mapfre:
every page waits until ``PortalState.release`` is set — a portal that stopped answering).

Mapfre (static table, ``/mapfre/cartera?pagina=N``) and AXA (rendered by JavaScript,
``/axa/portfolio?page=N``) also list the broker's portfolio, ``PORTFOLIO_PAGE_SIZE`` policies a
page; in ``changed_layout`` mode the first page is as usual and the next ones come in a new markup
(a redesign met half-way through a sync). Served by the
API in development only (``SCRAPER_DEMO_PORTAL``), refused in production; the tests serve it on
127.0.0.1 with uvicorn.
"""

from __future__ import annotations

import asyncio
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
MODES = ("ok", "rate_limited", "captcha", "changed_layout", "down", "redirect_out", "hang")
PORTFOLIO_PAGE_SIZE = 3
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
BASE = {"mapfre": Decimal("389.00"), "allianz": Decimal("402.00"), "axa": Decimal("376.00")}
PRODUCTS = {
    "mapfre": [("Terceros Ampliado", Decimal("1.00")), ("Todo Riesgo con franquicia 300 €", Decimal("1.62"))],
    "allianz": [("Auto Básico", Decimal("0.95")), ("Auto Todo Riesgo", Decimal("1.70"))],
    "axa": [("Terceros Plus", Decimal("1.02")), ("Todo Riesgo Confort", Decimal("1.58"))],
}


def demo_dni(number: int) -> str:
    """A DNI with its right check letter."""
    return f"{number:08d}{DNI_LETTERS[number % 23]}"


def demo_portfolio() -> dict[str, list[dict[str, str]]]:
    """The broker's policies as each demo portal lists them (plain strings, as shown on the page)."""
    holders = [
        ("Lucía Martín Gómez", 12345678),
        ("Javier Ruiz Sánchez", 23456789),
        ("Carmen López Díaz", 34567890),
        ("Pablo Fernández Gil", 45678901),
        ("Marta Navarro Ortiz", 56789012),
        ("Sergio Moreno Vidal", 67890123),
        ("Elena Romero Castro", 78901234),
    ]
    mapfre = [
        {
            "number": f"MAP-DEMO-{i + 1:04d}",
            "holder": name,
            "holder_id": demo_dni(dni),
            "product": ("Auto Todo Riesgo", "Hogar Plus", "Auto Terceros")[i % 3],
            "premium": spanish(Decimal(380 + 37 * i) + Decimal("0.50")),
            "start": f"{1 + i:02d}/03/2026",
            "end": f"{1 + i:02d}/03/2027",
            "status": "Vigente",
        }
        for i, (name, dni) in enumerate(holders)
    ]
    axa = [
        {
            "number": f"AXA-DEMO-{i + 1:04d}",
            "holder": name,
            "holder_id": demo_dni(dni + 11),
            "product": ("Hogar Confort", "Auto Plus")[i % 2],
            "premium": spanish(Decimal(290 + 41 * i)),
            "start": f"2026-0{1 + i}-15",
            "end": f"2027-0{1 + i}-15",
            "status": "En vigor",
        }
        for i, (name, dni) in enumerate(holders[:4])
    ]
    return {"mapfre": mapfre, "axa": axa}


@dataclass
class PortalState:
    modes: dict[str, str] = field(default_factory=lambda: dict.fromkeys(BASE, "ok"))
    username: str = USERNAME
    password: str = PASSWORD
    sessions: set[str] = field(default_factory=set)
    documents: dict[str, bytes] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    portfolio: dict[str, list[dict[str, str]]] = field(default_factory=demo_portfolio)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0


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

    async def hold(carrier: str) -> None:
        """``hang`` mode: answer nothing until the test releases the portal."""
        if mode(carrier) == "hang":
            state.waiting += 1
            try:
                await state.release.wait()
            finally:
                state.waiting -= 1

    def portfolio_page(carrier: str, number: int) -> tuple[list[dict[str, str]], bool]:
        rows = state.portfolio.get(carrier, [])
        start = (number - 1) * PORTFOLIO_PAGE_SIZE
        return rows[start : start + PORTFOLIO_PAGE_SIZE], start + PORTFOLIO_PAGE_SIZE < len(rows)

    def page_number(raw: str | None) -> int:
        return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 10_000 else 1

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
        await hold("mapfre")
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

    async def mapfre_portfolio(request: Request) -> Response:
        await hold("mapfre")
        if (bad := bad_day("mapfre")) is not None:
            return bad
        if not signed_in(request, "mapfre"):
            return RedirectResponse("login", status_code=303)
        number = page_number(request.query_params.get("pagina"))
        rows, more = portfolio_page("mapfre", number)
        if not state.portfolio.get("mapfre"):
            return _page("Mi cartera", "<p class='sin-polizas'>No tiene pólizas con Mapfre</p>")
        e = html.escape
        if mode("mapfre") == "changed_layout" and number > 1:
            body = "".join(
                f"<div class='poliza-v2'><b>{e(r['number'])}</b> {e(r['holder'])} {e(r['premium'])}</div>"
                for r in rows
            )
        else:
            body = (
                "<table class='cartera'><thead><tr><th>Póliza</th><th>Tomador</th><th>NIF</th>"
                "<th>Producto</th><th>Prima</th><th>Efecto</th><th>Vencimiento</th><th>Estado</th></tr>"
                "</thead><tbody>"
                + "".join(
                    f"<tr class='poliza'><td class='numero'>{e(r['number'])}</td>"
                    f"<td class='tomador'>{e(r['holder'])}</td><td class='nif'>{e(r['holder_id'])}</td>"
                    f"<td class='producto'>{e(r['product'])}</td><td class='prima'>{e(r['premium'])}</td>"
                    f"<td class='efecto'>{e(r['start'])}</td><td class='vencimiento'>{e(r['end'])}</td>"
                    f"<td class='estado'>{e(r['status'])}</td></tr>"
                    for r in rows
                )
                + "</tbody></table>"
            )
        pager = f"<a class='siguiente' href='cartera?pagina={number + 1}'>Siguiente</a>" if more else ""
        return _page("Mi cartera", f"<h1>Mi cartera — página {number}</h1>{body}{pager}")

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

    axa_portfolio_page = (PAGES / "axa_portfolio.html").read_text(encoding="utf-8")

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

    async def axa_portfolio(request: Request) -> Response:
        if (bad := bad_day("axa")) is not None:
            return bad
        if not signed_in(request, "axa"):
            return RedirectResponse("login", status_code=303)
        return _page("Mi cartera", axa_portfolio_page)

    async def axa_api_portfolio(request: Request) -> Response:
        if not signed_in(request, "axa"):
            return JSONResponse({"error": "login"}, status_code=401)
        number = page_number(request.query_params.get("page"))
        rows, more = portfolio_page("axa", number)
        layout = "v2" if mode("axa") == "changed_layout" and number > 1 else "v1"
        return JSONResponse({"policies": rows, "next": more, "layout": layout})

    routes = [
        Route("/mapfre/login", mapfre_login, methods=["GET", "POST"]),
        Route("/mapfre/inicio", mapfre_home),
        Route("/mapfre/tarificar", mapfre_quote),
        Route("/mapfre/polizas/{number}.pdf", mapfre_document),
        Route("/mapfre/cartera", mapfre_portfolio),
        Route("/allianz/acceso", allianz_login, methods=["GET", "POST"]),
        Route("/allianz/cotizacion", allianz_quote, methods=["POST"]),
        Route("/axa/login", axa_login),
        Route("/axa/api/login", axa_api_login, methods=["POST"]),
        Route("/axa/quote", axa_quote),
        Route("/axa/api/quote", axa_api_quote),
        Route("/axa/portfolio", axa_portfolio),
        Route("/axa/api/portfolio", axa_api_portfolio),
    ]
    app = Starlette(routes=routes)
    app.state.portal = state
    return app
