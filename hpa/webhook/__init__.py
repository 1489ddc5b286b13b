"""The TLS admission endpoint for pods and hpa's custom resources."""
