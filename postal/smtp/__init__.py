"""The SMTP server: submission and inbound mail, stored durably before ``250``."""
