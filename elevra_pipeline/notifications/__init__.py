"""E-mails at each stage and on every failure: templates, the mail resource, the log, the sensors."""
