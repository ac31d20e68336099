"""Grounded answers: extractive (offline) and Gemini, every sentence citing a retrieved incident."""
