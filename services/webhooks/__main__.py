from services.webhooks.app import create_app
from services.webhooks.settings import WebhooksSettings
from shared.http.service import serve

if __name__ == "__main__":
    settings = WebhooksSettings()
    serve(create_app(settings), settings)
