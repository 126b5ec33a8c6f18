"""HTTP API and the stakeholders' web page (FastAPI, server-rendered Jinja2 templates)."""
