"""Emit ``ECR Image Action`` on a successful put_image, as real ECR does (best effort)."""

from __future__ import annotations

from typing import Any

from . import eventbridge
from .state import spawn

EMIT_DELAY_SECONDS = 0.2  # after the put_image response has gone out

_original_put_image = None


def put_image(self: Any, repository_name: str, image_manifest: str, image_tag: str,
              image_manifest_mediatype: str | None = None, digest: str | None = None) -> Any:
    image = _original_put_image(self, repository_name, image_manifest, image_tag,
                                image_manifest_mediatype, digest)
    detail = {
        "result": "SUCCESS",
        "repository-name": repository_name,
        "image-digest": image.get_image_digest(),
        "action-type": "PUSH",
    }
    if image_tag:
        detail["image-tag"] = image_tag
    account, region = self.account_id, self.region_name
    spawn(lambda: eventbridge.emit("aws.ecr", "ECR Image Action", detail, [],
                                   account=account, region=region),
          name="ecr-image-action", delay=EMIT_DELAY_SECONDS)
    return image


def apply() -> None:
    global _original_put_image
    from moto.ecr.models import ECRBackend

    if _original_put_image is None:
        _original_put_image = ECRBackend.put_image
    ECRBackend.put_image = put_image
