"""The project: settings, URLs and the WSGI/ASGI entry points. Imports every app; nothing imports it."""
