"""Server-side inference; only mounted when MAMMO_SERVER_PREDICT_ENABLED is true."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from core.contracts import PredictionPublic
from server.api.deps import Context, CurrentUser
from server.api.errors import ANY_ROUTE_ERRORS, BODY_ERRORS, error_responses
from server.errors import FeatureDisabled
from server.services import prediction

router = APIRouter(tags=["predict"], responses=ANY_ROUTE_ERRORS)


@router.post(
    "/predict",
    responses={**BODY_ERRORS, **error_responses(401, 404)},
    openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}, "required": True}},
)
async def predict(request: Request, user: CurrentUser, context: Context) -> PredictionPublic:
    """Classify one uploaded image (the raw file as the request body: DICOM, PNG...)."""
    if context.predictor is None:
        raise FeatureDisabled("Prediction is not available on this server.")
    # The body size is capped by BodySizeLimit before a byte reaches this point.
    payload = await request.body()
    return await run_in_threadpool(prediction.predict, context.predictor, payload)
