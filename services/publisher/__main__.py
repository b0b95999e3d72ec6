from services.publisher.app import create_app
from services.publisher.settings import PublisherSettings
from shared.http.service import serve

if __name__ == "__main__":
    settings = PublisherSettings()
    serve(create_app(settings), settings)
