"""JSON documents in S3 (decommission plans and reports): the bucket's default encryption (SSE-KMS
with the stack's key) applies; a missing document is ``NotFound``. And objects others wrote there
(mailbox exports): their size, ``None`` when absent (``S3Objects``, the ``Objects`` port)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..errors import NotFound
from .errors import code_of, translate


class S3Documents:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, document: Any) -> None:
        body = json.dumps(document, default=str).encode()
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        except ClientError as err:
            raise translate(err) from err

    def get(self, key: str) -> Any:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as err:
            if code_of(err) in ("NoSuchKey", "404"):
                raise NotFound(f"s3://{self.bucket}/{key} does not exist") from err
            raise translate(err) from err
        return json.loads(body)

    def put_text(self, key: str, text: str, content_type: str) -> None:
        """A text document (the exit inventory's CSV files)."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=text.encode(), ContentType=content_type)
        except ClientError as err:
            raise translate(err) from err


class S3Objects:
    def __init__(self, client: Any) -> None:
        self.client = client

    def size(self, bucket: str, key: str) -> int | None:
        """HeadObject's ContentLength; ``None`` when there is no such object (HeadObject answers a
        bare 404 without a body; NoSuchKey is GetObject's, taken too)."""
        try:
            return int(self.client.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except ClientError as err:
            if code_of(err) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise translate(err) from err
