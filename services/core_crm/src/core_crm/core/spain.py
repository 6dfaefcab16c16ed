"""Spanish data validated for real: DNI/NIE/CIF check letters, IBAN, postal code <-> province, phones.

The check-letter and IBAN algorithms come from python-stdnum; phone numbers from the chassis'
aintech_shared.phones (international numbers, or Spanish national ones). Every function returns
the canonical form or raises ``ValueError`` with a message fit for a 422 response.
"""

from __future__ import annotations

import unicodedata

from stdnum import iban as _iban
from stdnum.es import cif as _cif
from stdnum.es import dni as _dni
from stdnum.es import nie as _nie
from stdnum.exceptions import ValidationError as StdnumError

from aintech_shared.phones import parse_e164

# The first two digits of a Spanish postal code are the province (INE code).
PROVINCES: dict[str, str] = {
    "01": "Álava",
    "02": "Albacete",
    "03": "Alicante",
    "04": "Almería",
    "05": "Ávila",
    "06": "Badajoz",
    "07": "Illes Balears",
    "08": "Barcelona",
    "09": "Burgos",
    "10": "Cáceres",
    "11": "Cádiz",
    "12": "Castellón",
    "13": "Ciudad Real",
    "14": "Córdoba",
    "15": "A Coruña",
    "16": "Cuenca",
    "17": "Girona",
    "18": "Granada",
    "19": "Guadalajara",
    "20": "Gipuzkoa",
    "21": "Huelva",
    "22": "Huesca",
    "23": "Jaén",
    "24": "León",
    "25": "Lleida",
    "26": "La Rioja",
    "27": "Lugo",
    "28": "Madrid",
    "29": "Málaga",
    "30": "Murcia",
    "31": "Navarra",
    "32": "Ourense",
    "33": "Asturias",
    "34": "Palencia",
    "35": "Las Palmas",
    "36": "Pontevedra",
    "37": "Salamanca",
    "38": "Santa Cruz de Tenerife",
    "39": "Cantabria",
    "40": "Segovia",
    "41": "Sevilla",
    "42": "Soria",
    "43": "Tarragona",
    "44": "Teruel",
    "45": "Toledo",
    "46": "Valencia",
    "47": "Valladolid",
    "48": "Bizkaia",
    "49": "Zamora",
    "50": "Zaragoza",
    "51": "Ceuta",
    "52": "Melilla",
}

# Other official or common names of the same provinces (compared accent- and case-insensitively).
_ALIASES: dict[str, str] = {
    "araba": "01",
    "alava/araba": "01",
    "araba/alava": "01",
    "alacant": "03",
    "alicante/alacant": "03",
    "baleares": "07",
    "islas baleares": "07",
    "balears": "07",
    "la coruna": "15",
    "coruna": "15",
    "gerona": "17",
    "guipuzcoa": "20",
    "lerida": "25",
    "orense": "32",
    "castellon de la plana": "12",
    "castello": "12",
    "valencia/valencia": "46",
    "navarra/nafarroa": "31",
    "nafarroa": "31",
    "vizcaya": "48",
    "principado de asturias": "33",
    "tenerife": "38",
    "gran canaria": "35",
}


def fold(value: str) -> str:
    """Lower-case, accent-free, single-spaced form used for search and comparisons ("Muñoz" -> "munoz")."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


_BY_FOLDED = {fold(name): code for code, name in PROVINCES.items()} | _ALIASES


def province_code(name: str) -> str | None:
    """The two-digit code of a province name (any official or common spelling)."""
    return _BY_FOLDED.get(fold(name))


def province_of_postal_code(postal_code: str) -> str:
    """The province a Spanish postal code belongs to; ValueError when it is not a Spanish code."""
    code = postal_code.strip()
    if len(code) != 5 or not code.isdigit():
        raise ValueError("a Spanish postal code has five digits")
    province = PROVINCES.get(code[:2])
    if province is None:
        raise ValueError(f"no Spanish province has postal codes starting {code[:2]}")
    return province


def check_postal_code_and_province(postal_code: str | None, province: str | None) -> str | None:
    """The province to store: derived from the postal code, and checked against the one given."""
    if postal_code is None:
        if province is not None and province_code(province) is None:
            raise ValueError(f"{province!r} is not a Spanish province")
        return PROVINCES[province_code(province)] if province else None  # type: ignore[index]
    derived = province_of_postal_code(postal_code)
    if province is not None and province_code(province) != postal_code[:2]:
        raise ValueError(f"postal code {postal_code} is in {derived}, not {province}")
    return derived


def personal_id(value: str) -> str:
    """A valid DNI or NIE, compact and upper-case ("12345678-z" -> "12345678Z")."""
    for module in (_dni, _nie):
        try:
            return str(module.validate(value))
        except StdnumError:
            continue
    raise ValueError("is not a valid DNI or NIE (check the letter)")


def company_id(value: str) -> str:
    """A valid CIF, compact and upper-case."""
    try:
        return str(_cif.validate(value))
    except StdnumError as exc:
        raise ValueError("is not a valid CIF (check the control character)") from exc


def tax_id_kind(value: str) -> str | None:
    """'dni', 'nie' or 'cif' when ``value`` is a valid identifier of that kind, else None.

    Each of the three has at least seven digits, so a value with fewer (every name a search is
    asked for) is none of them without running the three validators."""
    if sum(c.isdigit() for c in value) < 7:
        return None
    for kind, module in (("dni", _dni), ("nie", _nie), ("cif", _cif)):
        if module.is_valid(value):
            return kind
    return None


def iban(value: str) -> str:
    """A valid IBAN in compact form (any country; Spanish ones are ES + 22 digits)."""
    try:
        return str(_iban.validate(value))
    except StdnumError as exc:
        raise ValueError("is not a valid IBAN (check digits do not match)") from exc


def phone(value: str) -> str:
    """A phone number (international, or Spanish national) in E.164 (the chassis' parser)."""
    return parse_e164(value)


def maybe_phone(value: str) -> str | None:
    """E.164 of ``value`` when it reads as a valid phone number, else None (used by search)."""
    digits = sum(c.isdigit() for c in value)
    if digits < 6 or any(c.isalpha() for c in value):
        return None
    try:
        return phone(value)
    except ValueError:
        return None
