"""The event handlers' logic: lead stream, notification queue, SES feedback, audit."""
