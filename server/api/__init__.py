"""The HTTP layer: Flask blueprints that parse requests, call the engine and shape JSON."""
