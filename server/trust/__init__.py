"""Who may call the service and how: callers and their tokens, the method -> roles table, the one
authenticating interceptor, TLS settings and the masking of personal data in logs."""
