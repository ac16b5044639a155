"""The service's logs never hold a credential: the access log masks a `token=` (or `access_token=`,
`api_key=`, `key=`) parameter of the address and any `Bearer …` or `Authorization: …` value, whatever the
log line. The API refuses such a parameter anyway (`api.errors`); this keeps the refused request's line
clean too."""

import copy
import logging
import re

from uvicorn.config import LOGGING_CONFIG

CREDENTIAL_PARAMS = ("token", "access_token", "api_key", "key")
_PARAM = re.compile(r"(?i)(?<![\w-])((?:%s)=)[^&\s\"']*" % "|".join(CREDENTIAL_PARAMS))
_BEARER = re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?|bearer\s+)[^\s\"',;]+")
MASK = "***"


def mask(text: str) -> str:
    """'GET /uploads?token=abc&page=2' -> 'GET /uploads?token=***&page=2'; 'Bearer abc' -> 'Bearer ***'."""
    return _BEARER.sub(rf"\g<1>{MASK}", _PARAM.sub(rf"\g<1>{MASK}", text))


class MaskCredentials(logging.Filter):
    """On every handler of the service's logs: the record's arguments (uvicorn's access line takes the
    path as one) and its message are masked before any formatter sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        return True


def logging_config() -> dict:
    """uvicorn's own logging set-up, with the mask on both of its handlers."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"mask_credentials": {"()": MaskCredentials}}
    for handler in config["handlers"].values():
        handler["filters"] = ["mask_credentials"]
    return config
