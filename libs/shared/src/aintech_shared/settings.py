"""Settings base every service extends: shared ``AINTECH_*`` variables plus ``<SERVICE>_*`` ones."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from aintech_contracts.fleet import BY_NAME, ServiceSpec
from aintech_shared.proxies import DEFAULT_TRUSTED_PROXIES, valid_networks

if TYPE_CHECKING:
    from aintech_shared.objectstore import ObjectStoreSettings

DEV_DB_PASSWORD_PREFIX = "dev-password-"  # noqa: S105 - marker of the development default


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


def _shared(name: str) -> Any:
    """Field alias for a variable shared by the whole fleet (``AINTECH_<NAME>``)."""
    return AliasChoices(f"AINTECH_{name}")


class ServiceSettings(BaseSettings):
    """Configuration common to every service.

    A service declares ``class Settings(ServiceSettings, service="core_crm")``: its name, schema,
    default port and variable prefix then come from the fleet registry
    (``aintech_contracts.fleet``), where they are written once. Fleet-wide values come from
    ``AINTECH_*`` variables; fields declared by a subclass (and ``db_password`` / ``port`` here)
    come from the service's own prefix, e.g. ``CORE_CRM_PORT``.
    """

    model_config = SettingsConfigDict(extra="ignore", env_prefix="SERVICE_")

    spec: ClassVar[ServiceSpec | None] = None
    service_name: ClassVar[str] = "service"
    db_schema: ClassVar[str] = "public"
    default_port: ClassVar[int] = 8000

    def __init_subclass__(cls, service: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if service is not None:
            spec = BY_NAME[service]
            cls.spec = spec
            cls.service_name = spec.slug
            cls.db_schema = spec.schema
            cls.default_port = spec.port

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.spec is not None:
            cls.model_config["env_prefix"] = cls.spec.env_prefix

    env: Environment = Field(default=Environment.development, validation_alias=_shared("ENV"))
    database_url: str = Field(
        default="postgresql://postgres:postgres-dev@127.0.0.1:5433/aintech",
        validation_alias=_shared("DATABASE_URL"),
        description="Cluster URL (an administrator login); each service connects as its own role.",
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", validation_alias=_shared("KAFKA_BOOTSTRAP"))
    jwks_url: str = Field(
        default="http://127.0.0.1:8001/.well-known/jwks.json", validation_alias=_shared("JWKS_URL")
    )
    jwt_issuer: str = Field(default="https://auth.aintech.local", validation_alias=_shared("JWT_ISSUER"))
    jwt_audience: str = Field(default="aintech-api", validation_alias=_shared("JWT_AUDIENCE"))
    log_level: str = Field(default="INFO", validation_alias=_shared("LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=_shared("LOG_JSON"))
    log_queue_lines: int = Field(
        default=10_000,
        ge=1,
        validation_alias=_shared("LOG_QUEUE_LINES"),
        description="Log lines waiting for the writer thread at most; beyond, lines are dropped and "
        "counted (``log_lines_dropped_total``), the request path never waits for a log write.",
    )
    loop_stall_ms: int = Field(
        default=250,
        ge=0,
        validation_alias=_shared("LOOP_STALL_MS"),
        description="The event loop not running a callback for longer than this is a stall: logged "
        "with the loop's stack and counted (``event_loop_stalls_seconds``). 0: no watchdog.",
    )
    db_pool_size: int = Field(default=10, validation_alias=_shared("DB_POOL_SIZE"))
    # The object store is a platform resource (claim documents, recordings, reports): every
    # service that stores or reads objects sees the same one (``aintech_shared.objectstore``).
    object_store_backend: Literal["local", "s3"] = Field(
        default="local", validation_alias=_shared("OBJECT_STORE_BACKEND")
    )
    object_store_root: Path = Field(
        default=Path(".local/objects"), validation_alias=_shared("OBJECT_STORE_ROOT")
    )
    object_store_bucket: str = Field(default="aintech", validation_alias=_shared("OBJECT_STORE_BUCKET"))
    object_store_endpoint_url: str | None = Field(
        default=None, validation_alias=_shared("OBJECT_STORE_ENDPOINT_URL")
    )
    object_store_region: str = Field(default="eu-west-1", validation_alias=_shared("OBJECT_STORE_REGION"))
    object_store_access_key: str | None = Field(
        default=None, validation_alias=_shared("OBJECT_STORE_ACCESS_KEY")
    )
    object_store_secret_key: SecretStr | None = Field(
        default=None, validation_alias=_shared("OBJECT_STORE_SECRET_KEY")
    )

    host: str = "127.0.0.1"
    port: int = 0
    worker_port: int = Field(default=0, description="Worker /healthz and /metrics (default: port + 100).")
    db_password: str = ""
    trusted_proxies: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TRUSTED_PROXIES),
        description="Addresses or CIDR ranges of the proxies in front of the service (the gateway) whose "
        "X-Forwarded-For/-Proto/-Host/-Prefix are believed (``aintech_shared.proxies``).",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        return valid_networks(value)

    @model_validator(mode="after")
    def _defaults_and_production_guard(self) -> ServiceSettings:
        if not self.port:
            self.port = self.default_port
        if not self.worker_port:
            self.worker_port = self.port + 100
        if not self.db_password:
            self.db_password = f"{DEV_DB_PASSWORD_PREFIX}{self.service_name}"
        if self.env is Environment.production:
            problems = self.insecure_defaults()
            if problems:
                raise ValueError(
                    "refusing to start in production with development defaults: " + ", ".join(problems)
                )
        return self

    def insecure_defaults(self) -> list[str]:
        """Names of settings still holding a development default; subclasses extend the list."""
        problems = []
        if self.db_password.startswith(DEV_DB_PASSWORD_PREFIX):
            problems.append(f"{self.env_prefix()}DB_PASSWORD")
        if "postgres-dev" in self.database_url:
            problems.append("AINTECH_DATABASE_URL")
        return problems

    @classmethod
    def env_prefix(cls) -> str:
        return str(cls.model_config.get("env_prefix", ""))

    @property
    def db_role(self) -> str:
        """Postgres login role of this service (owns only its schema)."""
        return f"svc_{self.db_schema}"

    @property
    def service_database_url(self) -> str:
        """Async SQLAlchemy URL logging in as this service's own role."""
        url = make_url(self.database_url).set(
            drivername="postgresql+asyncpg", username=self.db_role, password=self.db_password
        )
        return url.render_as_string(hide_password=False)

    @property
    def object_store(self) -> ObjectStoreSettings:
        """The platform's object store (``AINTECH_OBJECT_STORE_*``)."""
        from aintech_shared.objectstore import ObjectStoreSettings

        return ObjectStoreSettings(
            backend=self.object_store_backend,
            root=self.object_store_root,
            bucket=self.object_store_bucket,
            endpoint_url=self.object_store_endpoint_url,
            region=self.object_store_region,
            access_key=self.object_store_access_key,
            secret_key=self.object_store_secret_key,
        )

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production
