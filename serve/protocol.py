"""OpenAI chat-completions wire format plus medassist's extras, as pydantic models.

Mirrors vLLM's ``entrypoints/openai/protocol.py``: requests are validated here (a failure
becomes a 400 naming the field), responses are built from these models. A request field this
API does not define is a 400 naming it, and so is a field the serving engine cannot honour
(``serving.ChatService.prepare``): a client that asked for log-probabilities must learn it did not
get them.

Extras: request ``rag`` (ground on retrieved PubMed passages, default on for ``medassist``),
``k`` (how many passages) and ``notice`` (``inline``: the decision-support notice ends the text, as
a person reading it must see it; ``field``: it moves to the response's ``notice`` field, for
programs that parse the text); response ``citations``, ``red_flags`` and ``notice``. Every error
body carries the request's ``request_id`` (also the ``X-Request-Id`` header).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from medassist.serve.request_id import current as current_request_id

MODEL_GROUNDED = "medassist"  # the default served_model_name; "<name>-norag" answers without retrieval
MODEL_PLAIN = "medassist-norag"
MAX_EMBEDDING_INPUTS = 2048  # OpenAI's limit on texts per embeddings request

NoticePlacement = Literal["inline", "field"]

MAX_STOP = 4  # OpenAI's limit on stop sequences
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # a signed 64-bit integer, as vLLM accepts


class _Lenient(BaseModel):
    """Parts of a request (messages, options) whose extra keys are dropped, as OpenAI's are."""

    model_config = ConfigDict(extra="ignore")


class _Strict(BaseModel):
    """A request body: a field this API does not define is a 400 naming it, never ignored."""

    model_config = ConfigDict(extra="forbid")


MAX_TOOLS = 128  # OpenAI's limit on tools per request
MAX_LOGIT_BIAS = 300  # OpenAI's limit on logit_bias entries
MAX_TOP_LOGPROBS = 20


class TextPart(_Lenient):
    type: Literal["text"]
    text: str


class FunctionCall(_Lenient):
    name: str = Field(min_length=1)
    arguments: str  # JSON text, as the model wrote it


class ToolCall(_Lenient):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


class FunctionDefinition(_Lenient):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class NamedToolChoice(_Lenient):
    class _Name(_Lenient):
        name: str

    type: Literal["function"]
    function: _Name


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    tool_calls: list[ToolCall] | None = None  # an assistant turn that called tools
    tool_call_id: str | None = None  # a tool turn: which call it answers

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""

    @model_validator(mode="after")
    def _not_empty(self) -> ChatMessage:
        if self.role == "tool":
            if not self.tool_call_id:
                raise ValueError("a tool message needs tool_call_id (the id of the call it answers)")
        elif not self.text.strip() and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"{self.role} message content is empty")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant messages carry tool_calls")
        return self

    def for_engine(self) -> dict[str, Any]:
        """The message as the engine's chat template gets it."""
        out: dict[str, Any] = {"role": self.role, "content": self.text}
        if self.tool_calls:
            out["tool_calls"] = [call.model_dump() for call in self.tool_calls]
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        return out


class JsonSchemaFormat(_Lenient):
    name: str = "response"
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(_Lenient):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format.json_schema is required when type is 'json_schema'")
        return self


class StreamOptions(_Lenient):
    include_usage: bool = False


