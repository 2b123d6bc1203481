"""The WSGI entry point for gunicorn (`server.wsgi:app`): loads the engine before forking."""

from server import create_app

app = create_app(load="now")
