"""Embeddings: the embedder protocol and cache, MiniLM on onnxruntime, Gemini, the Chroma adapter."""
