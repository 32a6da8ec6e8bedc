"""The local mail viewer: every email the local SES accepted, with its delivery status from the app's ledger.

`make run` starts it on http://127.0.0.1:8025 (LEADFLOW_MAIL_PORT); it binds
loopback only and is never part of the Lambda package. One process:

- messages.py  reads the outbox (devstack/outbox.py) and filters it
- ledger.py    each message's delivery status, from the app's send ledger
- feedback.py  publishes SES feedback (Delivery, Bounce, Complaint) for a message
- server.py    the page, its static files and the JSON API
"""
