"""The slow, obviously-correct reference interpreter that the property tests hold the compiled
engine to. Reads the rule IR directly; imports only the engine's vocabulary, never the compiler.
"""
