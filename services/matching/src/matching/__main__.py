from matching.engine_runner import one_blas_thread

one_blas_thread()  # before anything loads numpy

from servicekit.serve import serve  # noqa: E402

from matching.app import MatchingSettings, create_app  # noqa: E402

settings = MatchingSettings()
serve(create_app(settings), settings)
