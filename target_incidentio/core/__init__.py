"""Small shared pieces: URLs, secrets, errors, headers, custom-field kinds, the look-up cache.

They import nothing above them.
"""
