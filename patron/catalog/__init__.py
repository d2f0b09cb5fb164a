"""Products, categories, prices, stock and supply cycles."""
