from servicekit.serve import serve

from profiles.app import ProfilesSettings, create_app

settings = ProfilesSettings()
serve(create_app(settings), settings)
