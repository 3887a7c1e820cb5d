"""Django settings of the marketplace, all from the environment with embedded defaults.

    DATABASE_URL              default sqlite:///var/market.sqlite3 (PostgreSQL: postgres://...)
    ZKMIPS_SECRET_KEY         Django's secret key; default: generated once into var/secret.key
    ZKMIPS_DATA_KEY           Fernet key that encrypts private inputs at rest; default var/data.key
    ZKMIPS_BROKER_URL         the broker of offers and settlement tasks (default: local RabbitMQ)
    ZKMIPS_DEBUG              1 for Django's debug pages
    ZKMIPS_ALLOWED_HOSTS      comma-separated (default: localhost,127.0.0.1,testserver)
    ZKMIPS_FAUCET             credits a new account may draw from the faucet (0: no faucet)
    ZKMIPS_ALLOW_INSECURE_RECEIPTS  1 accepts receipts at the insecure test preset (tests only)
    ZKMIPS_API_RATE           API requests per minute per token or address (default 600)
    ZKMIPS_CHAIN_URL          JSON-RPC node of the chain modes (onchain, optimistic); unset: local only
    ZKMIPS_CHAIN_ACCOUNT      the marketplace's address on that node (default: its first account)
    ZKMIPS_CHALLENGE_WINDOW   seconds an optimistic claim may be challenged (default 3600)
    ZKMIPS_RESPONSE_WINDOW    seconds a challenged prover has to verify on chain (default 3600)
    ZKMIPS_GAS_PRICE_GWEI     gas price the price estimate assumes for the chain modes (default 1)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZKMIPS_VAR_DIR", BASE_DIR / "var"))


def _secret_file(name: str, make) -> str:
    """A secret kept in var/ so that restarts keep sessions and encrypted inputs readable.
    Created exclusively: processes starting together (portal, settlement worker) agree on it."""
    import time
    path = VAR_DIR / name
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        for _ in range(100):                  # another process is writing it
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.05)
        raise RuntimeError(f"{path} is empty: delete it to make a new one") from None
    with os.fdopen(fd, "w") as f:
        f.write(make())
    return path.read_text().strip()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet
    return Fernet.generate_key().decode()


SECRET_KEY = os.environ.get("ZKMIPS_SECRET_KEY") or _secret_file("secret.key", lambda: secrets.token_urlsafe(50))
DATA_KEY = os.environ.get("ZKMIPS_DATA_KEY") or _secret_file("data.key", _fernet_key)
DEBUG = os.environ.get("ZKMIPS_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("ZKMIPS_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "marketplace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASES = {"default": dj_database_url.config(
    default=f"sqlite:///{VAR_DIR / 'market.sqlite3'}", conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (portal, settlement worker, beat) share the file: wait for the
    # write lock instead of failing, and take it at the start of each transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"})
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                             "OPTIONS": {"min_length": 8}}]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "jobs"
LOGOUT_REDIRECT_URL = "market"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# htmx and Chart.js come from npm (package.json, installed by `make setup`) and are served
# from node_modules by WhiteNoise: no vendored copies in the repository.
STATICFILES_DIRS = [p for p in (BASE_DIR / "node_modules",) if p.exists()]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Upload limits (bytes): Django refuses bodies above DATA_UPLOAD_MAX_MEMORY_SIZE before any
# view runs; the per-field limits in marketplace.limits give clearer errors below it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 40 << 20
FILE_UPLOAD_MAX_MEMORY_SIZE = 40 << 20

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

BROKER_URL = os.environ.get("ZKMIPS_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672//"
CHAIN_URL = os.environ.get("ZKMIPS_CHAIN_URL", "")
CHAIN_ACCOUNT = os.environ.get("ZKMIPS_CHAIN_ACCOUNT", "")
CHALLENGE_WINDOW_SECONDS = int(os.environ.get("ZKMIPS_CHALLENGE_WINDOW", "3600"))
RESPONSE_WINDOW_SECONDS = int(os.environ.get("ZKMIPS_RESPONSE_WINDOW", "3600"))
GAS_PRICE_GWEI = float(os.environ.get("ZKMIPS_GAS_PRICE_GWEI", "1"))
FAUCET_CREDITS = int(os.environ.get("ZKMIPS_FAUCET", "0") or 0)
ALLOW_INSECURE_RECEIPTS = os.environ.get("ZKMIPS_ALLOW_INSECURE_RECEIPTS", "") == "1"
API_RATE_PER_MINUTE = int(os.environ.get("ZKMIPS_API_RATE", "600") or 600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"marketplace": {"handlers": ["console"], "level": os.environ.get("ZKMIPS_LOGLEVEL", "INFO")}},
}
