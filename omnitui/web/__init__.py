"""The runner's HTTP endpoint (Starlette on uvicorn): /healthz, and the routes connectors
contribute (the Telegram webhook, later the web chat). ``server.py`` builds and serves it.

Imported by the runner only when the server is on: starlette and uvicorn never load for the
CLI or the TUI's first paint. Must not import Textual, the store or any connector.
"""
