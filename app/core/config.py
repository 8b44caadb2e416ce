"""Settings from the environment (and an optional `.env`), as listed in the README's "Settings"."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-secret-key-change-me-dev-secret-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = DEFAULT_SECRET_KEY
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)
    public_base_url: str = "http://127.0.0.1:8000"

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Movie Meetup <no-reply@moviemeetup.local>"
    smtp_starttls: bool = True
    # SMTP connections each worker process keeps open and reuses (app/mail/sender.py::Mailer).
    smtp_connections: int = Field(default=4, ge=1)

    cors_origins: Annotated[list[str], NoDecode] = []
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".data")
    # Ports of the embedded PostgreSQL and Redis that `meetup dev` starts when no URL is set.
    embedded_postgres_port: int = 54329
    embedded_redis_port: int = 63799

    rate_limit_login: str = "10/minute"
    rate_limit_auth: str = "30/minute"

    # argon2 cost; lower only in tests. Changing it rehashes passwords at their next login.
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    password_hash_time_cost: int = Field(default=3, ge=1)

    # Larger request bodies are refused with 413 (app/core/body_limit.py).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)

    # Connections per process (each request and job uses one at a time). The defaults suit a
    # 2-core box running 2 API processes and a worker (3 x 20 connections at most, well under
    # PostgreSQL's default max_connections of 100); on a bigger box raise DB_POOL_SIZE to about
    # 2-4 x the database's cores divided by the number of processes (README, "Scaling").
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # Waiting longer than this for a free connection answers 503 instead of queueing forever.
    db_pool_timeout_seconds: float = Field(default=5, gt=0)
    db_pool_recycle_seconds: int = Field(default=1800, ge=-1)
    db_connect_timeout_seconds: float = Field(default=5, gt=0)
    db_command_timeout_seconds: float = Field(default=30, gt=0)
    # What sits between the app and PostgreSQL. `pgbouncer` (or any transaction-mode pooler, where
    # consecutive transactions of one client may run on different server connections): no
    # prepared-statement cache and uniquely named prepared statements (app/core/db.py).
    database_pooler: Literal["none", "pgbouncer"] = "none"

    # Webhook receivers on loopback, private, link-local, multicast or reserved addresses are
    # refused when ENV=production unless this allows them (app/webhooks/addresses.py).
    webhook_allow_private: bool = False
    # One delivery attempt: connect, send and each read (the whole attempt is capped at twice it).
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str | None) -> str | None:
        """Accept the plain `postgresql://` form that most hosting providers hand out."""
        if value and value.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        return value

    @model_validator(mode="after")
    def _links_follow_the_port(self) -> Settings:
        """Unless PUBLIC_BASE_URL is set, links point where this process listens."""
        if "public_base_url" not in self.model_fields_set:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
            self.public_base_url = f"http://{host}:{self.port}"
        return self

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.env == "production" and (
            self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key.encode()) < 32
        ):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 bytes when ENV=production"
            )
        return self

    @property
    def uses_embedded_services(self) -> bool:
        return self.database_url is None or self.redis_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()
