"""nstsite settings: one file, driven by environment variables, safe local defaults.

Every variable is documented in ``.env.example`` and the README. With nothing set, the site runs
in development mode on embedded PostgreSQL and Redis, which ``manage.py`` starts (``nstsite/embedded.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent


load_dotenv(BASE_DIR / ".env")

# --- Core ------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", default=True)
# Under pytest: test defaults (random Gatys weights, no warm-up); the session starts its own services.
TESTING = env_bool("NSTSITE_TESTING", default="pytest" in sys.modules)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 - refused below unless DEBUG
SECRET_KEY = env_str("SECRET_KEY") or _DEV_SECRET_KEY
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (the development key is public).")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "nstsite",
    "accounts",
    "gallery",
    "faces",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Our 400/404/500 pages in DEBUG mode too, except for staff (see nstsite/errors.py).
    "nstsite.errors.BrandedErrorsMiddleware",
    # No NUL or other control characters in query strings and forms (see nstsite/inputs.py).
    "nstsite.inputs.InputHygieneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "nstsite.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Services --------------------------------------------------------------------------------

# Importing settings starts nothing. Where DATABASE_URL/REDIS_URL are unset, the entry points start the
# embedded PostgreSQL and Redis under var/ and set both before settings load: manage.py (so `make run`,
# the workers and every command) and the test session (tests/conftest.py, var/test/); see
# nstsite/embedded.py. The fallbacks below are a conventional local install, for tools that only read
# settings (mypy's Django plugin) and servers started by hand.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgresql://localhost/nstsite"), conn_max_age=env_int("DB_CONN_MAX_AGE", 60)
    )
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REDIS_URL = env_str("REDIS_URL", "redis://localhost:6379/0")

JOB_TIMEOUT_STYLE = env_int("JOB_TIMEOUT_STYLE", 1800)
JOB_TIMEOUT_FACES = env_int("JOB_TIMEOUT_FACES", 600)
# Routing (gallery/capacity.py, docs/deploy.md): "style" takes the quick style jobs (presets, any
# painting, previews) and "style-slow" Gatys on packaged weights and style labs — separate queues and
# workers, so a preset never waits behind a minutes-long optimisation; "gatys-vgg19" Gatys on VGG19,
# whose weights are downloaded, so only workers that have them listen there; "faces" every face job.
RQ_QUEUES = {
    "style": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": JOB_TIMEOUT_STYLE},
    "style-slow": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": JOB_TIMEOUT_STYLE},
    "gatys-vgg19": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": JOB_TIMEOUT_STYLE},
    "faces": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": JOB_TIMEOUT_FACES},
}
# One commit mechanism: nstsite.jobs.enqueue_after_commit waits for the commit itself, so django-rq
# enqueues at once when asked (inside that callback there is no transaction any more).
RQ = {"COMMIT_MODE": "auto"}
RQ_SHOW_ADMIN_LINK = True
# Failed jobs keep only ids (never images), but a year of them is still clutter: keep a week.
RQ_FAILURE_TTL = env_int("RQ_FAILURE_TTL", 7 * 24 * 3600)
RQ_RETRY_MAX = env_int("RQ_RETRY_MAX", 1)

CACHES = {
    # A shared cache, so DRF's throttles count across every web process.
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "nstsite",
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts --------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "nstsite.errors.csrf_failure"  # our 403 page ("reload and try again"), also in DEBUG
LOGIN_URL = "login"
# Sign-in lockout (web form and API token): this many wrong passwords for one username, or from one
# address, pause sign-ins for LOGIN_LOCKOUT_SECONDS (accounts/lockout.py).
LOGIN_FAILURES_PER_USER = env_int("LOGIN_FAILURES_PER_USER", 5)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 30)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "nstsite <noreply@localhost>")

# --- Static and media files ------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
WHITENOISE_USE_FINDERS = DEBUG  # development serves straight from static/; production runs collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"  # never served directly: files go through views that check ownership
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

if env_str("AWS_STORAGE_BUCKET_NAME"):
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            # "path" for MinIO and other self-hosted endpoints without per-bucket DNS names.
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE") or None,
            "default_acl": "private",
            "querystring_auth": True,  # short-lived signed URLs; the bucket stays private
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300),
            "file_overwrite": False,
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# With object storage, file views redirect to a signed URL on the bucket's endpoint; where clients
# cannot reach that endpoint (a private MinIO), set false and the web tier streams the file itself.
MEDIA_REDIRECT_TO_STORAGE = env_bool("MEDIA_REDIRECT_TO_STORAGE", True)
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not TESTING
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Uploads ---------------------------------------------------------------------------------

UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 25 * 1024 * 1024)
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 40_000_000)  # larger photos are scaled down to this
UPLOAD_MAX_SIDE = env_int("UPLOAD_MAX_SIDE", 8192)  # and longer sides to this: no engine renders beyond it
# Larger than this is refused outright (a decompression bomb, not a photo). Pillow itself refuses
# images above ~89 MP (its bomb check) unless Image.MAX_IMAGE_PIXELS is raised.
UPLOAD_MAX_DECODE_PIXELS = env_int("UPLOAD_MAX_DECODE_PIXELS", 89_000_000)
UPLOAD_MAX_FILES = env_int("UPLOAD_MAX_FILES", 20)
# Images decoded at once per web process (each up to UPLOAD_MAX_DECODE_PIXELS × 4 bytes); files of one
# request are checked and stored one at a time. See docs/reliability.md for the measured peak.
UPLOAD_DECODE_CONCURRENCY = env_int("UPLOAD_DECODE_CONCURRENCY", 2)
DATA_UPLOAD_MAX_NUMBER_FILES = 100
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FACES_DETECT_ON_UPLOAD = env_bool("FACES_DETECT_ON_UPLOAD", True)

# --- REST API --------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "nstsite.rest.Pagination",
    # JSON only (with a nesting cap, nstsite/rest.py): an operation advertises only the bodies it can
    # parse, so a generated client has one body type per operation. The upload views add multipart.
    "DEFAULT_PARSER_CLASSES": ["nstsite.rest.JSONParser"],
    "PAGE_SIZE": 24,
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's throttles, failing open (logged) while the Redis cache is down.
        "nstsite.rest.AnonThrottle",
        "nstsite.rest.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "60/min"),
        "user": env_str("THROTTLE_USER", "600/min"),
        "token": env_str("THROTTLE_TOKEN", "10/min"),
        "upload": env_str("THROTTLE_UPLOAD", "120/hour"),
    },
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "nstsite.rest.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "nstsite API",
    "DESCRIPTION": "Neural style transfer and face recognition. Authenticate with `Authorization: Token <key>` "
    "from `POST /api/v1/auth/token/`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema lists staff endpoints too: only signed-in users may read it (the docs page
    # sends visitors to the log-in page first).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",  # tags endpoints by resource (photos, renders, people, ...)
    # Swagger UI assets served from the sidecar package: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"TaskStatusEnum": "nstsite.models.TaskStatus"},
}

# --- Security (production) -------------------------------------------------------------------

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from our origin (no inline script or handler in any template; the API docs use
# drf-spectacular's split view, whose set-up script is a file too). Styles allow inline
# attributes: face boxes and progress bars are positioned with style="..." computed server-side.
# Images: our own, plus data:/blob: for upload previews and the docs' icons.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY",
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "accelerometer=(), gyroscope=(), magnetometer=(), display-capture=(), browsing-topics=()",
)

# --- Misc ------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# A running job refreshes its row every TASK_HEARTBEAT_SECONDS; a row silent for
# TASK_STALE_SECONDS is failed (its worker died). Keep the second well above the first.
TASK_HEARTBEAT_SECONDS = env_int("TASK_HEARTBEAT_SECONDS", 10)
TASK_STALE_SECONDS = env_int("TASK_STALE_SECONDS", 60)
WORKER_WARMUP = env_bool("WORKER_WARMUP", not TESTING)
# An idle worker wakes this often for idle work while some is due (re-measuring its Gatys speed
# once the start-up rush is over; see QueueAppConfig.when_idle).
WORKER_IDLE_SECONDS = env_int("WORKER_IDLE_SECONDS", 20)
# A row "queued" for RECONCILE_GRACE_SECONDS whose job the queue no longer holds (e.g. a worker
# burned through it while PostgreSQL was down) is enqueued again, or failed once it has waited
# RECONCILE_MAX_AGE_SECONDS; the launcher checks every RECONCILE_EVERY_SECONDS, workers on start.
RECONCILE_GRACE_SECONDS = env_int("RECONCILE_GRACE_SECONDS", 30)
RECONCILE_MAX_AGE_SECONDS = env_int("RECONCILE_MAX_AGE_SECONDS", 24 * 3600)
RECONCILE_EVERY_SECONDS = env_int("RECONCILE_EVERY_SECONDS", 30)
# Workers beat their RQ registration every WORKER_BEAT_SECONDS (also during a job); /healthz counts a
# worker silent for WORKER_LIVE_SECONDS, or whose process is gone, as dead.
WORKER_BEAT_SECONDS = env_int("WORKER_BEAT_SECONDS", 10)
WORKER_LIVE_SECONDS = env_int("WORKER_LIVE_SECONDS", 45)
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN")  # a monitor sending "Authorization: Bearer <it>" sees /healthz details
WORKER_DB_WAIT_SECONDS = env_int("WORKER_DB_WAIT_SECONDS", 120)  # a worker holds its job while PostgreSQL is down
# Each worker advertises what it can do in Redis for this many seconds, refreshed every third of it
# (nstsite/capabilities.py); a worker silent this long no longer counts for Gatys availability.
WORKER_CAPABILITY_TTL = env_int("WORKER_CAPABILITY_TTL", 60)

# Gatys needs VGG19's ImageNet weights (`make fetch-models`). Random weights exist only so the test
# suite can exercise the pipeline on machines without them; never enable this in production.
STYLE_GATYS_RANDOM_WEIGHTS = env_bool("STYLE_GATYS_RANDOM_WEIGHTS", TESTING)
# Gatys renders larger than this many seconds (the engine's estimate on the worker's device) are
# downscaled until they fit, with a notice on the render.
STYLE_GATYS_MAX_SECONDS = env_int("STYLE_GATYS_MAX_SECONDS", 1500)
STYLE_MAX_SIDE = env_int("STYLE_MAX_SIDE", 2048)  # longest side of preset/arbitrary results
# Pictures for the landing page's before/after examples (style/content, style/styles inside), rendered
# once by a worker at first start; by default the project's local test data (see gallery/landing.py).
LANDING_EXAMPLES_DIR = env_str("LANDING_EXAMPLES_DIR", str(BASE_DIR.parent / "shared" / "testdata"))
LANDING_EXAMPLES_MAX_SIDE = env_int("LANDING_EXAMPLES_MAX_SIDE", 640)
# Style lab: 20 small Gatys renders per grid (5 style depths × 4 α/β); about a minute on 2 CPU cores.
STYLE_LAB_CELL_SIZE = env_int("STYLE_LAB_CELL_SIZE", 160)
STYLE_LAB_ITERATIONS = env_int("STYLE_LAB_ITERATIONS", 30)

# --- Faces (see faces/conf.py for how each is used) ---------------------------------------------

FACES_EMBEDDER = env_str("FACES_EMBEDDER", "facenet-casia-webface")
FACES_TARGET_FAR = float(env_str("FACES_TARGET_FAR", "0.001"))
FACES_KNN = env_int("FACES_KNN", 5)  # nearest reference faces that vote
FACES_EF_SEARCH = env_int("FACES_EF_SEARCH", 100)  # hnsw.ef_search; see docs/benchmarks.md
FACES_MIN_FACE_SIZE = env_int("FACES_MIN_FACE_SIZE", 20)
FACES_MIN_SCORE = float(env_str("FACES_MIN_SCORE", "0.9"))
FACES_SCAN_BATCH = env_int("FACES_SCAN_BATCH", 8)  # queued scans one job takes on together (1 = one per job)
FACES_CLUSTER_MIN_FACES = env_int("FACES_CLUSTER_MIN_FACES", 3)
FACES_CLUSTER_EPS = float(env_str("FACES_CLUSTER_EPS")) if env_str("FACES_CLUSTER_EPS") else None
FACES_SUGGEST_FACTOR = float(env_str("FACES_SUGGEST_FACTOR", "1.25"))  # "maybe X?" up to threshold × this
FACES_KEEP_UPLOAD_EMBEDDINGS = env_bool("FACES_KEEP_UPLOAD_EMBEDDINGS", False)

# --- Devices: where ml/ runs (the engines pass these; ml/ reads no environment) ------------------
# "auto" = CUDA if present, else CPU. NSTSITE_DEVICE sets both (compose.yaml's worker containers).
STYLE_DEVICE = env_str("STYLE_DEVICE") or env_str("NSTSITE_DEVICE") or "auto"
FACES_DEVICE = env_str("FACES_DEVICE") or env_str("NSTSITE_DEVICE") or "auto"
