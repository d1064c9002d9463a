"""``/v1/embeddings``: the retrieval index's own encoder (unit vectors, the ones retrieval compares),
so LangChain's ``OpenAIEmbeddings``, ragas and other RAG tools embed exactly as medassist retrieves."""

from __future__ import annotations

import base64

from medassist.serve.openai_errors import GatewayError
from medassist.serve.protocol import Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage
from medassist.serve.sources import RetrievalService


class Embeddings:
    def __init__(self, retrieval: RetrievalService | None) -> None:
        self.retrieval = retrieval

    async def create(self, req: EmbeddingRequest) -> EmbeddingResponse:
        retrieval = self.retrieval
        if retrieval is None:
            raise GatewayError(
                400,
                "this server has no index, so no embedding model (start it with --index DIR)",
                param="model",
                code="embeddings_unavailable",
            )
        if req.model != retrieval.embedding_model:
            raise GatewayError(
                404,
                f"embedding model {req.model!r} does not exist; this server embeds with {retrieval.embedding_model!r}",
                param="model",
                code="model_not_found",
            )
        vectors, tokens = await retrieval.embed(req.texts, query=req.input_type == "query")
        if req.dimensions is not None and req.dimensions != vectors.shape[1]:
            raise GatewayError(
                400,
                f"dimensions={req.dimensions}: {req.model} gives {vectors.shape[1]}-d vectors and cannot shorten them",
                param="dimensions",
                code="invalid_value",
            )
        data = [
            Embedding(
                index=i,
                embedding=base64.b64encode(v.astype("<f4").tobytes()).decode()
                if req.encoding_format == "base64"
                else v.tolist(),
            )
            for i, v in enumerate(vectors)
        ]
        return EmbeddingResponse(
            data=data, model=req.model, usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens)
        )
