"""The API as deployed (api.wsgi), plus one bare route `/bare` returning a constant, so the
reference endpoint runs on the same gunicorn, workers and middleware as the routes measured."""

from api.wsgi import app

flask_app = app


@flask_app.get("/bare")
def bare():
    return {"ok": True}
