from servicekit.serve import serve

from sessions.app import SessionsSettings, create_app

settings = SessionsSettings()
serve(create_app(settings), settings)
