"""What a few handlers need beyond the database: fetching WeCom media and keeping photos."""

from __future__ import annotations

from dataclasses import dataclass

from alerts.policy import AlertPolicy
from domain.errors import DomainError
from domain.photos import PhotoStore
from wecom.client import WeComClient
from wecom.errors import WeComAPIError


@dataclass
class HandlerTools:
    client: WeComClient
    photo_store: PhotoStore
    alert_policy: AlertPolicy

    def fetch_media(self, media_id: str) -> bytes:
        """The file behind a media id; a permanent WeCom refusal becomes a reply, a transient one a retry."""
        try:
            data, _content_type = self.client.download_media(media_id)
        except WeComAPIError as exc:
            raise DomainError("无法从企业微信取回这张照片（可能已超过 3 天有效期），请重新拍照发送。") from exc
        return data
