"""Invoice lines for a sale (VAT-DISCOUNT-LINES.md): build, tax arithmetic, render, and the §11
invariant checker with its fast path. Imports the engine's vocabulary only; never the compiler.
"""
