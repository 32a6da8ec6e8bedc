"""Email: templates rendered with Jinja2, MIME built with the standard library, SES sending."""
