"""The ceiling of the API benchmark: a bare Flask endpoint returning a constant."""

from flask import Flask

app = Flask(__name__)


@app.get("/const")
def const():
    return {"ok": True}
