"""What a synth run does (`synth.json`): the plan, checked before anything is written, and the prompts it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from engine.data.reading import read_data
from engine.errors import DataError, ReinsError
from engine.recipe.schema import ChatJudge, Judge, ModelSection
from engine.synth.system_prompts import SystemPair

MODES = ("contrast", "best-of-n")


class LocalGenerator(BaseModel):
    """A model Reins loads in the run's worker (the embedded alias, a folder, a cached hub id or `run:<id>`)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["local"] = "local"
    model: ModelSection = Field(default_factory=ModelSection)

    @property
    def label(self) -> str:
        return self.model.name


class EndpointGenerator(BaseModel):
    """Any OpenAI-compatible `/chat/completions` endpoint; the key is read from `api_key_env` by the worker."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["endpoint"] = "endpoint"
    url: str = Field(..., pattern=r"^https?://")
    model: str = Field(..., min_length=1)
    api_key_env: str | None = None
    timeout_s: float = Field(60.0, gt=0)
    retries: int = Field(5, ge=0, le=20)

    @property
    def label(self) -> str:
        return f"{self.model} @ {self.url}"


Generator = Annotated[LocalGenerator | EndpointGenerator, Field(discriminator="kind")]


class SynthPlan(BaseModel):
    """Everything a synth run needs, as written to its `synth.json` (absolute paths, full system prompt texts)."""

    model_config = ConfigDict(extra="forbid")
    prompts: str
    out: str
    mode: Literal["contrast", "best-of-n"] = "contrast"
    generator: Generator = Field(default_factory=LocalGenerator)
    system: dict[str, SystemPair] = Field(default_factory=dict)
    n: int = Field(4, ge=2, le=64)
    threshold: float = Field(0.5, ge=0, le=1)
    judge: Judge | None = None
    seed: int = 0
    max_new_tokens: int = Field(256, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0, le=5)
    batch: int | None = Field(None, ge=1)
    limit: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _mode_needs(self) -> SynthPlan:
        if self.mode == "contrast" and not self.system:
            raise ValueError("system-prompt contrast needs system prompts")
        if self.mode == "best-of-n" and self.judge is None:
            raise ValueError("best-of-n needs a judge (--judge run:ID, local:MODEL or an endpoint URL)")
        return self

    @property
    def sampling_temperature(self) -> float:
        """Contrast answers greedily unless told; best-of-N must sample to get N different answers."""
        if self.temperature is not None:
            return self.temperature
        return 0.0 if self.mode == "contrast" else 0.8

    def judge_label(self) -> str | None:
        if self.judge is None:
            return None
        where = f" @ {self.judge.url}" if isinstance(self.judge, ChatJudge) else ""
        return f"{self.judge.kind}:{self.judge.model}{where}"


def parse_judge(spec: str | None, model: str | None = None, api_key_env: str | None = None) -> Any:
    """`--judge`: `run:ID` (a reward model run), `local:MODEL` (a chat model judging pairwise) or an endpoint URL
    (with `--judge-model`), as the recipe's judge section."""
    if spec is None:
        return None
    if spec.startswith("run:") or spec.startswith("rm:"):
        ref = spec if spec.startswith("run:") else spec[3:]
        section: dict[str, Any] = {"kind": "reward_model", "model": ref}
    elif spec.startswith("local:"):
        section = {"kind": "local", "model": spec[len("local:"):]}
    elif spec.startswith(("http://", "https://")):
        if not model:
            raise ReinsError(f"--judge {spec} is an endpoint: name the model it serves with --judge-model.")
        section = {"kind": "openai", "url": spec, "model": model, "api_key_env": api_key_env}
    else:
        raise ReinsError(f"--judge {spec!r}: use run:ID (a reward model run), rm:FOLDER (a reward model folder), "
                         "local:MODEL (a local chat model) or an http(s):// endpoint URL with --judge-model.")
    try:
        return TypeAdapter(Judge).validate_python(section)
    except ValueError as exc:
        raise ReinsError(f"--judge {spec!r}: {exc}") from None


