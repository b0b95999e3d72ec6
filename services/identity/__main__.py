from services.identity.app import create_app
from services.identity.settings import IdentitySettings
from shared.http.service import serve

if __name__ == "__main__":
    settings = IdentitySettings()
    serve(create_app(settings), settings)
