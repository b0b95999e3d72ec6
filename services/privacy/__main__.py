from services.privacy.app import create_app
from services.privacy.settings import PrivacySettings
from shared.http.service import serve

if __name__ == "__main__":
    settings = PrivacySettings()
    serve(create_app(settings), settings)
