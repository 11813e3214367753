from servicekit.serve import serve

from matching.app import MatchingSettings, create_app

settings = MatchingSettings()
serve(create_app(settings), settings)
