"""The ceiling for webhook ingestion: the same framework and server, doing nothing."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/webhooks/tiktok")
async def accept(request: Request) -> dict[str, str]:
    await request.body()
    return {"status": "accepted"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
