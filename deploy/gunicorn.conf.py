"""gunicorn settings for the web part of the owners service.

    gunicorn --config deploy/gunicorn.conf.py 'webhook.app:create_app()'

The web part only validates events and queues jobs (OWNERS_QUEUE), so it scales with
processes like any stateless web app: evaluations run in `owners worker` processes (see
deploy/owners-worker.service), which serialize the evaluations of one change through the
queue's leases, whatever the number of web or worker processes.  With a SQLite queue keep
everything on one machine; with a redis:// queue run web and workers anywhere.
"""

import os
import tempfile

bind = os.environ.get("OWNERS_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("OWNERS_WEB_PROCESSES", "2"))
worker_class = "gthread"
threads = int(os.environ.get("OWNERS_THREADS", "8"))

# Answering is a parse and an enqueue: a request taking longer is stuck, not busy.
timeout = 30
graceful_timeout = 10

# Counters of several web processes are summed through prometheus_client's multiprocess
# mode: each process writes its own files here, /metrics reads them all.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="owners-metrics-")
)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# The event URL holds the shared token: gunicorn's access log would write it to disk.  The
# app logs one JSON line per event instead, without the token.
accesslog = None
errorlog = "-"
loglevel = "info"

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "webhook.logs.formatter_from_env"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    # gunicorn merges this over its defaults key by key: every logger they name is redefined.
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