def prompt_messages(row: dict[str, Any], where: str) -> list[dict[str, str]]:
    """A prompt row as chat messages without any system turn (synth supplies its own): `prompt` as text or
    messages, or `messages` minus a final assistant answer. `where` names the file and row in complaints."""
    if "prompt" in row:
        prompt = row["prompt"]
        if isinstance(prompt, str):
            messages = [{"role": "user", "content": prompt}]
        elif isinstance(prompt, list) and all(isinstance(m, dict) and "role" in m and "content" in m for m in prompt):
            messages = [{"role": str(m["role"]), "content": str(m["content"])} for m in prompt]
        else:
            raise DataError(f"{where}: field `prompt` must be text or a list of {{role, content}} messages.")
    elif isinstance(row.get("messages"), list) and row["messages"]:
        messages = [{"role": str(m.get("role")), "content": str(m.get("content"))} for m in row["messages"]
                    if isinstance(m, dict)]
        if messages and messages[-1]["role"] == "assistant":
            messages = messages[:-1]
    else:
        raise DataError(f"{where}: missing field `prompt` (or `messages`); a prompts file needs one per row.")
    messages = [m for m in messages if m["role"] != "system"]
    if not messages or not any(m["content"].strip() for m in messages):
        raise DataError(f"{where}: the prompt is empty.")
    return messages


def read_prompts(path: str, limit: int | None = None) -> list[tuple[dict[str, Any], list[dict[str, str]]]]:
    """(row, prompt messages) for the first `limit` rows of a prompts file in any format Reins reads (ShareGPT,
    Alpaca, OpenAI messages, HH, TRL: normalised to TRL rows first); every bad row is named at once."""
    data = read_data(path)
    if data.problems:
        raise DataError(f"The prompts file {path} cannot be read:", problems=_first(data.problems))
    rows = data.rows
    if limit:
        rows = rows[:limit]
    if not rows:
        raise DataError(f"The prompts file {path} has no rows.")
    out, problems = [], []
    for i, row in enumerate(rows, 1):
        try:
            out.append((row, prompt_messages(row, f"row {i}")))
        except DataError as exc:
            problems.append(str(exc))
    if problems:
        raise DataError(f"The prompts file {path} has rows that cannot be used:", problems=_first(problems))
    return out


def _first(problems: list[str], shown: int = 10) -> list[str]:
    return problems[:shown] + ([f"… and {len(problems) - shown} more"] if len(problems) > shown else [])


def generator_warnings(plan: SynthPlan, aligned_model: str | None, aligned_path: str | None,
                       generator_path: str | None) -> list[str]:
    """The seed's pitfall: data generated (or judged) by the very model that will be trained on it."""
    if aligned_model is None or not isinstance(plan.generator, LocalGenerator):
        return []
    same = plan.generator.model.name == aligned_model or (
        aligned_path is not None and generator_path is not None and Path(aligned_path) == Path(generator_path))
    if not same:
        return []
    return [f"the generator {plan.generator.label} is the model the recipe aligns: pairs it writes teach it what "
            "it already does (use a stronger or different model, or review the pairs before training)"]


def build_plan(prompts: str | Path, out: str | Path, *, mode: str = "contrast", model: str | None = None,
               endpoint: str | None = None, endpoint_model: str | None = None, api_key_env: str | None = None,
               system_prompts: Path | None = None, good: str | None = None, degraded: str | None = None,
               judge: str | None = None, judge_model: str | None = None, judge_key_env: str | None = None,
               **settings: Any) -> SynthPlan:
    """A plan from command-line style options (`settings`: n, threshold, seed, max_new_tokens, temperature, batch,
    limit); every contradiction or bad value is a ReinsError naming the option."""
    from pydantic import ValidationError

    from engine.synth.system_prompts import system_pairs

    if mode not in MODES:
        raise ReinsError(f"--mode {mode!r}: use one of {', '.join(MODES)}.")
    if endpoint and model:
        raise ReinsError("--model and --endpoint both name a generator: give one.")
    if endpoint and not endpoint_model:
        raise ReinsError(f"--endpoint {endpoint} needs --endpoint-model, the model name that endpoint serves.")
    generator: dict[str, Any] = (
        {"kind": "endpoint", "url": endpoint, "model": endpoint_model, "api_key_env": api_key_env} if endpoint
        else {"kind": "local", "model": {"name": model} if model else {}})
    system = system_pairs(system_prompts, good, degraded) if mode == "contrast" else {}
    try:
        return SynthPlan(prompts=str(Path(prompts).expanduser().resolve()), out=str(Path(out).expanduser().resolve()),
                         mode=mode, generator=generator, system=system,
                         judge=parse_judge(judge, judge_model, judge_key_env),
                         **{k: v for k, v in settings.items() if v is not None})
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'plan'}: {e['msg']}" for e in exc.errors()]
        raise ReinsError("The synth options are not valid:", problems=problems) from None
