from services.connector.app import create_app
from services.connector.settings import ConnectorSettings
from shared.http.service import serve

if __name__ == "__main__":
    settings = ConnectorSettings()
    serve(create_app(settings), settings)
