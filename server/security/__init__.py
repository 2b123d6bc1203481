"""Who may call the API and how often: API keys, Entra ID tokens, rate limits, exposure rule.

Framework-free; server/api/security.py wires these into Flask.
"""
