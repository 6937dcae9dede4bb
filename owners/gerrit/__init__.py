"""Talking to Gerrit, shared by the `owners` command and the service: the site's settings,
the client and its typed answers, judging a live change (`judge`, `verdict`), and what an
admin runs against Gerrit (`setup`, `audit`, `dashboards`).  It never imports the service."""
