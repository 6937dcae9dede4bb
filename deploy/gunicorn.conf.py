"""gunicorn settings for the owners webhook service.

    gunicorn --config deploy/gunicorn.conf.py 'webhook.app:create_app()'

One worker process with threads: evaluations of one change are serialized by a lock inside
the process, so that an older evaluation can never post after a newer one.  Until the durable
queue exists, do not raise `workers` above 1.  Threads only overlap evaluations of different
changes, which is safe.
"""

import os

bind = os.environ.get("OWNERS_BIND", "127.0.0.1:8080")
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("OWNERS_THREADS", "8"))
# gunicornc could add workers at run time, which the paragraph above forbids.
control_socket_disable = True

# Events are processed before the answer, and re-evaluating a branch after its OWNERS.yaml
# changed walks all its open changes; give that time (the plugin retries on a timeout).
timeout = 120
graceful_timeout = 30

# The event URL holds the shared token: gunicorn's access log would write it to disk.  The
# app logs one line per evaluation instead, without the token.
accesslog = None
errorlog = "-"
loglevel = "info"

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # gunicorn merges this over its defaults key by key: every logger they name is redefined.
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