class _Sampling(_Strict):
    """The sampling fields chat and text completions share (``serving.sampling_params`` reads them)."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    n: int = Field(default=1, ge=1)  # at most limits.max_n
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=SEED_MIN, le=SEED_MAX)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = Field(default=None, max_length=MAX_LOGIT_BIAS)
    # vLLM's sampling extensions (extra_body)
    top_k: int | None = Field(default=None, ge=-1)
    min_p: float | None = Field(default=None, ge=0.0, le=1.0)
    repetition_penalty: float | None = Field(default=None, gt=0.0, le=2.0)
    ignore_eos: bool = False  # generate exactly max_tokens (benchmarks)

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if isinstance(stop, list) and len(stop) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop sequences are allowed, got {len(stop)}")
        return stop

    @field_validator("logit_bias")
    @classmethod
    def _token_ids(cls, bias: dict[str, float] | None) -> dict[str, float] | None:
        for token, value in (bias or {}).items():
            if not token.isdigit():
                raise ValueError(f"keys are token ids, got {token!r}")
            if not -100 <= value <= 100:
                raise ValueError(f"token {token}: bias {value} is outside [-100, 100]")
        return bias


class ChatCompletionRequest(_Sampling):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    user: str | None = None
    # medassist extras (OpenAI clients send them through extra_body)
    rag: bool | None = None
    k: int | None = Field(default=None, ge=1, le=20)
    notice: NoticePlacement | None = None  # None: the server's ``notice`` setting
    tools: list[Tool] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None

    @model_validator(mode="after")
    def _tool_choice_names_a_tool(self) -> ChatCompletionRequest:
        choice = self.tool_choice
        if isinstance(choice, NamedToolChoice) and choice.function.name not in {t.function.name
                                                                               for t in self.tools or ()}:
            raise ValueError(f"tool_choice names {choice.function.name!r}, which is not among tools")
        if choice == "required" and not self.tools:
            raise ValueError("tool_choice 'required' needs tools")
        return self

    @property
    def active_tools(self) -> list[dict[str, Any]]:
        """The tools the model may call: none when there are none or tool_choice is 'none'."""
        if not self.tools or self.tool_choice == "none":
            return []
        return [tool.model_dump(exclude_none=True) for tool in self.tools]

    @field_validator("messages")
    @classmethod
    def _ends_with_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" for m in messages):
            raise ValueError("at least one user message is required")
        return messages

    @model_validator(mode="after")
    def _top_logprobs_need_logprobs(self) -> ChatCompletionRequest:
        if self.top_logprobs and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs: true")
        return self

    @property
    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class Citation(BaseModel):
    pmid: str
    title: str
    snippet: str
    score: float
    year: int | None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCall] | None = None


class ChoiceLogprobs(BaseModel):
    """OpenAI's per-token log-probabilities (``token``, ``logprob``, ``bytes``, ``top_logprobs``), as
    the engine reports them for the tokens it generated: the gateway's own text around them (the
    emergency message, the notice) has none, and a citation it removed keeps its tokens' entries."""

    content: list[dict[str, Any]]


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str | None
    logprobs: ChoiceLogprobs | None = None


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


