"""leadflow's shared logic, in packages named by role.

- core/: the small shared base (settings, AWS clients, logs, metrics, masking,
  time, digests, and every state the app knows);
- api/: HTTP views, authentication and the error answers;
- pipeline/: the stream, queue and feedback handlers and what they do;
- store/: one module per table (and the audit bucket), each owning its requests;
- email/: rendering, MIME and the SES client.
"""
