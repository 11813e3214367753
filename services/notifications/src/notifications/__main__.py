from servicekit.serve import serve

from notifications.app import NotificationsSettings, create_app

settings = NotificationsSettings()
serve(create_app(settings), settings)
