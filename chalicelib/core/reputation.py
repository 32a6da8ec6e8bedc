"""SES's review thresholds for an account's reputation, in one place: the alarms
(infra/resources.py) and the dashboard's health view both read them."""

from __future__ import annotations

# SES's own guidance: it reviews an account at a 5% bounce rate and a 0.1% complaint rate.
SES_BOUNCE_RATE_REVIEW = 0.05
SES_COMPLAINT_RATE_REVIEW = 0.001