class ChatCompletionResponse(BaseModel):
    id: str = Field(default_factory=completion_id)
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[Citation] = []
    red_flags: list[str] = []
    notice: str | None = None  # the decision-support notice, when asked for as a field


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # OpenAI's partial calls ({index, id, function: {...}})


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    citations: list[Citation] | None = None
    red_flags: list[str] | None = None
    notice: str | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=lambda: int(time.time()))
    owned_by: str = "medassist"
    root: str | None = None
    kind: Literal["chat", "embedding"] = "chat"  # medassist extra: which route serves it


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorInfo(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    request_id: str | None = Field(default_factory=current_request_id)


class ErrorResponse(BaseModel):
    error: ErrorInfo


AnswerValue = bool | int | float | str  # binary [true]/[false]; a value code ("V_10") or a number


class Consultation(_Strict):
    """A case known in part, in the server knowledge base's DDXPlus codes (``GET /v1/diagnose/evidences``
    lists them). The codes and values are checked against that knowledge base by the server (a 400
    naming ``consultation.answers.<code>``); the vignette the model reads is rendered from them."""

    age: int | None = Field(default=None, ge=0, le=120)
    sex: Literal["M", "F"] | None = None
    chief_complaint: str = Field(min_length=1, description="The evidence code of the chief complaint "
                                 "(DDXPlus' INITIAL_EVIDENCE), e.g. E_91.")
    answers: dict[str, list[AnswerValue]] = Field(
        default_factory=dict,
        description="{code: values}: binary [true]/[false]; categorical or numeric [value]; multi-choice "
                    "[v1, v2, ...]. An answer equal to the evidence's default means 'no'.")
    skipped: list[str] = Field(
        default_factory=list, max_length=500,
        description="Evidence codes the clinician skipped or the patient could not answer: they stay unknown "
                    "(not 'no') and are not suggested again.")


class DiagnoseRequest(_Strict):
    """A case to turn into a ranked differential: free text (``case``) or a consultation in the
    knowledge base's codes (``consultation``), exactly one of them."""

    case: str | None = Field(default=None, min_length=1)
    consultation: Consultation | None = None
    model: str | None = None  # None: the server's grounded model (``served_model_name``)
    rag: bool | None = None
    k: int | None = Field(default=None, ge=1, le=20)
    max_tokens: int | None = Field(default=None, ge=1)
    max_conditions: int = Field(default=5, ge=1, le=10)
    next_questions: int = Field(default=0, ge=0, le=10, description="How many suggested next questions "
                                "(needs consultation).")
    language: Literal["en", "fr"] = Field(default="en", description="The language of suggested question texts.")
    attribution: bool = Field(default=False, description="Per-condition findings attribution (leave-one-finding-"
                              "out); a case must be in the case_vignette format.")

    @field_validator("case")
    @classmethod
    def _case_not_blank(cls, case: str | None) -> str | None:
        if case is not None and not case.strip():
            raise ValueError("case is empty")
        return case

    @model_validator(mode="after")
    def _one_case(self) -> DiagnoseRequest:
        if (self.case is None) == (self.consultation is None):
            raise ValueError("give exactly one of case (free text) and consultation (knowledge-base codes), "
                             f"got {'both' if self.case is not None else 'neither'}")
        if self.next_questions and self.consultation is None:
            raise ValueError("next_questions needs consultation (the questions are the knowledge base's)")
        return self


class AttributedFinding(BaseModel):
    """One finding of the case and its weight for a condition, in nats (``data.attribution``)."""

    kind: Literal["age", "sex", "chief_complaint", "symptom", "history", "vitals"]
    text: str
    label: str
    negative: bool  # the finding states an absence ("no wheeze")
    weight: float


class FindingsAttribution(BaseModel):
    """Which findings raise (``for``) and lower (``against``) a condition, strongest first, and in words."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    for_: list[AttributedFinding] = Field(alias="for")
    against: list[AttributedFinding]
    explanation: str


class RankedCondition(BaseModel):
    """One row of ``DiagnoseResponse.differential``; ``citations`` are PMIDs among the retrieved ones."""

    condition: str = Field(min_length=1)
    probability: float = Field(ge=0.0, le=1.0)
    rationale: str = ""
    citations: list[str] = []
    severity: int | None = Field(default=None, description="The knowledge base's severity, 1 (most severe) .. 5, "
                                 "when the condition is in the server's knowledge base.")
    must_not_miss: bool = Field(default=False, description="severity <= 2: DDXPlus's emergencies.")
    attribution: FindingsAttribution | None = None


class QuestionOption(BaseModel):
    value: bool | int | float | str
    label: str  # a suggested question's: in the request's language; a card's: English
    label_fr: str | None = None  # the knowledge base's French meaning (None for a number on a scale)


class SeparatedCondition(BaseModel):
    """How one condition's probability moves with the answer (yes: any non-default answer)."""

    condition: str
    if_yes: float
    if_no: float
    red_flag: bool  # severity <= 2


class NextQuestion(BaseModel):
    """A suggested next question: the one with the most expected (red-flag weighted) information."""

    code: str
    question: str
    type: Literal["B", "C", "M"]  # binary (answered [true]/[false]), categorical/numeric, multi-choice
    options: list[QuestionOption]  # empty for binary questions
    score: float  # expected weighted information gain, bits
    p_yes: float  # probability of a non-default answer under the current differential
    separates: list[SeparatedCondition]


class CombinedCondition(BaseModel):
    """One row of a consultation's combined differential: the model's and the knowledge base's shares."""

    condition: str
    probability: float = Field(description="model_weight x model + (1 - model_weight) x knowledge_base.")
    model: float = Field(description="The model's probability, renormalised over the knowledge base's conditions "
                         "(0 where it did not name the condition).")
    knowledge_base: float = Field(description="The knowledge base's naive-Bayes posterior given the answers so far.")
    severity: int | None
    must_not_miss: bool


class DiagnoseResponse(BaseModel):
    id: str = Field(default_factory=completion_id)
    object: Literal["medassist.diagnosis"] = "medassist.diagnosis"
    model: str
    case: str  # the vignette the model read: the given case, or the rendered consultation
    differential: list[RankedCondition]
    combined_differential: list[CombinedCondition] | None = Field(
        default=None, description="Consultations only: the model's differential mixed with the knowledge base's "
        "posterior given the answers (conditions above 1%), the distribution the next questions are chosen on; on "
        "500 held-out DDXPlus patients after 15 questions its DDF1 is 0.787 where the model's alone is 0.754.")
    next_questions: list[NextQuestion] = []
    red_flags: list[str]
    citations: list[Citation]
    notice: str
    attempts: int
    usage: Usage


class EvidenceCard(BaseModel):
    """One question of the server's knowledge base, as a client builds its consultation form from it."""

    code: str
    question: str
    question_fr: str | None
    type: Literal["B", "C", "M"]
    options: list[QuestionOption]
    default: bool | int | float | str | None
    is_antecedent: bool
    parent: str | None  # the question this one follows up (asked once the parent is answered yes)
    chief_complaint: bool  # may open a consultation


class EvidenceList(BaseModel):
    object: Literal["list"] = "list"
    data: list[EvidenceCard]


class EmbeddingRequest(_Strict):
    """OpenAI's embeddings request, answered by the retrieval index's own encoder."""

    input: str | list[str] | list[int] | list[list[int]]
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
    # medassist extra: asymmetric encoders (MedCPT) embed questions and documents differently
    input_type: Literal["document", "query"] = "document"

    @field_validator("input")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        texts = [value] if isinstance(value, str) else value
        if not texts:
            raise ValueError("input is empty")
        if len(texts) > MAX_EMBEDDING_INPUTS:
            raise ValueError(f"at most {MAX_EMBEDDING_INPUTS} inputs are allowed, got {len(texts)}")
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("token arrays are not supported, send text (LangChain: "
                             "OpenAIEmbeddings(check_embedding_ctx_length=False))")
        if not all(t.strip() for t in texts):
            raise ValueError("input contains an empty string")
        return value

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)  # type: ignore[arg-type]


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str  # str: base64 of little-endian float32, as OpenAI sends it


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class CompletionRequest(_Sampling):
    """OpenAI's (legacy) completions: raw text the model continues, for harnesses such as
    lm-evaluation-harness. No chat template, no retrieval; red flags are still reported."""

    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int = Field(default=16, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    echo: bool = False
    logprobs: int | None = Field(default=None, ge=0, le=5)  # OpenAI's limit on this route
    best_of: int | None = Field(default=None, ge=1, le=1)  # best_of > n is not offered
    suffix: None = None  # insertion is not offered
    user: str | None = None

    @field_validator("prompt")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        prompts = [value] if isinstance(value, str) else value
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise ValueError("expected text or a non-empty list of texts (token arrays are not supported)")
        if len(prompts) > MAX_EMBEDDING_INPUTS:
            raise ValueError(f"at most {MAX_EMBEDDING_INPUTS} prompts are allowed, got {len(prompts)}")
        return value

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)  # type: ignore[arg-type]


class CompletionChoice(BaseModel):
    index: int
    text: str
    logprobs: dict[str, Any] | None = None  # {tokens, token_logprobs, top_logprobs, text_offset}
    finish_reason: str | None = None


class CompletionResponse(BaseModel):
    id: str = Field(default_factory=lambda: f"cmpl-{uuid.uuid4().hex}")
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
    red_flags: list[str] | None = None
    notice: str | None = None
