"""The rulesets a server serves: loaded from a folder, checked, compiled, reloaded without a
restart, and the source of every version that priced a stored sale. Imports dsl and engine.
"""
