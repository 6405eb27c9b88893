"""Server-rendered pages (Jinja2 + HTMX) that call the modules' services."""
