"""The JSON and text views that the `owners` command and the service's pages both show: a
path's owners, a change's requirements, review figures and their charts."""
