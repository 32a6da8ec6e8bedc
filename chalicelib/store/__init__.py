"""Data access: one module per table (and the audit bucket). Nothing outside
this package builds a DynamoDB or S3 request for these resources."""
