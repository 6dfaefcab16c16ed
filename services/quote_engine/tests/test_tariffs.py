"""Tariff management: import (JSON, CSV, XLSX) with validation, export, activate, retire, roll back."""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

from openpyxl import Workbook, load_workbook

from quote_engine.rating.tariff import TEST_ACHATS_REASON, TariffDefinition
from quote_engine.tariffs.illustrative import CARRIERS, auto_tariff, home_tariff

from .conftest import Api

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _document(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(auto_tariff(CARRIERS[1]))
    document["effective_from"] = "2026-09-01"
    document.update(changes)
    return document


async def test_a_tariff_using_sex_is_refused_with_the_test_achats_reason(api: Api) -> None:
    document = _document()
    document["factors"].append(
        {
            "name": "driver_sex",
            "input": "sex",
            "categories": [{"match": "male", "value": "1.10"}, {"match": "female", "value": "0.95"}],
        }
    )
    response = await api.call("POST", "/tariffs", json=document, headers=api.admin, expect=422)
    problem = response.json()
    assert "Test-Achats" in problem["detail"] and "C-236/09" in problem["detail"]
    assert problem["errors"][0]["message"] == TEST_ACHATS_REASON
    # hidden in a discount's condition it is refused as well
    document = _document()
    document["adjustments"].append(
        {
            "code": "ladies",
            "kind": "discount",
            "percent": "5",
            "when": [{"field": "gender", "value": "female"}],
        }
    )
    problem = (await api.call("POST", "/tariffs", json=document, headers=api.admin, expect=422)).json()
    assert "Test-Achats" in problem["detail"]
    # and in a file
    rows = await _export_rows(api, "axa-auto")
    rows += [
        ["factor", "sexo", "sexo", "multiplicative", "", "", "", ""],
        ["category", "sexo", "h", "", "", "", "1.1", ""],
    ]
    files = {"file": ("axa.csv", _csv(rows), "text/csv")}
    problem = (await api.call("POST", "/tariffs/import", files=files, headers=api.admin, expect=422)).json()
    assert "Test-Achats" in problem["detail"]
    products = (await api.call("GET", "/tariffs/products?line=auto", expect=200)).json()
    assert all(len(p["versions"]) == 1 for p in products)  # nothing was stored


async def test_an_overlapping_band_is_refused_naming_the_rows(api: Api) -> None:
    document = _document()
    document["factors"][0]["bands"][2] = {"from": "24", "to": "30", "value": "1.15"}  # [21, 25) then [24, 30)
    problem = (await api.call("POST", "/tariffs", json=document, headers=api.admin, expect=422)).json()
    assert "'driver_age', rows 2 and 3" in problem["detail"] and "overlap" in problem["detail"]
    document = _document()
    document["factors"][0]["bands"][2] = {"from": "26", "to": "30", "value": "1.15"}
    problem = (await api.call("POST", "/tariffs", json=document, headers=api.admin, expect=422)).json()
    assert (
        "rows 2 and 3" in problem["detail"] and "gap" in problem["detail"] and "[25, 26)" in problem["detail"]
    )


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


async def _export_rows(api: Api, product_code: str) -> list[list[str]]:
    products = (await api.call("GET", "/tariffs/products", expect=200)).json()
    version_id = next(p for p in products if p["code"] == product_code)["versions"][0]["id"]
    exported = await api.call("GET", f"/tariffs/versions/{version_id}/export?format=csv", expect=200)
    assert exported.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(exported.text)))


async def test_csv_export_imports_back_as_the_same_tariff(api: Api) -> None:
    rows = await _export_rows(api, "allianz-hogar")
    for row in rows:
        if row[:2] == ["tariff", "effective_from"]:
            row[6] = "2026-09-01"
    files = {"file": ("allianz.csv", _csv(rows), "text/csv")}
    version = (await api.call("POST", "/tariffs/import", files=files, headers=api.admin, expect=201)).json()
    assert (version["product_code"], version["version"], version["source"]) == ("allianz-hogar", 2, "csv")
    detail = (await api.call("GET", f"/tariffs/versions/{version['id']}", expect=200)).json()
    original = {**home_tariff(CARRIERS[2]), "effective_from": "2026-09-01"}
    assert TariffDefinition.model_validate(detail["definition"]) == TariffDefinition.model_validate(original)


