from services.media.app import create_app
from services.media.settings import MediaSettings
from shared.http.service import serve

if __name__ == "__main__":
    settings = MediaSettings()
    serve(create_app(settings), settings)
