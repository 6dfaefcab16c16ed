"""Pure logic: password policy, TOTP steps, device labels, sealing, production guard, OpenAPI docs."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from pydantic import ValidationError

from aintech_contracts.rbac import ROLE_PERMISSIONS, Permission, Role
from authenticator.app import create_app
from authenticator.core.crypto import Sealer
from authenticator.core.passwords import common_passwords, password_problems
from authenticator.sessions.devices import device_label
from authenticator.settings import DEFAULT_SEED_PASSWORD, Settings
from authenticator.twofactor.totp import matching_step, new_recovery_codes, normalise_recovery_code


def test_password_policy() -> None:
    assert password_problems("Tejado-Azul-42!") == []
    assert password_problems(DEFAULT_SEED_PASSWORD) == []
    assert len(password_problems("abc")) == 4  # length, upper, digit, symbol
    assert password_problems("Password1!") == ["is one of the most commonly breached passwords"]
    assert "must not contain your e-mail address" in password_problems(
        "Lucia.Martin-2026!", email="lucia.martin@x.es"
    )
    assert len(common_passwords()) > 200


def test_totp_window_and_replay() -> None:
    secret = pyotp.random_base32()
    now = 1_700_000_015.0
    totp = pyotp.TOTP(secret)
    step = int(now // 30)
    assert matching_step(secret, totp.at(now), last_used_step=None, now=now) == step
    assert matching_step(secret, totp.at(now - 30), last_used_step=None, now=now) == step - 1
    assert matching_step(secret, totp.at(now + 30), last_used_step=None, now=now) == step + 1
    assert matching_step(secret, totp.at(now - 60), last_used_step=None, now=now) is None
    assert matching_step(secret, totp.at(now), last_used_step=step, now=now) is None
    assert matching_step(secret, "12345a", last_used_step=None, now=now) is None


def test_recovery_codes_shape() -> None:
    codes = new_recovery_codes()
    assert len(codes) == 10 and all(len(c) == 11 and c[5] == "-" for c in codes)
    assert normalise_recovery_code(" ABCDE-fghjk ") == "abcdefghjk"


def test_device_labels() -> None:
    assert (
        device_label("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/131.0 Safari/537.36")
        == "Chrome on Windows"
    )
    assert (
        device_label("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Version/17.1 Safari/605.1.15")
        == "Safari on macOS"
    )
    assert device_label(None) is None


def test_sealer_binds_ciphertext_to_its_context() -> None:
    sealer = Sealer(b"k" * 32)
    sealed = sealer.seal(b"secret", aad="totp:1")
    assert sealer.open(sealed, aad="totp:1") == b"secret"
    with pytest.raises(ValueError):
        sealer.open(sealed, aad="totp:2")
    with pytest.raises(ValueError):
        Sealer(b"x" * 32).open(sealed, aad="totp:1")


def test_production_refuses_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_ENV", "production")
    monkeypatch.setenv("AINTECH_DATABASE_URL", "postgresql://admin:s3cret@db.internal/aintech")
    monkeypatch.setenv("AUTHENTICATOR_DB_PASSWORD", "a-real-password")
    with pytest.raises(ValidationError) as err:
        Settings(google_client_id="real-client", password_hash_memory_kib=1024)
    message = str(err.value)
    assert "AUTHENTICATOR_KEY_ENCRYPTION_KEY" in message
    assert "AUTHENTICATOR_GOOGLE_CLIENT_SECRET" in message
    assert "PASSWORD_HASH" in message
    monkeypatch.setenv("AUTHENTICATOR_KEY_ENCRYPTION_KEY", "q" * 43)
    ok = Settings()
    assert ok.password_hash_memory_kib == 19 * 1024 and ok.password_hash_time_cost == 2
    assert len(ok.key_encryption_bytes()) == 32


def test_every_endpoint_is_documented() -> None:
    schema = create_app(Settings()).openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            if path in (
                "/healthz",
                "/readyz",
                "/oauth/providers",
                "/forgot-password",
                "/.well-known/jwks.json",
            ):
                continue
            errors = [code for code in operation["responses"] if code.startswith(("4", "5"))]
            assert errors, f"{method.upper()} {path} documents no error response"
    login = schema["paths"]["/login"]["post"]
    assert "429" in login["responses"] and "401" in login["responses"]


def test_rbac_doc_matches_the_matrix() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "rbac.md").read_text(encoding="utf-8")
    for permission in Permission:
        marks = " | ".join("✓" if permission in ROLE_PERMISSIONS[r] else "" for r in Role)
        row = f"| `{permission.value}` | {marks} |"
        stale = f"docs/rbac.md row for {permission.value} is stale"
        assert " ".join(row.split()) in " ".join(doc.split()), stale
