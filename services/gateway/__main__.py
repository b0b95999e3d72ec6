import uvicorn

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.http.service import json_logs
from shared.logging import configure_logging

if __name__ == "__main__":
    settings = GatewaySettings()
    configure_logging(service="gateway", level=settings.log_level, json=json_logs(settings))
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False,
                server_header=False, proxy_headers=False, timeout_graceful_shutdown=5)
