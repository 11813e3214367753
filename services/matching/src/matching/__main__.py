from matching.engine_runner import numpy_settings

numpy_settings()  # before anything loads numpy

from servicekit.serve import serve  # noqa: E402

from matching.app import MatchingSettings, create_app  # noqa: E402

settings = MatchingSettings()
serve(create_app(settings), settings)