async def test_a_csv_band_overlap_is_refused_naming_the_file_rows(api: Api) -> None:
    rows = await _export_rows(api, "mapfre-auto")
    bands = [i for i, row in enumerate(rows) if row[0] == "band" and row[1] == "driver_age"]
    rows[bands[1]][4] = "20"  # second band starts inside the first [18, 21)
    files = {"file": ("mapfre.csv", _csv(rows), "text/csv")}
    problem = (await api.call("POST", "/tariffs/import", files=files, headers=api.admin, expect=422)).json()
    first, second = bands[0] + 1, bands[1] + 1  # file rows count from 1, header included
    assert f"row {second}" in problem["detail"] and f"row {first}" in problem["detail"]
    assert "overlaps" in problem["detail"]


async def test_xlsx_import_and_export(api: Api) -> None:
    rows = await _export_rows(api, "zurich-auto")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(
            [
                "2026-10-01" if row[:2] == ["tariff", "effective_from"] and i == 6 else v
                for i, v in enumerate(row)
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    files = {"file": ("zurich.xlsx", buffer.getvalue(), XLSX)}
    version = (await api.call("POST", "/tariffs/import", files=files, headers=api.admin, expect=201)).json()
    assert (version["source"], version["effective_from"]) == ("xlsx", "2026-10-01")
    exported = await api.call("GET", f"/tariffs/versions/{version['id']}/export?format=xlsx", expect=200)
    sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == rows[0]


async def test_a_file_that_is_not_a_tariff_is_refused(api: Api) -> None:
    files = {"file": ("tariff.pdf", b"%PDF-1.7 not a tariff", "application/pdf")}
    await api.call("POST", "/tariffs/import", files=files, headers=api.admin, expect=415)
    files = {"file": ("tariff.xlsx", b"PK\x03\x04 broken zip", XLSX)}
    await api.call("POST", "/tariffs/import", files=files, headers=api.admin, expect=415)
    files = {"file": ("big.csv", b"section,item,value\n" + b"x" * (3 * 1024 * 1024), "text/csv")}
    await api.call("POST", "/tariffs/import", files=files, headers=api.admin, expect=413)
    files = {"file": ("t.csv", b"section,item,value\nnonsense,x,1\n", "text/csv")}
    problem = (await api.call("POST", "/tariffs/import", files=files, headers=api.admin, expect=422)).json()
    assert "row 2" in problem["detail"] and "section" in problem["detail"]


async def test_activate_retire_and_roll_back(api: Api) -> None:
    v2 = (
        await api.call(
            "POST", "/tariffs", json=_document(effective_from="2026-01-01"), headers=api.admin, expect=201
        )
    ).json()
    quote = {
        "product_code": "axa-auto",
        "cover_level": "terceros_basico",
        "effective_date": "2026-03-01",
        "risk": {
            "line": "auto",
            "postal_code": "28013",
            "driver_age": 40,
            "years_licensed": 20,
            "vehicle_power_hp": 100,
            "vehicle_age": 2,
            "km_per_year": 9000,
        },
    }

    async def version_used() -> int:
        offer = (await api.call("POST", "/calculate", json=quote, expect=201)).json()["offer"]
        return int(offer["tariff"]["version"])

    assert await version_used() == 1  # a draft is not used
    await api.call("POST", f"/tariffs/versions/{v2['id']}/activate", headers=api.admin, expect=200)
    assert await version_used() == 2
    await api.call("POST", f"/tariffs/versions/{v2['id']}/activate", headers=api.admin, expect=409)
    products = (await api.call("GET", "/tariffs/products?line=auto", expect=200)).json()
    v1 = next(p for p in products if p["code"] == "axa-auto")["versions"][0]
    rolled = (
        await api.call("POST", f"/tariffs/versions/{v1['id']}/rollback", headers=api.admin, expect=200)
    ).json()
    assert rolled["retired_versions"] == [2]
    assert await version_used() == 1
    await api.call("POST", f"/tariffs/versions/{v1['id']}/retire", headers=api.admin, expect=200)
    problem = (await api.call("POST", "/calculate", json=quote, expect=422)).json()
    assert problem["errors"][0]["field"] == "effective_date"


async def test_the_receipt_taxes_are_rows_with_their_legal_reference(api: Api) -> None:
    taxes = {t["code"]: t for t in (await api.call("GET", "/tariffs/taxes", expect=200)).json()}
    assert taxes["ips"]["rate"] == "8.000000" and taxes["ips"]["exempt_lines"] == ["life", "health"]
    assert taxes["consorcio_riesgos_extraordinarios_auto"]["amounts"] == {"car": "2.10", "motorcycle": "1.20"}
    assert taxes["consorcio_riesgos_extraordinarios_hogar"]["rate"] == "0.070000"
    assert taxes["consorcio_fondo_garantia"]["kind"] == "percent_of_compulsory_rc"
    assert taxes["clea"]["rate"] == "0.150000"
    assert all(t["legal_reference"] and t["valid_from"] for t in taxes.values())
