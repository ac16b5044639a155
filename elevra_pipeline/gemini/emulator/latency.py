"""How long the emulated model "thinks" before answering, per model.

`gemini-3.1-pro-preview=lognormal:15s:0.5,gemini-3.8-flash=3s,*=1s`: a fixed time (`3s`, `250ms`), a
log-normal around a median (`lognormal:MEDIAN:SIGMA`) or a uniform range (`uniform:LOW:HIGH`), per
model, `*` for the rest. The draw is seeded by the model and the prompt, so the same request always
thinks as long, however many arrive at once. The quota counts a call when it arrives, before it
thinks, as Gemini does. No library describes latency this way, hence this small parser.
"""

import hashlib
import math
import random
import re
from dataclasses import dataclass, field

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration like 3s or 250ms")
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


@dataclass(frozen=True)
class Distribution:
    kind: str  # fixed, lognormal or uniform
    a: float  # seconds: the fixed time, the median, or the low end
    b: float = 0.0  # lognormal sigma, or uniform high end

    @classmethod
    def parse(cls, text: str) -> "Distribution":
        parts = text.strip().split(":")
        if parts[0] == "lognormal" and len(parts) == 3:
            return cls("lognormal", parse_duration(parts[1]), float(parts[2]))
        if parts[0] == "uniform" and len(parts) == 3:
            low, high = parse_duration(parts[1]), parse_duration(parts[2])
            if high < low:
                raise ValueError(f"'{text}': the high end is below the low end")
            return cls("uniform", low, high)
        if len(parts) == 1:
            return cls("fixed", parse_duration(parts[0]))
        raise ValueError(f"'{text}' is not fixed (3s), lognormal:MEDIAN:SIGMA or uniform:LOW:HIGH")

    def draw(self, rng: random.Random) -> float:
        if self.kind == "lognormal":
            return self.a * math.exp(rng.gauss(0.0, self.b))
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        return self.a

    @property
    def mean(self) -> float:
        if self.kind == "lognormal":
            return self.a * math.exp(self.b**2 / 2)
        return (self.a + self.b) / 2 if self.kind == "uniform" else self.a


@dataclass(frozen=True)
class LatencyProfile:
    per_model: dict[str, Distribution] = field(default_factory=dict)
    default: Distribution = Distribution("fixed", 0.0)
    seed: int = 0

    @classmethod
    def fixed(cls, seconds: float) -> "LatencyProfile":
        """`--latency-ms N`: every model takes N ms."""
        return cls(default=Distribution("fixed", seconds))

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> "LatencyProfile":
        per_model, default = {}, Distribution("fixed", 0.0)
        for item in filter(None, (p.strip() for p in text.split(","))):
            name, sep, spec = item.partition("=")
            if not sep:
                name, spec = "*", name
            distribution = Distribution.parse(spec)
            if name.strip() == "*":
                default = distribution
            else:
                per_model[name.strip()] = distribution
        return cls(per_model, default, seed)

    def distribution(self, model: str) -> Distribution:
        return self.per_model.get(model, self.default)

    def seconds(self, model: str, prompt: str) -> float:
        distribution = self.distribution(model)
        if distribution.kind == "fixed":
            return distribution.a
        digest = hashlib.sha256(f"{self.seed}|{model}|{prompt}".encode()).digest()
        return distribution.draw(random.Random(int.from_bytes(digest[:8], "big")))

    def scaled(self, factor: float) -> "LatencyProfile":
        """Every time divided by `factor` (time-scaled benchmarks)."""

        def scale(d: Distribution) -> Distribution:
            return Distribution(d.kind, d.a / factor, d.b if d.kind == "lognormal" else d.b / factor)

        return LatencyProfile({m: scale(d) for m, d in self.per_model.items()}, scale(self.default), self.seed)
