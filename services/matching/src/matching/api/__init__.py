"""Matching's HTTP API for the portal: thin routes, request -> use case -> response model."""

from __future__ import annotations

from fastapi import APIRouter

from matching.api import circles, cohort_runs, manual, pairs, programs, requests, weights

ROUTERS: list[APIRouter] = [
    programs.router,
    pairs.router,
    cohort_runs.router,
    requests.router,
    circles.router,
    manual.router,
    weights.router,
]
