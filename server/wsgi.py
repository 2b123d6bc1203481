"""The WSGI entry point for gunicorn (`server.wsgi:app`): loads the engine before forking.

A corrupt clause bank or a missing model stops gunicorn with a clear message and exit status 3,
instead of forking workers that would only ever answer 503.
"""

import logging

from server import create_app
from server.serving import LOG_FORMAT, refuse_to_start
from server.settings import Settings

try:
    logging.basicConfig(level=Settings.from_env().log_level, format=LOG_FORMAT)
    app = create_app(load="now")
except Exception as error:
    raise refuse_to_start("clausewise", error) from None
