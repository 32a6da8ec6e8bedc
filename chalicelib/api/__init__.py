"""The HTTP edge: views for app.py's routes, authentication, CORS and error answers."""
